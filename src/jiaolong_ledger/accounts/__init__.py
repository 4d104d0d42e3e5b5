"""Chart of accounts: codes, kinds, balance constraints and status.

An account is identified by a code made of lowercase segments joined by ``:``
(``participant:shu-brocade:cash:CNY`` — the last segment may be an ISO currency code in capitals,
the one exception to lowercase). Each account has one currency, a kind that fixes its normal
balance side, an optional balance constraint and a status (``open`` -> ``frozen`` <-> ``open``;
``closed`` only at zero balance, and permanent). Lifecycle changes are records in the journal
chain, written by the posting engine like any entry.
"""

from jiaolong_ledger.accounts.model import (
    CONSTRAINTS,
    KINDS,
    Account,
    AccountStatus,
    Balance,
    check_account_code,
    check_constraint,
    check_kind,
    is_debit_normal,
)
from jiaolong_ledger.limits import ACCOUNT_CODE_LENGTH_MAX

__all__ = [
    "ACCOUNT_CODE_LENGTH_MAX",
    "CONSTRAINTS",
    "KINDS",
    "Account",
    "AccountStatus",
    "Balance",
    "check_account_code",
    "check_constraint",
    "check_kind",
    "is_debit_normal",
]

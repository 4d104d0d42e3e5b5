"""Hypothesis strategies and a state machine for testing code built on jiaolong-ledger.

Install the test extra (``pip install 'jiaolong-ledger[test]'``) for Hypothesis. The package is
laid out by what it generates:

- :mod:`.strategies`: ``currencies()``, ``money()``, ``account_codes()``, ``accounts()``,
  ``entry_keys()`` and ``balanced_entries()`` — valid values by construction;
- :mod:`.checks`: ``snapshot()`` / ``assert_unchanged()`` (a rejected call wrote nothing) and
  ``assert_gap_free()``;
- :mod:`.model`: the plain-dict model of the ledger's rules that the state machine checks
  against;
- :mod:`.state_machine`: ``LedgerStateMachine``, to run as is or to subclass with rules for
  your own integration.

Strategies for adapter event streams (SPEC §2) belong with the adapters that define the events,
in a module of their own here, re-exported below.
"""

from jiaolong_ledger.testing.checks import (
    LedgerSnapshot,
    assert_gap_free,
    assert_unchanged,
    snapshot,
)
from jiaolong_ledger.testing.model import LedgerModel, ModelRejection
from jiaolong_ledger.testing.state_machine import LedgerStateMachine
from jiaolong_ledger.testing.strategies import (
    BOOKING_CURRENCIES,
    AccountSpec,
    account_codes,
    accounts,
    amounts_minor,
    balanced_entries,
    currencies,
    entry_keys,
    money,
)

__all__ = [
    "BOOKING_CURRENCIES",
    "AccountSpec",
    "LedgerModel",
    "LedgerSnapshot",
    "LedgerStateMachine",
    "ModelRejection",
    "account_codes",
    "accounts",
    "amounts_minor",
    "assert_gap_free",
    "assert_unchanged",
    "balanced_entries",
    "currencies",
    "entry_keys",
    "money",
    "snapshot",
]

"""Entry validation as a list of small pure passes that report every problem.

Each pass takes the entry (and, for the account pass, a snapshot of the accounts it names) and
returns the problems it found as :class:`LedgerError` instances; :func:`validate` runs them all
and raises the first, carrying every problem in ``details["problems"]``. The balance pass is not
optional: there is no switch to turn it off.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

from moneyed import Money

from jiaolong_ledger.errors import (
    AccountClosedError,
    AccountFrozenError,
    AccountNotFoundError,
    CurrencyMismatchError,
    InvalidEntryError,
    LedgerError,
    LimitExceededError,
    TooFewPostingsError,
    UnbalancedEntryError,
)
from jiaolong_ledger.journal.entry import ENGINE_ONLY_KINDS, ENTRY_KINDS, Entry
from jiaolong_ledger.limits import KEY_LENGTH_MAX
from jiaolong_ledger.money import format_minor, positive_minor

POSTINGS_PER_ENTRY_MAX: Final = 256
DESCRIPTION_LENGTH_MAX: Final = 1_000
METADATA_BYTES_MAX: Final = 16_384
BATCH_SIZE_MAX: Final = 100_000
RESERVED_KEY_PREFIXES: Final = (
    "expire_pending:",
    "open_account:",
    "freeze_account:",
    "unfreeze_account:",
    "close_account:",
)
"""Keys the engine derives for its own records; a client key may not start with them."""


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    id: int
    code: str
    currency: str
    kind: str
    constraint: str | None
    status: str


@dataclass(frozen=True, slots=True)
class Leg:
    """A validated posting in storage terms."""

    account: str
    is_debit: bool
    amount_minor: int
    currency: str


Problems = list[LedgerError]


def check_key(key: object, field: str = "key") -> Problems:
    if not isinstance(key, str) or not key:
        return [InvalidEntryError(f"{field} must be a non-empty string", field=field, key=key)]
    if len(key) > KEY_LENGTH_MAX:
        return [
            LimitExceededError(
                f"{field} is {len(key)} characters; the limit is {KEY_LENGTH_MAX}",
                field=field,
                limit="key_length_max",
                limit_value=KEY_LENGTH_MAX,
            )
        ]
    if not key.isprintable():
        return [InvalidEntryError(f"{field} has non-printable characters", field=field)]
    return []


def check_not_reserved(key: str, field: str = "key") -> Problems:
    """A new client key may not take a name the engine derives for its own records.

    Checked after the idempotency lookup, so reusing an existing key is judged as a retry or
    a conflict first, whatever its name.
    """
    if key.startswith(RESERVED_KEY_PREFIXES):
        return [
            InvalidEntryError(
                f"{field} {key!r} starts with a prefix the engine reserves for its own records",
                field=field,
                reserved=list(RESERVED_KEY_PREFIXES),
            )
        ]
    return []


def _check_key(entry: Entry) -> Problems:
    return check_key(entry.key)


def _check_kind(entry: Entry) -> Problems:
    if entry.pending and entry.kind not in ("transfer", "pending"):
        return [InvalidEntryError("a pending entry has kind 'pending'", kind=entry.kind)]
    if entry.kind not in ENTRY_KINDS or (
        entry.kind in ENGINE_ONLY_KINDS and entry.kind != "pending"
    ):
        return [
            InvalidEntryError(f"kind {entry.kind!r} cannot be posted directly", kind=entry.kind)
        ]
    return []


def _check_text(entry: Entry) -> Problems:
    if not isinstance(entry.description, str):
        return [InvalidEntryError("description must be a string")]
    if len(entry.description) > DESCRIPTION_LENGTH_MAX:
        return [
            LimitExceededError(
                f"description longer than {DESCRIPTION_LENGTH_MAX} characters",
                limit="description_length_max",
                limit_value=DESCRIPTION_LENGTH_MAX,
            )
        ]
    return []


def _no_float(value: Any) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _no_float(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_no_float(v) for v in value)
    return value is None or isinstance(value, str | int | bool)


def _check_metadata(entry: Entry) -> Problems:
    from jiaolong_ledger.journal.entry import thaw

    if type(entry.metadata) is MappingProxyType and not entry.metadata:
        return []  # the common case, without the ABC isinstance check
    if not isinstance(entry.metadata, Mapping) or not _no_float(entry.metadata):
        return [
            InvalidEntryError(
                "metadata must be a JSON object of strings, integers, booleans, null, lists and "
                "objects (no floats: write decimals as strings)"
            )
        ]
    size = len(json.dumps(thaw(entry.metadata), ensure_ascii=False).encode())
    if size > METADATA_BYTES_MAX:
        return [
            LimitExceededError(
                f"metadata is {size} bytes; the limit is {METADATA_BYTES_MAX}",
                limit="metadata_bytes_max",
                limit_value=METADATA_BYTES_MAX,
            )
        ]
    return []


def check_timestamp(value: datetime | None, field: str) -> Problems:
    if value is None:
        return []
    if not isinstance(value, datetime) or value.tzinfo is None:
        return [InvalidEntryError(f"{field} must be a timezone-aware datetime", field=field)]
    return []


def _check_timestamps(entry: Entry) -> Problems:
    problems = check_timestamp(entry.effective_at, "effective_at")
    problems += check_timestamp(entry.expires_at, "expires_at")
    if entry.expires_at is not None and not entry.pending:
        problems.append(InvalidEntryError("expires_at is only for pending entries"))
    return problems


def _check_posting_count(entry: Entry) -> Problems:
    count = len(entry.postings)
    if count < 2:
        return [
            TooFewPostingsError(f"an entry needs at least 2 postings, got {count}", count=count)
        ]
    if count > POSTINGS_PER_ENTRY_MAX:
        return [
            LimitExceededError(
                f"{count} postings; the limit is {POSTINGS_PER_ENTRY_MAX}",
                limit="postings_per_entry_max",
                limit_value=POSTINGS_PER_ENTRY_MAX,
            )
        ]
    return []


def legs_of(entry: Entry) -> tuple[list[Leg], Problems]:
    """Convert postings to minor units; bad amounts and sides are problems, not exceptions."""
    legs: list[Leg] = []
    problems: Problems = []
    for index, posting in enumerate(entry.postings):
        if posting.side not in ("debit", "credit"):
            problems.append(InvalidEntryError(f"posting {index}: side must be debit or credit"))
            continue
        if not isinstance(posting.amount, Money):
            raise TypeError(f"posting {index}: amount must be moneyed.Money")
        try:
            minor, currency = positive_minor(posting.amount)
        except LedgerError as error:
            error.details.setdefault("posting", index)
            problems.append(error)
            continue
        legs.append(Leg(posting.account, posting.side == "debit", minor, currency))
    return legs, problems


def check_balanced(legs: Iterable[Leg]) -> Problems:
    totals: dict[str, int] = {}
    for leg in legs:
        totals[leg.currency] = totals.get(leg.currency, 0) + (
            leg.amount_minor if leg.is_debit else -leg.amount_minor
        )
    return [
        UnbalancedEntryError(
            f"debits and credits differ by {format_minor(difference, currency)} {currency}",
            currency=currency,
            difference=format_minor(difference, currency),
        )
        for currency, difference in sorted(totals.items())
        if difference != 0
    ]


def check_accounts(
    legs: Iterable[Leg], accounts: Mapping[str, AccountSnapshot], *, allow_frozen: bool = False
) -> Problems:
    problems: Problems = []
    for leg in legs:
        account = accounts.get(leg.account)
        if account is None:
            problems.append(
                AccountNotFoundError(f"no account {leg.account!r}", account=leg.account)
            )
        elif account.status == "closed":
            problems.append(
                AccountClosedError(f"account {leg.account!r} is closed", account=leg.account)
            )
        elif account.status == "frozen" and not allow_frozen:
            problems.append(
                AccountFrozenError(f"account {leg.account!r} is frozen", account=leg.account)
            )
        elif account.currency != leg.currency:
            problems.append(
                CurrencyMismatchError(
                    f"account {leg.account!r} holds {account.currency}, posting in {leg.currency}",
                    account=leg.account,
                    account_currency=account.currency,
                    posting_currency=leg.currency,
                )
            )
    return problems


ENTRY_PASSES: Final[tuple[Callable[[Entry], Problems], ...]] = (
    _check_key,
    _check_kind,
    _check_text,
    _check_metadata,
    _check_timestamps,
    _check_posting_count,
)


def raise_problems(problems: Problems, **context: Any) -> None:
    if not problems:
        return
    first = problems[0]
    first.details.update(context)
    if len(problems) > 1:
        first.details["problems"] = [problem.to_dict() for problem in problems]
    raise first


def validate_shape(entry: Entry) -> list[Leg]:
    """Every account-independent pass; returns the legs or raises the first problem."""
    if not isinstance(entry, Entry):
        raise TypeError(f"expected Entry, got {type(entry).__name__}")
    problems: Problems = []
    for check in ENTRY_PASSES:
        problems += check(entry)
    legs, leg_problems = legs_of(entry)
    problems += leg_problems
    if not leg_problems:
        problems += check_balanced(legs)
    raise_problems(problems, key=entry.key if isinstance(entry.key, str) else None)
    return legs

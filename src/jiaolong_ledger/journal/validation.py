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
    InvalidInputError,
    LedgerError,
    LimitExceededError,
    TooFewPostingsError,
    UnbalancedEntryError,
)
from jiaolong_ledger.intake import INTEGER_DIGITS_MAX, require_aware
from jiaolong_ledger.journal.entry import (
    ENGINE_ONLY_KINDS,
    ENTRY_KINDS,
    METADATA_DEPTH_MAX,
    Entry,
    metadata_too_deep,
    thaw,
)
from jiaolong_ledger.limits import KEY_LENGTH_MAX
from jiaolong_ledger.money import format_minor, positive_minor

POSTINGS_PER_ENTRY_MAX: Final = 256
DESCRIPTION_LENGTH_MAX: Final = 1_000
METADATA_BYTES_MAX: Final = 16_384
"""Largest metadata object, as compact UTF-8 JSON. (Its nesting: ``METADATA_DEPTH_MAX``.)"""
METADATA_INTEGER_MAX: Final = 10**INTEGER_DIGITS_MAX
"""Integers in metadata stay below this in magnitude (the intake's digit limit)."""
BATCH_SIZE_MAX: Final = 100_000
RESERVED_KEY_PREFIXES: Final = (
    "expire_pending:",
    "open_account:",
    "freeze_account:",
    "unfreeze_account:",
    "close_account:",
    "cycle_cutoff:",
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
    if not entry.pending and entry.kind == "pending":
        return [
            InvalidEntryError(
                "kind 'pending' is for pending entries (pending=True, status 'pending')",
                kind=entry.kind,
            )
        ]
    if entry.kind not in ENTRY_KINDS or (
        entry.kind in ENGINE_ONLY_KINDS and entry.kind != "pending"
    ):
        return [
            InvalidEntryError(f"kind {entry.kind!r} cannot be posted directly", kind=entry.kind)
        ]
    return []


def encodable(text: str) -> bool:
    """``text`` can be stored: it encodes as UTF-8 (no lone surrogate such as ``\\ud800``)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_encodable(field: str) -> InvalidEntryError:
    return InvalidEntryError(
        f"{field} holds a lone surrogate (\\ud800-\\udfff) and cannot be encoded as UTF-8",
        field=field,
    )


def _check_text(entry: Entry) -> Problems:
    if not isinstance(entry.description, str):
        return [InvalidEntryError("description must be a string", field="description")]
    if len(entry.description) > DESCRIPTION_LENGTH_MAX:
        return [
            LimitExceededError(
                f"description longer than {DESCRIPTION_LENGTH_MAX} characters",
                limit="description_length_max",
                limit_value=DESCRIPTION_LENGTH_MAX,
            )
        ]
    if not encodable(entry.description):
        return [_not_encodable("description")]
    return []


def _check_posting_accounts(entry: Entry) -> Problems:
    """Account codes are looked up as text: they must be strings the database can encode."""
    problems: Problems = []
    for index, posting in enumerate(entry.postings):
        field = f"postings[{index}].account"
        if not isinstance(posting.account, str):
            problems.append(InvalidEntryError(f"{field} must be a string", field=field))
        elif not encodable(posting.account):
            problems.append(_not_encodable(field))
    return problems


_METADATA_TYPES: Final = (
    "metadata must be a JSON object of strings, integers, booleans, null, lists and objects "
    "(no floats: write decimals as strings)"
)


def _metadata_value_problem(value: Any) -> LedgerError | None:
    """The problem with one metadata value other than a container, if any."""
    if isinstance(value, str):
        return None if encodable(value) else _not_encodable("metadata")
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        if -METADATA_INTEGER_MAX < value < METADATA_INTEGER_MAX:
            return None
        return LimitExceededError(
            f"an integer in metadata has more than {INTEGER_DIGITS_MAX} digits",
            field="metadata",
            limit="integer_digits_max",
            limit_value=INTEGER_DIGITS_MAX,
        )
    return InvalidEntryError(_METADATA_TYPES, field="metadata", type=type(value).__name__)


def _metadata_key_problem(key: object) -> LedgerError:
    if isinstance(key, str):
        return _not_encodable("metadata")
    return InvalidEntryError(
        "metadata keys must be strings", field="metadata", key_type=type(key).__name__
    )


def _walk_metadata(metadata: Mapping[str, Any]) -> LedgerError | None:
    """The first problem in ``metadata``, found without recursion (depth is bounded here)."""
    stack: list[tuple[Any, int]] = [(metadata, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping | list | tuple):
            if depth > METADATA_DEPTH_MAX:
                return metadata_too_deep()
            if isinstance(item, Mapping):
                for key, value in item.items():
                    if not isinstance(key, str) or not encodable(key):
                        return _metadata_key_problem(key)
                    stack.append((value, depth + 1))
            else:
                stack.extend((value, depth + 1) for value in item)
            continue
        problem = _metadata_value_problem(item)
        if problem is not None:
            return problem
    return None


def _check_metadata(entry: Entry) -> Problems:
    if type(entry.metadata) is MappingProxyType and not entry.metadata:
        return []  # the common case, without the ABC isinstance check
    if not isinstance(entry.metadata, Mapping):
        return [InvalidEntryError(_METADATA_TYPES, field="metadata")]
    problem = _walk_metadata(entry.metadata)
    if problem is not None:
        return [problem]
    # Safe to serialise: the walk bounded the depth, the integers, and every string encodes.
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
    """An instant handed to the API: ``None`` or an aware ``datetime`` (the intake's rule);
    a naive one, or anything else, is ``INVALID_INPUT``."""
    if value is None:
        return []
    if not isinstance(value, datetime):
        return [
            InvalidInputError(
                f"{field} must be a timezone-aware datetime, not {type(value).__name__}",
                field=field,
            )
        ]
    try:
        require_aware(value, field)
    except InvalidInputError as error:
        return [error]
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
    _check_posting_accounts,
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

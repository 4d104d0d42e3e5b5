"""Entry and posting values: immutable, validated by the passes in ``validation``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, Literal

from moneyed import Money

from jiaolong_ledger.money import format_minor, minor_to_money

Side = Literal["debit", "credit"]

ENTRY_KINDS: Final = (
    "transfer",
    "pending",
    "post_pending",
    "void_pending",
    "expire_pending",
    "reversal",
    "fx_conversion",
    "escrow_fund",
    "escrow_release",
    "escrow_refund",
    "settlement",
    "drawdown",
    "interest",
    "repayment",
    "revaluation",
)
ACCOUNT_RECORD_KINDS: Final = (
    "open_account",
    "freeze_account",
    "unfreeze_account",
    "close_account",
)
TWO_PHASE_KINDS: Final = ("post_pending", "void_pending", "expire_pending")
ENGINE_ONLY_KINDS: Final = (*TWO_PHASE_KINDS, "reversal", "pending")
"""Kinds that only the engine's own operations write (not accepted on a client ``Entry``)."""


@dataclass(frozen=True, slots=True)
class Posting:
    """One leg: ``account`` is debited or credited with a positive ``amount``."""

    account: str
    side: Side
    amount: Money


def debit(account: str, amount: Money) -> Posting:
    return Posting(account, "debit", amount)


def credit(account: str, amount: Money) -> Posting:
    return Posting(account, "credit", amount)


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain JSON-ready copy of frozen metadata."""
    if not value and isinstance(value, Mapping):
        return {}
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Entry:
    """A journal entry as a client asks for it. ``pending=True`` makes it two-phase."""

    key: str
    postings: Sequence[Posting]
    effective_at: datetime | None = None
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "transfer"
    pending: bool = False
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "postings", tuple(self.postings))
        object.__setattr__(self, "metadata", _freeze(self.metadata))


@dataclass(frozen=True, slots=True)
class PostedPosting:
    account: str
    side: Side
    amount_minor: int
    currency: str

    @property
    def amount(self) -> Money:
        return minor_to_money(self.amount_minor, self.currency)

    def to_json(self) -> dict[str, str]:
        return {
            "account": self.account,
            "side": self.side,
            "amount": format_minor(self.amount_minor, self.currency),
            "currency": self.currency,
        }


@dataclass(frozen=True, slots=True)
class PostedEntry:
    """An entry as recorded in the journal: immutable, sequenced and hashed."""

    seq: int
    key: str
    kind: str
    status: str
    effective_at: datetime
    recorded_at: datetime
    description: str
    metadata: Mapping[str, Any]
    postings: tuple[PostedPosting, ...]
    prev_hash: str
    hash: str
    pending_key: str | None = None
    expires_at: datetime | None = None
    account: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        from jiaolong_ledger.journal.canonical import entry_object

        return entry_object(self)

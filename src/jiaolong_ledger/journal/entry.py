"""Entry and posting values: immutable, validated by the passes in ``validation``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, Literal

from moneyed import Money

from jiaolong_ledger.errors import LimitExceededError
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
RECORD_KINDS: Final = {"cycle_cutoff": ("cycle", "obligations", "digest")}
"""Records of their own in the chain (no postings): kind -> its members at the top level of the
§5 object, beside the envelope (as account records carry ``account``)."""
ENVELOPE_MEMBERS: Final = frozenset(
    (
        "seq",
        "key",
        "kind",
        "status",
        "effective_at",
        "recorded_at",
        "description",
        "metadata",
        "postings",
        "prev_hash",
        "hash",
        "pending_key",
        "expires_at",
        "account",
    )
)
"""Members every §5 object may have; any other top-level member belongs to a record kind."""
TWO_PHASE_KINDS: Final = ("post_pending", "void_pending", "expire_pending")
ENGINE_ONLY_KINDS: Final = (*TWO_PHASE_KINDS, "reversal", "pending")
"""Kinds that only the engine's own operations write (not accepted on a client ``Entry``)."""

METADATA_DEPTH_MAX: Final = 16
"""Deepest nesting of an entry's metadata: the object itself is level 1, ``{"a": {}}`` level 2."""


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


def nesting_depth(value: Any, limit: int) -> int:
    """How deeply mappings and lists nest in ``value`` (a flat mapping: 1, a scalar: 0).

    Iterative, and it stops at the first level past ``limit``, so a value nested thousands of
    levels deep (or one that contains itself) costs ``limit`` steps and no recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return depth
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def metadata_too_deep() -> LimitExceededError:
    return LimitExceededError(
        f"metadata nests deeper than {METADATA_DEPTH_MAX} levels",
        field="metadata",
        limit="metadata_depth_max",
        limit_value=METADATA_DEPTH_MAX,
    )


def check_metadata_depth(metadata: Any) -> None:
    """``LIMIT_EXCEEDED`` when ``metadata`` nests deeper than :data:`METADATA_DEPTH_MAX`."""
    if nesting_depth(metadata, METADATA_DEPTH_MAX) > METADATA_DEPTH_MAX:
        raise metadata_too_deep()


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
    """A journal entry as a client asks for it. ``pending=True`` makes it two-phase.

    Construction only freezes the value (metadata becomes read-only); every rule is checked by
    the passes in :mod:`.validation` before anything is written. The one exception is metadata
    nested deeper than :data:`METADATA_DEPTH_MAX`, refused here (``LIMIT_EXCEEDED``) because
    freezing it would recurse that deep.
    """

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
        if not (type(self.metadata) is dict and not self.metadata):  # the common case: {}
            check_metadata_depth(self.metadata)
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
    record: Mapping[str, Any] | None = None
    """Extra top-level members of a record kind (:data:`RECORD_KINDS`), e.g. a cut-off's digest."""

    def to_json(self) -> dict[str, Any]:
        from jiaolong_ledger.journal.canonical import entry_object

        return entry_object(self)

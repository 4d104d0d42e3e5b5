"""A plain-dict model of the ledger's rules, for :class:`LedgerStateMachine`.

The model knows nothing of SQL, hashing or the posting engine: it keeps each account's four
balance columns and status in dicts and predicts, for every operation, either the journal
entries the ledger must append or the error code it must raise. Operations run on a
:meth:`LedgerModel.clone`; the caller keeps the clone only if the ledger agreed.

The checks run in the order the ledger documents: idempotency first (a key that exists with the
same request replays, with another request conflicts), then the pending entry's state, then the
accounts (missing, closed, frozen, currency), then the 64-bit limit and balance constraints on
every account the entry touches.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import iso4217
from moneyed import Money

from jiaolong_ledger.journal.entry import Entry, PostedEntry
from jiaolong_ledger.journal.validation import RESERVED_KEY_PREFIXES

AMOUNT_MINOR_MAX: Final = 2**63 - 1
RESOLUTION_STATES: Final = {
    "post_pending": "posted",
    "void_pending": "voided",
    "expire_pending": "expired",
}


class ModelRejection(Exception):
    """The model's prediction that the ledger refuses the operation with ``code``."""

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass(frozen=True, slots=True)
class ModelLeg:
    account: str
    is_debit: bool
    amount_minor: int
    currency: str


@dataclass(slots=True)
class ModelAccount:
    code: str
    currency: str
    kind: str
    constraint: str | None
    status: str = "open"
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    def values(self) -> tuple[int, int, int, int]:
        return (self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending)

    def is_zero(self) -> bool:
        return (
            self.debits_posted == self.credits_posted
            and self.debits_pending == 0
            and self.credits_pending == 0
        )


@dataclass(slots=True)
class ModelEntry:
    """One journal entry the model expects, with what a retry must match."""

    seq: int
    key: str
    kind: str
    status: str
    legs: tuple[ModelLeg, ...]
    request: Hashable | None
    pending_key: str | None = None
    pending_state: str | None = None
    expires_at: datetime | None = None
    reversed_by: str | None = None
    hash: str | None = None


def minor_of(amount: Money) -> tuple[int, str]:
    """Minor units of ``amount`` by plain Decimal arithmetic (the model's own conversion)."""
    code = str(amount.currency.code)
    exp = iso4217.Currency(code).exponent
    assert exp is not None, f"{code} has no minor unit"
    scaled = Decimal(amount.amount) * (Decimal(10) ** exp)
    assert scaled == scaled.to_integral_value(), "the model only sees exact amounts"
    return int(scaled), code


def legs_of(entry: Entry) -> tuple[ModelLeg, ...]:
    legs = []
    for posting in entry.postings:
        minor, code = minor_of(posting.amount)
        legs.append(ModelLeg(posting.account, posting.side == "debit", minor, code))
    return tuple(legs)


def entry_request(entry: Entry) -> Hashable:
    """What identifies a client's request: equal requests replay, different ones conflict."""
    return (
        "entry",
        "pending" if entry.pending else entry.kind,
        legs_of(entry),
        entry.description,
        repr(sorted(_plain(entry.metadata).items())),
        entry.effective_at,
        entry.expires_at,
    )


def _plain(value: Any) -> Any:
    if hasattr(value, "items"):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


@dataclass
class LedgerModel:
    """Accounts, entries and pending state in plain dicts."""

    accounts: dict[str, ModelAccount] = field(default_factory=dict)
    entries: dict[str, ModelEntry] = field(default_factory=dict)
    seq: int = 0

    def clone(self) -> LedgerModel:
        return copy.deepcopy(self)

    # -- accounts ------------------------------------------------------------------------

    def open_account(self, code: str, currency: str, kind: str, constraint: str | None) -> None:
        """Opening an account again exactly as it stands (not closed) changes nothing."""
        existing = self.accounts.get(code)
        if existing is not None:
            same = (existing.currency, existing.kind, existing.constraint) == (
                currency,
                kind,
                constraint,
            )
            if same and existing.status != "closed":
                return
            raise ModelRejection("ACCOUNT_EXISTS", account=code)
        self.accounts[code] = ModelAccount(code, currency, kind, constraint)
        self.seq += 1

    def set_status(self, code: str, status: str) -> None:
        account = self.accounts.get(code)
        if account is None:
            raise ModelRejection("ACCOUNT_NOT_FOUND", account=code)
        if account.status == "closed":
            raise ModelRejection("ACCOUNT_CLOSED", account=code)
        if status == "closed" and not account.is_zero():
            raise ModelRejection("ACCOUNT_NOT_EMPTY", account=code)
        if account.status != status:
            account.status = status
            self.seq += 1

    # -- posting -------------------------------------------------------------------------

    def post_many(self, entries: Sequence[Entry]) -> list[ModelEntry]:
        """The entries ``post_many`` returns (replays included), appending the fresh ones."""
        requested = [(entry, entry_request(entry)) for entry in entries]
        fresh: dict[str, tuple[Entry, Hashable]] = {}
        for entry, request in requested:
            prior = self.entries.get(entry.key)
            if prior is not None:
                self._same_request(entry.key, prior.request, request)
            elif entry.key in fresh:
                self._same_request(entry.key, fresh[entry.key][1], request)
            else:
                _not_reserved(entry.key)
                fresh[entry.key] = (entry, request)
        for entry, _ in fresh.values():
            self.check_accounts(legs_of(entry))
        for entry, request in fresh.values():
            pending = entry.pending
            self.append(
                entry.key,
                "pending" if pending else entry.kind,
                legs_of(entry),
                request,
                status="pending" if pending else "posted",
                expires_at=entry.expires_at,
            )
        return [self.entries[entry.key] for entry in entries]

    @staticmethod
    def _same_request(key: str, stored: Hashable | None, asked: Hashable) -> None:
        if stored != asked:
            raise ModelRejection("IDEMPOTENCY_CONFLICT", key=key)

    def replay(self, key: str, request: Hashable) -> ModelEntry | None:
        prior = self.entries.get(key)
        if prior is None:
            _not_reserved(key)
            return None
        self._same_request(key, prior.request, request)
        return prior

    def check_accounts(self, legs: Sequence[ModelLeg]) -> None:
        for leg in legs:
            account = self.accounts.get(leg.account)
            if account is None:
                raise ModelRejection("ACCOUNT_NOT_FOUND", account=leg.account)
            if account.status == "closed":
                raise ModelRejection("ACCOUNT_CLOSED", account=leg.account)
            if account.status == "frozen":
                raise ModelRejection("ACCOUNT_FROZEN", account=leg.account)
            if account.currency != leg.currency:
                raise ModelRejection("CURRENCY_MISMATCH", account=leg.account)

    def append(
        self,
        key: str,
        kind: str,
        legs: Sequence[ModelLeg],
        request: Hashable | None,
        *,
        status: str = "posted",
        releases: Sequence[ModelLeg] = (),
        pending_key: str | None = None,
        expires_at: datetime | None = None,
    ) -> ModelEntry:
        """Apply the legs (after releasing ``releases`` from pending), check limits, record."""
        touched: dict[str, ModelAccount] = {}
        for leg in releases:
            account = self.accounts[leg.account]
            if leg.is_debit:
                account.debits_pending -= leg.amount_minor
            else:
                account.credits_pending -= leg.amount_minor
            touched[leg.account] = account
        for leg in legs:
            account = self.accounts[leg.account]
            column = ("debits_" if leg.is_debit else "credits_") + (
                "pending" if status == "pending" else "posted"
            )
            setattr(account, column, getattr(account, column) + leg.amount_minor)
            touched[leg.account] = account
        for account in touched.values():
            self._check_limits(account, kind, legs)
        self.seq += 1
        entry = ModelEntry(
            self.seq,
            key,
            kind,
            status,
            tuple(legs),
            request,
            pending_key=pending_key,
            pending_state="pending" if status == "pending" else None,
            expires_at=expires_at,
        )
        self.entries[key] = entry
        return entry

    @staticmethod
    def _check_limits(account: ModelAccount, kind: str, legs: Sequence[ModelLeg]) -> None:
        if max(account.values()) > AMOUNT_MINOR_MAX:
            raise ModelRejection("AMOUNT_OVERFLOW", account=account.code)
        if account.constraint is None or kind in ("void_pending", "expire_pending"):
            return
        if account.constraint == "debits_must_not_exceed_credits":
            limit = account.credits_posted
            used = account.debits_posted + account.debits_pending
        else:
            limit = account.debits_posted
            used = account.credits_posted + account.credits_pending
        if used > limit:
            raise ModelRejection("CONSTRAINT_VIOLATED", account=account.code)

    # -- two-phase and reversal ----------------------------------------------------------

    def _pending(self, pending_key: str, now: datetime) -> ModelEntry:
        entry = self.entries.get(pending_key)
        if entry is None or entry.pending_state is None:
            raise ModelRejection("PENDING_NOT_FOUND", pending_key=pending_key)
        if entry.pending_state == "posted":
            raise ModelRejection("PENDING_ALREADY_POSTED", pending_key=pending_key)
        if entry.pending_state == "voided":
            raise ModelRejection("PENDING_ALREADY_VOIDED", pending_key=pending_key)
        if entry.pending_state == "expired" or (
            entry.expires_at is not None and entry.expires_at <= now
        ):
            raise ModelRejection("PENDING_EXPIRED", pending_key=pending_key)
        return entry

    def _resolve(
        self,
        kind: str,
        pending: ModelEntry,
        new_key: str,
        legs: Sequence[ModelLeg],
        request: Hashable,
    ) -> ModelEntry:
        self.check_accounts(legs)
        entry = self.append(
            new_key, kind, legs, request, releases=pending.legs, pending_key=pending.key
        )
        pending.pending_state = RESOLUTION_STATES[kind]
        return entry

    def post_pending(
        self, pending_key: str, new_key: str, amount: Money | None, now: datetime
    ) -> ModelEntry:
        amount_minor = minor_of(amount) if amount is not None else None
        request = ("post_pending", pending_key, amount_minor)
        replayed = self.replay(new_key, request)
        if replayed is not None:
            return replayed
        pending = self._pending(pending_key, now)
        legs = pending.legs
        if amount_minor is not None:
            legs = self._partial(pending, *amount_minor)
        return self._resolve("post_pending", pending, new_key, legs, request)

    @staticmethod
    def _partial(pending: ModelEntry, minor: int, currency: str) -> tuple[ModelLeg, ...]:
        if minor <= 0:
            raise ModelRejection("AMOUNT_NOT_POSITIVE")
        amounts = {leg.amount_minor for leg in pending.legs}
        currencies = {leg.currency for leg in pending.legs}
        if len(amounts) != 1 or len(currencies) != 1:
            raise ModelRejection("INVALID_ENTRY", pending_key=pending.key)
        if currency != next(iter(currencies)):
            raise ModelRejection("CURRENCY_MISMATCH", pending_key=pending.key)
        if minor > next(iter(amounts)):
            raise ModelRejection("PENDING_AMOUNT_EXCEEDED", pending_key=pending.key)
        return tuple(
            ModelLeg(leg.account, leg.is_debit, minor, leg.currency) for leg in pending.legs
        )

    def void_pending(self, pending_key: str, new_key: str, now: datetime) -> ModelEntry:
        request = ("void_pending", pending_key)
        replayed = self.replay(new_key, request)
        if replayed is not None:
            return replayed
        pending = self._pending(pending_key, now)
        return self._resolve("void_pending", pending, new_key, (), request)

    def expire_pending(self, now: datetime) -> list[ModelEntry]:
        due = sorted(
            (
                entry
                for entry in self.entries.values()
                if entry.pending_state == "pending"
                and entry.expires_at is not None
                and entry.expires_at <= now
            ),
            key=lambda entry: entry.seq,
        )
        return [
            self._resolve(
                "expire_pending",
                entry,
                f"expire_pending:{entry.key}",
                (),
                ("expire_pending", entry.key),
            )
            for entry in due
        ]

    def reverse(self, key: str, new_key: str) -> ModelEntry:
        request = ("reversal", key)
        replayed = self.replay(new_key, request)
        if replayed is not None:
            return replayed
        original = self.entries.get(key)
        if original is None:
            raise ModelRejection("ENTRY_NOT_FOUND", key=key)
        if original.status != "posted" or not original.legs:
            raise ModelRejection("INVALID_ENTRY", key=key)
        if original.reversed_by is not None:
            raise ModelRejection("ALREADY_REVERSED", key=key)
        legs = tuple(
            ModelLeg(leg.account, not leg.is_debit, leg.amount_minor, leg.currency)
            for leg in original.legs
        )
        self.check_accounts(legs)
        entry = self.append(new_key, "reversal", legs, request)
        original.reversed_by = new_key
        return entry

    # -- following the journal -----------------------------------------------------------

    def follow(self, posted: PostedEntry) -> None:
        """Apply an entry read back from the journal (for writes the model did not predict)."""
        assert posted.seq == self.seq + 1, f"journal seq {posted.seq} after model seq {self.seq}"
        if posted.account is not None:
            self._follow_account_record(posted)
            return
        legs = tuple(
            ModelLeg(p.account, p.side == "debit", p.amount_minor, p.currency)
            for p in posted.postings
        )
        releases: tuple[ModelLeg, ...] = ()
        pending = self.entries.get(posted.pending_key) if posted.pending_key else None
        if pending is not None:
            releases = pending.legs
            pending.pending_state = RESOLUTION_STATES[posted.kind]
        entry = self.append(
            posted.key,
            posted.kind,
            legs,
            None,
            status=posted.status,
            releases=releases,
            pending_key=posted.pending_key,
            expires_at=posted.expires_at,
        )
        entry.hash = posted.hash
        reverses = posted.metadata.get("reverses") if posted.kind == "reversal" else None
        if isinstance(reverses, str) and reverses in self.entries:
            self.entries[reverses].reversed_by = posted.key

    def _follow_account_record(self, posted: PostedEntry) -> None:
        record = posted.account
        assert record is not None
        code = str(record["code"])
        if posted.kind == "open_account":
            self.open_account(code, record["currency"], record["kind"], record["constraint"])
            return
        status = {
            "freeze_account": "frozen",
            "unfreeze_account": "open",
            "close_account": "closed",
        }[posted.kind]
        self.set_status(code, status)


__all__ = [
    "LedgerModel",
    "ModelAccount",
    "ModelEntry",
    "ModelLeg",
    "ModelRejection",
    "entry_request",
    "legs_of",
    "minor_of",
]


def _not_reserved(key: str) -> None:
    """A fresh key may not take one of the engine's own names (judged after idempotency)."""
    if key.startswith(RESERVED_KEY_PREFIXES):
        raise ModelRejection("INVALID_ENTRY", key=key)

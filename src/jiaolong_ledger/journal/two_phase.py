"""Two-phase entries and reversals: operations that resolve or undo an entry already stored.

A pending entry holds its amounts in the pending columns until it is posted (in full or in
part), voided, or expired; each of those is a new entry of its own (``post_pending``,
``void_pending``, ``expire_pending``) that releases the held amounts, and the mutable state of
the hold lives in ``pending_entries`` beside the immutable journal. A reversal is a new entry
with every leg of a posted entry flipped.

These operations are built on the single writer's public surface only (:class:`Writer`, which
:class:`~jiaolong_ledger.journal.writer.Transaction` satisfies and delegates to): they lock
accounts, build drafts and hand them to ``append``, and never touch balances themselves.
Each is idempotent on its ``new_key``: a retry with the same request returns the stored entry
before any state check, so a retry after success does not fail as "already posted".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Final, Protocol

from moneyed import Money
from sqlalchemy import Connection, select, update

from jiaolong_ledger.errors import (
    AlreadyReversedError,
    AmountNotPositiveError,
    CurrencyMismatchError,
    EntryNotFoundError,
    InvalidEntryError,
    PendingAlreadyPostedError,
    PendingAlreadyVoidedError,
    PendingAmountExceededError,
    PendingExpiredError,
    PendingNotFoundError,
)
from jiaolong_ledger.journal.balances import AccountState, snapshots_of
from jiaolong_ledger.journal.drafts import (
    Clock,
    Draft,
    check_same_request,
    posted_entry_from_object,
    request_digest,
)
from jiaolong_ledger.journal.entry import PostedEntry
from jiaolong_ledger.journal.validation import (
    Leg,
    check_accounts,
    check_key,
    check_not_reserved,
    raise_problems,
)
from jiaolong_ledger.money import format_minor, money_to_minor
from jiaolong_ledger.storage.engine import is_postgres
from jiaolong_ledger.storage.tables import journal_entries, pending_entries

RESOLVED_STATE: Final = {
    "post_pending": "posted",
    "void_pending": "voided",
    "expire_pending": "expired",
}
"""The state a pending entry is left in by each kind of resolving entry."""


class Writer(Protocol):
    """What these operations need from the single writer."""

    connection: Connection
    clock: Clock

    def lock_accounts(self, codes: Iterable[str]) -> dict[str, AccountState]: ...

    def append(self, drafts: Sequence[Draft]) -> list[PostedEntry]: ...


def post_pending(
    writer: Writer, pending_key: str, new_key: str, amount: Money | None = None
) -> PostedEntry:
    """Post a pending entry, in full or (``amount``) in part; the rest of the hold is released."""
    amount_minor = money_to_minor(amount) if amount is not None else None
    digest = request_digest(
        {"kind": "post_pending", "pending_key": pending_key, "amount": list(amount_minor or [])}
    )
    replayed = _replay_or_none(writer.connection, new_key, digest)
    if replayed is not None:
        return replayed
    releases = _open_pending(writer.connection, pending_key, writer.clock())
    legs = releases
    if amount_minor is not None:
        legs = _partial_legs(pending_key, releases, *amount_minor)
    return _resolve(writer, "post_pending", pending_key, new_key, digest, legs, releases)


def void_pending(writer: Writer, pending_key: str, new_key: str) -> PostedEntry:
    """Release a pending entry's hold without posting anything."""
    digest = request_digest({"kind": "void_pending", "pending_key": pending_key})
    replayed = _replay_or_none(writer.connection, new_key, digest)
    if replayed is not None:
        return replayed
    releases = _open_pending(writer.connection, pending_key, writer.clock())
    return _resolve(writer, "void_pending", pending_key, new_key, digest, [], releases)


def expire_pending(writer: Writer, now: datetime) -> list[PostedEntry]:
    """Expire every pending entry whose ``expires_at`` is at or before ``now``, oldest first."""
    rows = writer.connection.execute(
        select(pending_entries.c.key)
        .where(pending_entries.c.state == "pending")
        .where(pending_entries.c.expires_at.is_not(None))
        .where(pending_entries.c.expires_at <= now)
        .order_by(pending_entries.c.entry_seq)
    ).all()
    return [expire_one(writer, row.key, now) for row in rows]


def expire_one(writer: Writer, pending_key: str, now: datetime | None = None) -> PostedEntry:
    """Expire one pending entry (key ``expire_pending:<pending_key>``).

    With ``now``, the entry must be due by then; without, it is expired as asked (replay
    re-applies an expiry the journal already records).
    """
    row = writer.connection.execute(
        select(pending_entries.c.state, pending_entries.c.expires_at).where(
            pending_entries.c.key == pending_key
        )
    ).first()
    if row is None or row.state != "pending":
        raise PendingNotFoundError(
            f"no open pending entry {pending_key!r} to expire", pending_key=pending_key
        )
    if now is not None and (row.expires_at is None or row.expires_at > now):
        raise InvalidEntryError(f"{pending_key!r} is not due to expire", pending_key=pending_key)
    pending = _load_entry(writer.connection, pending_key)
    assert pending is not None, "pending row without its journal entry"
    digest = request_digest({"kind": "expire_pending", "pending_key": pending_key})
    new_key = f"expire_pending:{pending_key}"
    releases = _legs_of(pending)
    return _resolve(writer, "expire_pending", pending_key, new_key, digest, [], releases)


def reverse(writer: Writer, key: str, new_key: str) -> PostedEntry:
    """Post the mirror image of the posted entry ``key`` (each leg on the other side)."""
    digest = request_digest({"kind": "reversal", "reverses": key})
    replayed = _replay_or_none(writer.connection, new_key, digest)
    if replayed is not None:
        return replayed
    original = _reversible(writer.connection, key)
    legs = _legs_of(original, flip=True)
    states = writer.lock_accounts(leg.account for leg in legs)
    raise_problems(check_accounts(legs, snapshots_of(states)), key=new_key)
    draft = Draft(
        key=new_key,
        kind="reversal",
        status="posted",
        effective_at=None,
        description=f"reversal of {key}",
        metadata={"reverses": key},
        legs=legs,
        request_digest=digest,
    )
    return writer.append([draft])[0]


# -- helpers -----------------------------------------------------------------------------


def _stored(connection: Connection, key: str) -> tuple[str, str] | None:
    """The request digest and stored line of the entry under ``key``, if there is one."""
    row = connection.execute(
        select(journal_entries.c.request_digest, journal_entries.c.line).where(
            journal_entries.c.key == key
        )
    ).first()
    return None if row is None else (row.request_digest, row.line)


def _load_entry(connection: Connection, key: str) -> PostedEntry | None:
    stored = _stored(connection, key)
    return None if stored is None else posted_entry_from_object(json.loads(stored[1]))


def _replay_or_none(connection: Connection, new_key: str, digest: str) -> PostedEntry | None:
    """The entry a retry of this request already stored under ``new_key``, or None if free."""
    raise_problems(check_key(new_key, "new_key"))
    prior = _stored(connection, new_key)
    if prior is None:
        raise_problems(check_not_reserved(new_key, "new_key"))
        return None
    check_same_request(new_key, prior[0], digest)
    return posted_entry_from_object(json.loads(prior[1]))


def _legs_of(entry: PostedEntry, *, flip: bool = False) -> list[Leg]:
    """The entry's postings as legs; ``flip`` puts each on the other side (a reversal)."""
    return [
        Leg(p.account, (p.side == "debit") != flip, p.amount_minor, p.currency)
        for p in entry.postings
    ]


def _open_pending(connection: Connection, pending_key: str, now: datetime) -> list[Leg]:
    """The legs held by the pending entry ``pending_key``, refused unless it is still open."""
    query = select(pending_entries).where(pending_entries.c.key == pending_key)
    if is_postgres(connection):
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        raise PendingNotFoundError(f"no pending entry {pending_key!r}", pending_key=pending_key)
    if row.state == "posted":
        raise PendingAlreadyPostedError(
            f"{pending_key!r} was already posted", pending_key=pending_key
        )
    if row.state == "voided":
        raise PendingAlreadyVoidedError(f"{pending_key!r} was voided", pending_key=pending_key)
    if row.state == "expired" or (row.expires_at is not None and row.expires_at <= now):
        raise PendingExpiredError(
            f"{pending_key!r} expired", pending_key=pending_key, expires_at=str(row.expires_at)
        )
    pending = _load_entry(connection, pending_key)
    assert pending is not None, "pending row without its journal entry"
    return _legs_of(pending)


def _partial_legs(pending_key: str, releases: list[Leg], minor: int, currency: str) -> list[Leg]:
    if minor <= 0:
        raise AmountNotPositiveError("amount to post must be positive", pending_key=pending_key)
    amounts = {leg.amount_minor for leg in releases}
    currencies = {leg.currency for leg in releases}
    if len(amounts) != 1 or len(currencies) != 1:
        raise InvalidEntryError(
            "a partial post needs a pending entry whose postings all carry one amount "
            "in one currency; post it in full or void it",
            pending_key=pending_key,
        )
    full, pending_currency = amounts.pop(), currencies.pop()
    if currency != pending_currency:
        raise CurrencyMismatchError(
            f"pending entry is in {pending_currency}, amount is in {currency}",
            pending_key=pending_key,
        )
    if minor > full:
        raise PendingAmountExceededError(
            f"cannot post {format_minor(minor, currency)} {currency}: pending amount is "
            f"{format_minor(full, currency)}",
            pending_key=pending_key,
            asked=format_minor(minor, currency),
            pending=format_minor(full, currency),
        )
    return [replace(leg, amount_minor=minor) for leg in releases]


def _resolve(
    writer: Writer,
    kind: str,
    pending_key: str,
    new_key: str,
    digest: str,
    legs: list[Leg],
    releases: list[Leg],
) -> PostedEntry:
    """Append the entry that releases ``releases`` and posts ``legs``; record the new state."""
    states = writer.lock_accounts(leg.account for leg in releases)
    raise_problems(check_accounts(legs, snapshots_of(states)), key=new_key)
    draft = Draft(
        key=new_key,
        kind=kind,
        status="posted",
        effective_at=None,
        description="",
        metadata={},
        legs=legs,
        request_digest=digest,
        pending_key=pending_key,
        releases=releases,
    )
    entry = writer.append([draft])[0]
    writer.connection.execute(
        update(pending_entries)
        .where(pending_entries.c.key == pending_key)
        .values(state=RESOLVED_STATE[kind], resolved_seq=entry.seq)
    )
    return entry


def _reversible(connection: Connection, key: str) -> PostedEntry:
    """The posted entry ``key``, refused if missing, not reversible, or already reversed."""
    original = _load_entry(connection, key)
    if original is None:
        raise EntryNotFoundError(f"no entry {key!r}", key=key)
    if original.status != "posted" or not original.postings:
        raise InvalidEntryError(
            f"entry {key!r} ({original.kind}) cannot be reversed"
            + ("; void the pending entry instead" if original.status == "pending" else ""),
            key=key,
        )
    already = connection.execute(
        select(journal_entries.c.key)
        .where(journal_entries.c.link_key == key)
        .where(journal_entries.c.kind == "reversal")
    ).first()
    if already is not None:
        raise AlreadyReversedError(f"{key!r} was already reversed by {already.key!r}", key=key)
    return original


__all__ = [
    "Writer",
    "expire_one",
    "expire_pending",
    "post_pending",
    "reverse",
    "void_pending",
]

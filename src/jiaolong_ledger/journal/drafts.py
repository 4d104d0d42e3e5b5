"""Drafts: entries on their way into the journal, and the fingerprints that make retries safe.

A :class:`Draft` is everything the single writer (:mod:`.writer`) needs to store an entry except
its place in the chain (seq, prev_hash, hash). Client entries become drafts in
:func:`draft_from_entry`; the writer, the two-phase operations and the sub-domains build the
engine's own drafts directly. :func:`unsealed_entry` is what a draft becomes once the writer
gives it a place in the chain, before it is hashed.

Idempotency rests on two fingerprints stored beside each entry: :func:`entry_digest` for a client
entry and :func:`request_digest` for any other request (a post of a pending entry, a reversal, a
sub-domain call). A key seen again with the same fingerprint is a retry and gets the stored entry
back (:func:`posted_entry_from_object` rebuilds it from its stored line); with another it is a
conflicting reuse (:func:`check_same_request`).

Apart from :func:`utc_now`, the default clock, everything here is pure: no connection, no
clock reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from jiaolong_ledger.errors import IdempotencyConflictError
from jiaolong_ledger.journal.canonical import canonical_bytes, format_timestamp, parse_timestamp
from jiaolong_ledger.journal.entry import (
    ENVELOPE_MEMBERS,
    Entry,
    PostedEntry,
    PostedPosting,
    thaw,
)
from jiaolong_ledger.journal.validation import Leg
from jiaolong_ledger.money import parse_minor

QUERY_CHUNK_SIZE: Final = 2_000
"""Largest IN-list sent in one query (SQLite's variable limit is the binding one)."""

Clock = Callable[[], datetime]

_Item = TypeVar("_Item")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Draft:
    """An entry ready to be sequenced: everything but seq, prev_hash and hash."""

    key: str
    kind: str
    status: str
    effective_at: datetime | None
    description: str
    metadata: dict[str, Any]
    legs: list[Leg]
    request_digest: str
    pending_key: str | None = None
    expires_at: datetime | None = None
    account: dict[str, Any] | None = None
    record: dict[str, Any] | None = None
    releases: list[Leg] = field(default_factory=list)
    recorded_at: datetime | None = None


def draft_from_entry(entry: Entry, legs: list[Leg]) -> Draft:
    """The draft of a client entry whose shape has been validated into ``legs``."""
    return Draft(
        key=entry.key,
        kind="pending" if entry.pending else entry.kind,
        status="pending" if entry.pending else "posted",
        effective_at=entry.effective_at,
        description=entry.description,
        metadata=thaw(entry.metadata),
        legs=legs,
        request_digest=entry_digest(entry, legs),
        expires_at=entry.expires_at,
    )


def unsealed_entry(draft: Draft, seq: int, prev_hash: str, now: datetime) -> PostedEntry:
    """The posted entry ``draft`` becomes at ``seq`` after ``prev_hash``; its hash still empty.

    An entry without its own times is recorded, and takes effect, ``now``.
    """
    recorded_at = draft.recorded_at or now
    return PostedEntry(
        seq=seq,
        key=draft.key,
        kind=draft.kind,
        status=draft.status,
        effective_at=draft.effective_at or recorded_at,
        recorded_at=recorded_at,
        description=draft.description,
        metadata=draft.metadata,
        postings=tuple(
            PostedPosting(
                leg.account, "debit" if leg.is_debit else "credit", leg.amount_minor, leg.currency
            )
            for leg in draft.legs
        ),
        prev_hash=prev_hash,
        hash="",
        pending_key=draft.pending_key,
        expires_at=draft.expires_at,
        account=draft.account,
        record=draft.record,
    )


def request_digest(payload: dict[str, Any]) -> str:
    """Fingerprint of what the client asked for, to tell a retry from a conflicting reuse."""
    return hashlib.sha256(canonical_bytes(payload)).hexdigest()


def entry_digest(entry: Entry, legs: Sequence[Leg]) -> str:
    """Fingerprint of a client entry: ``repr`` of plain tuples is deterministic and cheap."""
    metadata = canonical_bytes(thaw(entry.metadata)).decode() if entry.metadata else ""
    fingerprint = (
        "pending" if entry.pending else entry.kind,
        tuple((leg.account, leg.is_debit, leg.amount_minor, leg.currency) for leg in legs),
        entry.description,
        metadata,
        format_timestamp(entry.effective_at) if entry.effective_at else None,
        format_timestamp(entry.expires_at) if entry.expires_at else None,
    )
    return hashlib.sha256(repr(fingerprint).encode()).hexdigest()


def check_same_request(key: str, stored: str, asked: str) -> None:
    """A key reused with another fingerprint is a conflict, not a retry."""
    if stored != asked:
        raise IdempotencyConflictError(
            f"key {key!r} was already used for a different entry", key=key
        )


def posted_entry_from_object(obj: dict[str, Any]) -> PostedEntry:
    """Rebuild a posted entry from the JSON object of its stored line."""
    return PostedEntry(
        seq=obj["seq"],
        key=obj["key"],
        kind=obj["kind"],
        status=obj["status"],
        effective_at=parse_timestamp(obj["effective_at"]),
        recorded_at=parse_timestamp(obj["recorded_at"]),
        description=obj["description"],
        metadata=obj["metadata"],
        postings=tuple(
            PostedPosting(
                p["account"], p["side"], parse_minor(p["amount"], p["currency"]), p["currency"]
            )
            for p in obj["postings"]
        ),
        prev_hash=obj["prev_hash"],
        hash=obj["hash"],
        pending_key=obj.get("pending_key"),
        expires_at=parse_timestamp(obj["expires_at"]) if "expires_at" in obj else None,
        account=obj.get("account"),
        record={name: value for name, value in obj.items() if name not in ENVELOPE_MEMBERS} or None,
    )


def chunks(items: Sequence[_Item], size: int = QUERY_CHUNK_SIZE) -> Iterator[Sequence[_Item]]:
    """``items`` in slices of at most ``size``, for IN-lists under the driver's variable limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


__all__ = [
    "QUERY_CHUNK_SIZE",
    "Clock",
    "Draft",
    "check_same_request",
    "chunks",
    "draft_from_entry",
    "entry_digest",
    "posted_entry_from_object",
    "request_digest",
    "unsealed_entry",
    "utc_now",
]

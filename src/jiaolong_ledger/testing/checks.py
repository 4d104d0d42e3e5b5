"""Assertions about what a ledger holds, for tests: snapshots, "nothing written", gap-free seq.

A rejected call must write nothing (SPEC §6): take a :func:`snapshot` before the call and
:func:`assert_unchanged` after it. The snapshot reads, through the journal's read model
(:mod:`jiaolong_ledger.journal.reads`) on a read connection of the primary, the journal head,
the entry count, the keys' digest, the state of every pending entry and every account's status
and balance columns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Final, Protocol

from sqlalchemy import Connection

from jiaolong_ledger.journal import reads
from jiaolong_ledger.journal.canonical import GENESIS_HASH

AccountRow = tuple[str, tuple[int, int, int, int]]
"""An account's status and (debits_posted, credits_posted, debits_pending, credits_pending)."""

_RESOLVED_AS: Final = {
    "post_pending": "posted",
    "void_pending": "voided",
    "expire_pending": "expired",
}


class Readable(Protocol):
    """What the checks need from a ledger: read connections (the primary's, on request)."""

    def reading(self, *, primary: bool = False) -> AbstractContextManager[Connection]: ...


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    last_seq: int
    last_hash: str
    entries: int
    keys_digest: str
    pending_states: tuple[tuple[str, str], ...]
    accounts: dict[str, AccountRow]


def stored_accounts(ledger: Readable) -> dict[str, AccountRow]:
    """Every account's status and balance columns, in one read."""
    with ledger.reading(primary=True) as connection:
        return reads.stored_balance_columns(connection)


def _journal(ledger: Readable) -> Iterator[dict[str, object]]:
    with ledger.reading(primary=True) as connection:
        for line in reads.journal_lines(connection):
            yield json.loads(line)


def snapshot(ledger: Readable) -> LedgerSnapshot:
    last_seq, last_hash, count = 0, GENESIS_HASH, 0
    keys = hashlib.sha256()
    states: dict[str, str] = {}
    for obj in _journal(ledger):
        last_seq, last_hash, count = int(str(obj["seq"])), str(obj["hash"]), count + 1
        keys.update(str(obj["key"]).encode() + b"\n")
        if obj["kind"] == "pending":
            states[str(obj["key"])] = "pending"
        elif obj["kind"] in _RESOLVED_AS:
            states[str(obj["pending_key"])] = _RESOLVED_AS[str(obj["kind"])]
    return LedgerSnapshot(
        last_seq=last_seq,
        last_hash=last_hash,
        entries=count,
        keys_digest=keys.hexdigest(),
        pending_states=tuple(sorted(states.items())),
        accounts=stored_accounts(ledger),
    )


def assert_unchanged(ledger: Readable, before: LedgerSnapshot) -> None:
    """Nothing was written since ``before``: same head, entries, keys, pending state, balances."""
    after = snapshot(ledger)
    assert (after.last_seq, after.last_hash) == (before.last_seq, before.last_hash), (
        f"journal head moved from seq {before.last_seq} to {after.last_seq}"
    )
    assert after.entries == before.entries, f"{after.entries - before.entries} entries written"
    assert after.keys_digest == before.keys_digest, "the set of keys changed"
    assert after.pending_states == before.pending_states, "a pending entry changed state"
    changed = {
        code: (before.accounts.get(code), row)
        for code, row in after.accounts.items()
        if before.accounts.get(code) != row
    }
    missing = sorted(before.accounts.keys() - after.accounts.keys())
    assert not changed and not missing, f"accounts changed: {changed}, vanished: {missing}"


def assert_gap_free(ledger: Readable) -> None:
    """``seq`` runs 1, 2, ..., n with no gap and no duplicate."""
    seqs = [obj["seq"] for obj in _journal(ledger)]
    assert seqs == list(range(1, len(seqs) + 1)), f"seq is not gap-free: {seqs[:20]}..."


__all__ = [
    "LedgerSnapshot",
    "Readable",
    "assert_gap_free",
    "assert_unchanged",
    "snapshot",
    "stored_accounts",
]

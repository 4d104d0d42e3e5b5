"""Assertions about what a ledger holds, for tests: snapshots, "nothing written", gap-free seq.

A rejected call must write nothing (SPEC §6): take a :func:`snapshot` before the call and
:func:`assert_unchanged` after it. The snapshot reads the journal head, the entry count, the
keys' digest and every account's status and balance columns straight from storage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from jiaolong_ledger.storage.tables import accounts, journal_entries, pending_entries

if TYPE_CHECKING:
    from jiaolong_ledger.ledger import Ledger

AccountRow = tuple[str, tuple[int, int, int, int]]
"""An account's status and (debits_posted, credits_posted, debits_pending, credits_pending)."""


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    last_seq: int
    last_hash: str
    entries: int
    keys_digest: str
    pending_states: tuple[tuple[str, str], ...]
    accounts: dict[str, AccountRow]


def stored_accounts(ledger: Ledger) -> dict[str, AccountRow]:
    """Every account's status and balance columns, in one read."""
    query = select(
        accounts.c.code,
        accounts.c.status,
        accounts.c.debits_posted_minor,
        accounts.c.credits_posted_minor,
        accounts.c.debits_pending_minor,
        accounts.c.credits_pending_minor,
    )
    with ledger.engine.connect() as connection:
        return {
            row[0]: (row[1], (int(row[2]), int(row[3]), int(row[4]), int(row[5])))
            for row in connection.execute(query)
        }


def snapshot(ledger: Ledger) -> LedgerSnapshot:
    with ledger.engine.connect() as connection:
        head = connection.execute(
            select(journal_entries.c.seq, journal_entries.c.hash)
            .order_by(journal_entries.c.seq.desc())
            .limit(1)
        ).first()
        count = connection.execute(select(func.count()).select_from(journal_entries)).scalar()
        keys = hashlib.sha256()
        for (key,) in connection.execute(
            select(journal_entries.c.key).order_by(journal_entries.c.seq)
        ):
            keys.update(key.encode() + b"\n")
        states = tuple(
            (row.key, row.state)
            for row in connection.execute(
                select(pending_entries.c.key, pending_entries.c.state).order_by(
                    pending_entries.c.key
                )
            )
        )
    return LedgerSnapshot(
        last_seq=int(head.seq) if head else 0,
        last_hash=str(head.hash) if head else "0" * 64,
        entries=int(count or 0),
        keys_digest=keys.hexdigest(),
        pending_states=states,
        accounts=stored_accounts(ledger),
    )


def assert_unchanged(ledger: Ledger, before: LedgerSnapshot) -> None:
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


def assert_gap_free(ledger: Ledger) -> None:
    """``seq`` runs 1, 2, ..., n with no gap and no duplicate."""
    with ledger.engine.connect() as connection:
        seqs = [
            int(seq)
            for (seq,) in connection.execute(
                select(journal_entries.c.seq).order_by(journal_entries.c.seq)
            )
        ]
    assert seqs == list(range(1, len(seqs) + 1)), f"seq is not gap-free: {seqs[:20]}..."


__all__ = [
    "LedgerSnapshot",
    "assert_gap_free",
    "assert_unchanged",
    "snapshot",
    "stored_accounts",
]

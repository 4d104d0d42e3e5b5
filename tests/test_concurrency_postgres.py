"""Four writer processes against five hot accounts on PostgreSQL.

Each process (spawned, so nothing is shared but the database) submits 2,000 entries in a mix of
single posts and batches, with retries of its own keys and keys that every process posts with
the same content. Afterwards: every balance equals the sum of the unique entries' postings, seq
is gap-free, the chain verifies, no key is doubled, and no deadlock or serialization failure
reached a caller. A second test races the same processes to resolve the same pending entries.
"""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import pytest
from moneyed import Money
from sqlalchemy import func, select

from jiaolong_ledger import Entry, Ledger, LedgerError, credit, debit
from jiaolong_ledger.storage.tables import journal_entries
from jiaolong_ledger.testing import assert_gap_free

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

WORKERS = 4
ENTRIES_PER_WORKER = 2_000
HOT_ACCOUNTS = tuple(f"hot:a{index}:EUR" for index in range(5))
SHARED_KEYS = 150
"""Keys every worker posts with identical content: exactly one write each, the rest replays."""

Spec = tuple[str, str, str, int]
"""(key, debited account, credited account, amount in cents)."""


def shared_spec(index: int) -> Spec:
    rng = random.Random(f"shared-{index}")
    source, target = rng.sample(HOT_ACCOUNTS, 2)
    return (f"shared/{index}", source, target, rng.randint(1, 10_000))


def worker_plan(worker: int) -> list[list[Spec]]:
    """The batches one worker submits: 2,000 entries, retries and shared keys mixed in."""
    rng = random.Random(f"worker-{worker}")
    own: list[Spec] = []
    batches: list[list[Spec]] = []
    submitted = 0
    while submitted < ENTRIES_PER_WORKER:
        size = min(rng.choice((1, 1, 1, 2, 5, 10, 25)), ENTRIES_PER_WORKER - submitted)
        batch: list[Spec] = []
        for _ in range(size):
            roll = rng.random()
            if roll < 0.08 and own:
                batch.append(rng.choice(own))  # a retry of one of our own keys
            elif roll < 0.18:
                batch.append(shared_spec(rng.randrange(SHARED_KEYS)))
            else:
                source, target = rng.sample(HOT_ACCOUNTS, 2)
                spec = (f"w{worker}/{len(own)}", source, target, rng.randint(1, 10_000))
                own.append(spec)
                batch.append(spec)
        batches.append(batch)
        submitted += size
    return batches


def to_entry(spec: Spec) -> Entry:
    key, source, target, cents = spec
    amount = Money(f"{cents // 100}.{cents % 100:02d}", "EUR")
    return Entry(key=key, postings=[debit(source, amount), credit(target, amount)])


def run_worker(url: str, worker: int) -> list[str]:
    """Runs in a spawned process; returns every error that reached this caller."""
    errors: list[str] = []
    ledger = Ledger.connect(url)
    try:
        for batch in worker_plan(worker):
            entries = [to_entry(spec) for spec in batch]
            try:
                if len(entries) == 1:
                    ledger.post(entries[0])
                else:
                    ledger.post_many(entries)
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")
    finally:
        ledger.close()
    return errors


def expected_unique_specs() -> dict[str, Spec]:
    unique: dict[str, Spec] = {}
    for worker in range(WORKERS):
        for batch in worker_plan(worker):
            for spec in batch:
                assert unique.setdefault(spec[0], spec) == spec
    return unique


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_four_processes_lose_nothing(make_url_for: Callable[[], str]) -> None:
    url = make_url_for()
    ledger = Ledger.connect(url)
    for code in HOT_ACCOUNTS:
        ledger.open_account(code, currency="EUR", kind="asset")

    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS) as pool:
        results = pool.starmap(run_worker, [(url, worker) for worker in range(WORKERS)])
    errors = [error for worker_errors in results for error in worker_errors]
    assert errors == [], errors[:5]

    unique = expected_unique_specs()
    expected: dict[str, list[int]] = {code: [0, 0] for code in HOT_ACCOUNTS}
    for _, source, target, cents in unique.values():
        expected[source][0] += cents
        expected[target][1] += cents
    for code in HOT_ACCOUNTS:
        balance = ledger.balance(code)
        assert [balance.debits_posted_minor, balance.credits_posted_minor] == expected[code]

    with ledger.engine.connect() as connection:
        keys = connection.execute(
            select(journal_entries.c.key, func.count())
            .where(journal_entries.c.kind == "transfer")
            .group_by(journal_entries.c.key)
        ).all()
    assert all(count == 1 for _, count in keys)
    assert _worker_switches(ledger) > 50, "the writers did not actually interleave"
    assert {key for key, _ in keys} == set(unique)
    assert_gap_free(ledger)
    report = ledger.verify()
    assert report.ok, report.findings[:5]
    assert report.entries == len(unique) + len(HOT_ACCOUNTS)
    assert ledger.trial_balance().is_balanced()
    ledger.close()


def test_the_plan_really_mixes_retries_and_shared_keys() -> None:
    """Guard the test's own premise: retries and cross-process duplicates are in the plan."""
    plans = [worker_plan(worker) for worker in range(WORKERS)]
    submitted = [spec for plan in plans for batch in plan for spec in batch]
    assert len(submitted) == WORKERS * ENTRIES_PER_WORKER
    unique = expected_unique_specs()
    assert len(submitted) - len(unique) > 500
    shared_posted = {spec[0] for spec in submitted if spec[0].startswith("shared/")}
    assert len(shared_posted) > 100
    sizes = [len(batch) for plan in plans for batch in plan]
    assert sizes.count(1) > 100 and max(sizes) == 25


def _worker_switches(ledger: Ledger) -> int:
    """How often, in seq order, the journal passes from one worker's own keys to another's."""
    with ledger.engine.connect() as connection:
        keys = connection.execute(
            select(journal_entries.c.key)
            .where(journal_entries.c.key.like("w%/%"))
            .order_by(journal_entries.c.seq)
        ).scalars()
        owners = [key.split("/")[0] for key in keys]
    return sum(1 for before, after in pairwise(owners) if before != after)


RACED_PENDING = 60


def race_resolutions(url: str, worker: int, start: Any) -> tuple[list[str], list[str], list[str]]:
    """Every worker tries to resolve every pending entry; returns (won, refused codes, errors)."""
    won: list[str] = []
    refused: list[str] = []
    errors: list[str] = []
    rng = random.Random(f"race-{worker}")
    ledger = Ledger.connect(url)
    start.wait()  # all connected: now race
    try:
        order = list(range(RACED_PENDING))
        rng.shuffle(order)  # each worker its own order, so the races spread over all of them
        for index in order:
            pending_key, new_key = f"hold/{index}", f"w{worker}/resolve/{index}"
            action = rng.choice(("post", "part", "void"))
            try:
                if action == "void":
                    ledger.void_pending(pending_key, new_key)
                else:
                    part = Money("0.50", "EUR") if action == "part" else None
                    ledger.post_pending(pending_key, new_key, part)
                won.append(pending_key)
            except LedgerError as error:
                refused.append(error.code)
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")
    finally:
        ledger.close()
    return won, refused, errors


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_racing_resolutions_resolve_each_pending_entry_once(
    make_url_for: Callable[[], str],
) -> None:
    url = make_url_for()
    ledger = Ledger.connect(url)
    for code in HOT_ACCOUNTS[:2]:
        ledger.open_account(code, currency="EUR", kind="asset")
    amount = Money("1.00", "EUR")
    ledger.post_many(
        [
            Entry(
                f"hold/{index}",
                [debit(HOT_ACCOUNTS[0], amount), credit(HOT_ACCOUNTS[1], amount)],
                pending=True,
            )
            for index in range(RACED_PENDING)
        ]
    )
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(WORKERS) as pool:
        start = manager.Barrier(WORKERS)
        results = pool.starmap(
            race_resolutions, [(url, worker, start) for worker in range(WORKERS)]
        )
    assert [error for _, _, errors in results for error in errors] == []
    assert sum(1 for keys, _, _ in results if keys) > 1, "one worker won every race"
    won = sorted(key for keys, _, _ in results for key in keys)
    assert won == sorted(f"hold/{index}" for index in range(RACED_PENDING))
    refused = {code for _, codes, _ in results for code in codes}
    assert refused <= {"PENDING_ALREADY_POSTED", "PENDING_ALREADY_VOIDED"}
    assert sum(len(codes) for _, codes, _ in results) == RACED_PENDING * (WORKERS - 1)
    balance = ledger.balance(HOT_ACCOUNTS[0])
    assert balance.debits_pending_minor == 0
    resolutions = [entry for entry in ledger.entries() if entry.pending_key]
    assert sorted(entry.pending_key or "" for entry in resolutions) == won
    posted = sum(p.amount_minor for e in resolutions for p in e.postings if p.side == "debit")
    assert balance.debits_posted_minor == posted
    assert_gap_free(ledger)
    assert ledger.verify().ok
    ledger.close()

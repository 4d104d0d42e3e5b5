"""Obligations submitted concurrently with cut-offs land in exactly one cycle; frozen cycles
never change. Submitters are threads and a separate process; the main thread cuts off while they
run. Runs on PostgreSQL (row locks: FOR SHARE vs FOR UPDATE on the open cycle) and on SQLite
(serial writers)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

from moneyed import Money
from sqlalchemy import func, select

from jiaolong_ledger import Ledger
from jiaolong_ledger.clearing import ObligationRequest
from jiaolong_ledger.clearing.tables import clearing_cycles, clearing_obligations

THREADS = 3
BATCHES = 40
BATCH_SIZE = 5


def submit_batches(
    url: str, worker: str, halfway: Any, results: Any = None
) -> list[dict[int, int]]:
    """Submit BATCHES batches of BATCH_SIZE obligations; returns each batch's cycle counts.

    Halfway, wait until a cut-off has frozen some obligations: then the second half surely
    lands in later cycles than some of the first, whatever the scheduler does (SQLite's lock
    is not fair: a cut-off can otherwise wait until every submitter is done)."""
    ledger = Ledger.connect(url, migrate=False)
    outcomes = []
    try:
        for batch in range(BATCHES):
            if batch == BATCHES // 2:
                assert halfway.wait(timeout=120)
            result = ledger.clearing.submit_many(
                [
                    ObligationRequest(
                        "p" if n % 2 else "q",
                        "q" if n % 2 else "p",
                        Money("1.00", "EUR"),
                        f"{worker}-{batch}-{n}",
                    )
                    for n in range(BATCH_SIZE)
                ]
            )
            outcomes.append(dict(result.cycles))
    finally:
        ledger.close()
    if results is not None:
        results.put(outcomes)
    return outcomes


def test_concurrent_submissions_and_cutoffs(db_url: str) -> None:
    ledger = Ledger.connect(db_url)
    ledger.clearing.register_participant("p", "EUR")
    ledger.clearing.register_participant("q", "EUR")
    ledger.clearing.open_cycle()
    ledger.engine.dispose()  # no pooled connection crosses the fork
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    halfway = context.Event()
    process = context.Process(target=submit_batches, args=(db_url, "proc", halfway, queue))
    process.start()  # forked before any thread of ours runs
    outcomes: list[list[dict[int, int]]] = []
    threads = [
        threading.Thread(target=lambda w=w: outcomes.append(submit_batches(db_url, w, halfway)))
        for w in (f"thread{i}" for i in range(THREADS))
    ]
    for thread in threads:
        thread.start()
    frozen: dict[int, int] = {}
    while any(thread.is_alive() for thread in threads) or process.is_alive():
        cycle = ledger.clearing.cutoff()
        frozen[cycle.id] = cycle.obligations
        if cycle.obligations:
            halfway.set()
        time.sleep(0.01)
    for thread in threads:
        thread.join()
    outcomes.append(queue.get(timeout=60))
    process.join(timeout=60)
    assert process.exitcode == 0
    last = ledger.clearing.cutoff()
    frozen[last.id] = last.obligations

    submitted = (THREADS + 1) * BATCHES * BATCH_SIZE
    with ledger.engine.connect() as connection:
        per_cycle = dict(
            connection.execute(
                select(clearing_obligations.c.cycle_id, func.count()).group_by(
                    clearing_obligations.c.cycle_id
                )
            ).all()
        )
        late = connection.execute(
            select(func.count())
            .select_from(
                clearing_obligations.join(
                    clearing_cycles, clearing_cycles.c.id == clearing_obligations.c.cycle_id
                )
            )
            .where(clearing_obligations.c.submitted_at > clearing_cycles.c.cutoff_at)
        ).scalar_one()
    # Every obligation is stored once, in a cycle that was frozen after it arrived.
    assert sum(per_cycle.values()) == submitted
    assert set(per_cycle) <= set(frozen)
    assert late == 0
    # A frozen cycle holds exactly what it held when it was cut off.
    for cycle_id, count in frozen.items():
        assert per_cycle.get(cycle_id, 0) == count
        assert ledger.clearing.cycle(cycle_id).status == "frozen"
    # Each batch (one transaction) went whole into one cycle; the race was real.
    for worker in outcomes:
        assert len(worker) == BATCHES
        assert all(len(batch) == 1 and sum(batch.values()) == BATCH_SIZE for batch in worker)
    assert len(per_cycle) >= 2
    ledger.close()

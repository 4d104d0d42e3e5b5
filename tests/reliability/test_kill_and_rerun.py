"""SIGKILL during ``jiaolong events ingest FILE`` and ``jiaolong clearing settle N``, then the
same command again: the work is done exactly once (issue 10).

Each case runs the CLI as a real process on a fresh database (SQLite and PostgreSQL) and kills
it at one point: inside a transaction with its rows written and no commit sent (the process
stops itself there through :mod:`cli_stop_hook`), between two committed batches, after the
settlement committed but before its report was printed, as soon as a polled journal holds a
seq drawn from a seeded generator, or after a delay drawn over the second half of a clean run's
duration (the first half is mostly the interpreter starting).

After the kill the ledger verifies (chain intact, balances equal their postings) and holds no
entry a clean run would not write; ingest kept whole batches only, a settlement all of its
entries or none. The same command then runs to its end (a settlement that had committed
answers ``CYCLE_ALREADY_SETTLED``), and the ledger equals that of a clean run of the same input
on a fresh database: the same entries by key (none twice, same postings), the same trial
balance, escrow orders, facilities, cycles, obligations and reports.

With ``JIAOLONG_KILL_SWEEP=1`` the ``slow`` tests sweep 30 kill points per command and backend
instead of 5 (minutes; CI runs the 5).
"""

from __future__ import annotations

import math
import os
import random
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Final

import pytest
from reliability_inputs import (
    INPUT_END,
    ClearingInput,
    EventsFile,
    clearing_cycle,
    escrow_events,
)
from reliability_kill import (
    KillPoint,
    LedgerState,
    Run,
    assert_same_state,
    checked_entries,
    ledger_state,
    run_and_kill,
    run_cli,
)

from jiaolong_ledger import Ledger
from jiaolong_ledger.clearing.settlement import SETTLE_STAGES
from jiaolong_ledger.testing.checks import assert_unchanged, snapshot

SEED: Final = 20261201
KILL_POINTS: Final = 5
KILL_POINTS_SLOW: Final = 30
ORDERS: Final = 200
PARTICIPANTS: Final = 20
OBLIGATIONS: Final = 300
INGEST_BATCH: Final = 25
"""Events per transaction in the sweep: about two dozen batches for ~580 events."""
REGRESSION_EVENTS: Final = 40
REGRESSION_BATCH: Final = 10
"""The regression kill lands after the 10th event: the first batch written, not committed."""
KILLED: Final = -signal.SIGKILL
SWEEP: Final = pytest.mark.skipif(
    not os.environ.get("JIAOLONG_KILL_SWEEP"),
    reason="the 30-point kill sweep takes minutes: set JIAOLONG_KILL_SWEEP=1 to run it",
)

HANDLERS: Final = "jiaolong_ledger.adapters:HANDLERS"
BATCHES: Final = "jiaolong_ledger.adapters:ingest_many"
STAGES: Final = "jiaolong_ledger.clearing.settlement:SettlementRun.__iter__"

UrlFactory = Callable[[], str]


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> tuple[EventsFile, Path]:
    events = escrow_events(orders=ORDERS, seed=SEED)
    return events, events.write(tmp_path_factory.mktemp("events") / "orders.jsonl")


@pytest.fixture(scope="module")
def cycle_input() -> ClearingInput:
    return clearing_cycle(participants=PARTICIPANTS, obligations=OBLIGATIONS, seed=SEED)


def _ingest_database(make_url_for: UrlFactory, events: EventsFile) -> str:
    url = make_url_for()
    with Ledger.connect(url) as ledger:
        events.setup(ledger)
    return url


def _settle_database(make_url_for: UrlFactory, cycle_input: ClearingInput) -> tuple[str, int]:
    url = make_url_for()
    with Ledger.connect(url) as ledger:
        return url, cycle_input.setup(ledger)


def _delay(rng: random.Random, clean: Run) -> KillPoint:
    """A delay in the second half of the clean run's duration (the first is mostly the
    interpreter starting); a busy machine may finish sooner, and the point checks a re-run
    after a complete run instead."""
    delay = rng.uniform(clean.seconds / 2, clean.seconds)
    return KillPoint(f"after {delay:.2f}s of a {clean.seconds:.2f}s run", delay_seconds=delay)


def ingest_points(
    rng: random.Random, count: int, events: int, entries: range, clean: Run
) -> list[KillPoint]:
    """Inside a batch (after a random event), between batches, once a random entry of
    ``entries`` (the seqs the clean run wrote) is committed, after a random delay."""
    batches = math.ceil(events / INGEST_BATCH)
    points = []
    for index in range(count):
        kind = ("event", "seq", "batch", "event", "time")[index % 5]
        if kind == "event":
            number = rng.randint(1, events)
            batch = math.ceil(number / INGEST_BATCH)
            label = f"inside batch {batch}, after event {number}, uncommitted"
            stop = f"after:{HANDLERS}:{number}"
            points.append(KillPoint(label, stop=stop, batches_committed=batch - 1))
        elif kind == "batch":
            batch = rng.randint(2, batches)
            label = f"after batch {batch - 1} committed, before batch {batch}"
            stop = f"before:{BATCHES}:{batch}"
            points.append(KillPoint(label, stop=stop, batches_committed=batch - 1))
        elif kind == "seq":
            seq = rng.choice(entries)
            points.append(KillPoint(f"once seq {seq} is committed", at_seq=seq))
        else:
            points.append(_delay(rng, clean))
    return points


def settle_points(rng: random.Random, count: int, clean: Run) -> list[KillPoint]:
    """All written but not committed, committed but not reported, a random stage, delays."""
    last = len(SETTLE_STAGES)
    points = []
    for index in range(count):
        kind = ("written", "committed", "stage", "time", "time")[index % 5]
        if kind == "written":
            label = f"after stage {SETTLE_STAGES[-1]!r}: everything written, uncommitted"
            points.append(KillPoint(label, stop=f"yield:{STAGES}:{last}"))
        elif kind == "committed":
            label = "after the commit, before the report is printed"
            points.append(KillPoint(label, stop=f"yield:{STAGES}:{last + 1}", committed=True))
        elif kind == "stage":
            stage = rng.randint(1, last - 1)
            label = f"after stage {SETTLE_STAGES[stage - 1]!r}, uncommitted"
            points.append(KillPoint(label, stop=f"yield:{STAGES}:{stage}"))
        else:
            points.append(_delay(rng, clean))
    return points


def _check_killed(killed: Run, point: KillPoint) -> None:
    if point.stop is not None:
        assert killed.killed, f"{point.label}: stop point never reached\n{killed.describe()}"
    if killed.killed:
        assert killed.returncode == KILLED, killed.describe()
    else:  # a delay longer than this run took: it ended on its own, and must have succeeded
        assert killed.returncode == 0, f"{point.label}: {killed.describe()}"


def _after_kill(url: str, clean: LedgerState, point: KillPoint) -> set[str]:
    """The killed ledger verifies and holds only entries a clean run writes; its keys."""
    with Ledger.connect(url, migrate=False) as ledger:
        keys = {entry.key for entry in checked_entries(ledger)}
    foreign = sorted(keys - set(clean.entries))
    assert not foreign, f"{point.label}: entries a clean run does not write: {foreign[:10]}"
    return keys


def _check_whole_batches(url: str, events: EventsFile, point: KillPoint) -> list[int]:
    """The orders placed are those of the first k batches, for some k (the batch the process
    died in left nothing); at a stop point, k is the number of batches committed there."""
    with Ledger.connect(url, migrate=False) as ledger:
        placed = {order.order_id for order in ledger.escrow.orders()}
    batches = math.ceil(len(events.events) / INGEST_BATCH)
    whole = [count for count in range(batches + 1) if placed == events.placed(count * INGEST_BATCH)]
    assert whole, f"{point.label}: the orders placed are not those of whole batches"
    if point.batches_committed is not None:
        assert point.batches_committed in whole, f"{point.label}: batches {whole} committed"
    return whole


def _report(point: KillPoint, killed: Run, found: str, rerun: Run) -> None:
    """One line per kill point (shown with ``pytest -rP``): where the kill landed."""
    how = f"killed after {killed.seconds:.2f}s" if killed.killed else "ended before the kill"
    print(f"{point.label}: {how}; {found}; re-run exit {rerun.returncode} in {rerun.seconds:.2f}s")


# -- events ingest ------------------------------------------------------------------------------


def ingest_sweep(
    make_url_for: UrlFactory, orders: tuple[EventsFile, Path], workdir: Path, count: int
) -> None:
    events, path = orders
    arguments = ["events", "ingest", str(path), "--batch-size", str(INGEST_BATCH)]
    clean_url = _ingest_database(make_url_for, events)
    with Ledger.connect(clean_url, migrate=False) as ledger:
        set_up = snapshot(ledger).entries
    clean_run = run_cli(clean_url, arguments, workdir)
    assert clean_run.returncode == 0, clean_run.describe()
    clean = ledger_state(clean_url, INPUT_END)
    written = range(set_up + 1, len(clean.entries) + 1)
    points = ingest_points(random.Random(SEED), count, len(events.events), written, clean_run)
    for point in points:
        url = _ingest_database(make_url_for, events)
        killed = run_and_kill(url, arguments, point, workdir)
        _check_killed(killed, point)
        keys = _after_kill(url, clean, point)
        whole = _check_whole_batches(url, events, point)
        rerun = run_cli(url, arguments, workdir)
        _report(point, killed, f"{len(keys)} entries, whole batches {whole}", rerun)
        assert rerun.returncode == 0, f"{point.label}: the re-run failed\n{rerun.describe()}"
        assert "Traceback" not in rerun.stderr
        assert_same_state(ledger_state(url, INPUT_END), clean, point.label)


def test_ingest_killed_then_rerun_applies_every_event_once(
    make_url_for: UrlFactory, orders: tuple[EventsFile, Path], tmp_path: Path
) -> None:
    ingest_sweep(make_url_for, orders, tmp_path, KILL_POINTS)


@pytest.mark.slow
@SWEEP
def test_ingest_kill_sweep(
    make_url_for: UrlFactory, orders: tuple[EventsFile, Path], tmp_path: Path
) -> None:
    ingest_sweep(make_url_for, orders, tmp_path, KILL_POINTS_SLOW)


def test_ingest_killed_while_first_batch_is_written_leaves_nothing(
    make_url_for: UrlFactory, orders: tuple[EventsFile, Path], tmp_path: Path
) -> None:
    """Regression: the first batch's rows (escrow accounts, orders, entries) are written and
    not committed when the process dies: nothing of it stays, and the re-run does it all."""
    events = orders[0].head(REGRESSION_EVENTS)
    path = events.write(tmp_path / "head.jsonl")
    arguments = ["events", "ingest", str(path), "--batch-size", str(REGRESSION_BATCH)]
    url = _ingest_database(make_url_for, events)
    with Ledger.connect(url, migrate=False) as ledger:
        before = snapshot(ledger)
    point = KillPoint("first batch written", stop=f"after:{HANDLERS}:{REGRESSION_BATCH}")
    killed = run_and_kill(url, arguments, point, tmp_path)
    assert killed.killed and killed.returncode == KILLED, killed.describe()
    with Ledger.connect(url, migrate=False) as ledger:
        assert_unchanged(ledger, before)
        assert ledger.escrow.orders() == []
        assert ledger.verify().ok
    rerun = run_cli(url, arguments, tmp_path)
    assert rerun.returncode == 0, rerun.describe()
    assert f"ingested {REGRESSION_EVENTS} events" in rerun.stdout

    clean_url = _ingest_database(make_url_for, events)
    clean_run = run_cli(clean_url, arguments, tmp_path)
    assert clean_run.returncode == 0, clean_run.describe()
    assert_same_state(ledger_state(url, INPUT_END), ledger_state(clean_url, INPUT_END), point.label)


def test_killed_batch_that_opens_the_first_cycle_leaves_its_number(
    backend: str,
    make_url_for: UrlFactory,
    orders: tuple[EventsFile, Path],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """A deferred-net order opens the first clearing cycle; if its batch dies uncommitted,
    the re-run's cycle is still cycle 1, as in a clean run (``clearing settle 1``)."""
    first = 1 + next(
        index
        for index, event in enumerate(orders[0].events)
        if event.get("settlement_terms") == "deferred_net"
    )
    events = orders[0].head(first)
    path = events.write(tmp_path / "head.jsonl")
    arguments = ["events", "ingest", str(path), "--batch-size", str(first)]
    url = _ingest_database(make_url_for, events)
    point = KillPoint("the first cycle opened", stop=f"after:{HANDLERS}:{first}")
    killed = run_and_kill(url, arguments, point, tmp_path)
    assert killed.killed and killed.returncode == KILLED, killed.describe()
    rerun = run_cli(url, arguments, tmp_path)
    assert rerun.returncode == 0, rerun.describe()
    with Ledger.connect(url, migrate=False) as ledger:
        assert [cycle.id for cycle in ledger.clearing.cycles()] == [1]


# -- clearing settle ----------------------------------------------------------------------------


def settle_sweep(
    make_url_for: UrlFactory, cycle_input: ClearingInput, workdir: Path, count: int
) -> None:
    clean_url, cycle = _settle_database(make_url_for, cycle_input)
    arguments = ["clearing", "settle", str(cycle)]
    clean_run = run_cli(clean_url, arguments, workdir)
    assert clean_run.returncode == 0, clean_run.describe()
    clean = ledger_state(clean_url, INPUT_END)
    settlement = {
        key
        for key in clean.entries
        if key.startswith(f"clearing/cycle-{cycle}/") or key.endswith(f"/clearing-cycle-{cycle}")
    }
    assert settlement, "the clean settlement posted nothing: the input is too small"
    for point in settle_points(random.Random(SEED), count, clean_run):
        url, same_cycle = _settle_database(make_url_for, cycle_input)
        assert same_cycle == cycle
        killed = run_and_kill(url, arguments, point, workdir)
        _check_killed(killed, point)
        keys = _after_kill(url, clean, point)
        with Ledger.connect(url, migrate=False) as ledger:
            settled = ledger.clearing.cycle(cycle).status == "settled"
        # One transaction: all of the settlement (pay-ins, pay-outs, deductions) or none of it.
        assert keys & settlement == (settlement if settled else set()), point.label
        if point.stop is not None:
            assert settled == point.committed, point.label
        rerun = run_cli(url, arguments, workdir)
        _report(point, killed, "settled" if settled else "not settled", rerun)
        if settled:
            assert rerun.returncode == 1, f"{point.label}: {rerun.describe()}"
            assert "error: CYCLE_ALREADY_SETTLED" in rerun.stderr, point.label
        else:
            assert rerun.returncode == 0, f"{point.label}: the re-run failed\n{rerun.describe()}"
        assert "Traceback" not in rerun.stderr
        assert_same_state(ledger_state(url, INPUT_END), clean, point.label)


def test_settle_killed_then_rerun_settles_once(
    make_url_for: UrlFactory, cycle_input: ClearingInput, tmp_path: Path
) -> None:
    settle_sweep(make_url_for, cycle_input, tmp_path, KILL_POINTS)


@pytest.mark.slow
@SWEEP
def test_settle_kill_sweep(
    make_url_for: UrlFactory, cycle_input: ClearingInput, tmp_path: Path
) -> None:
    settle_sweep(make_url_for, cycle_input, tmp_path, KILL_POINTS_SLOW)

"""Settled value under both unwinds on the same generated days, and what each costs.

    python benchmarks/bench_unwind.py [--days 200] [--participants 1000] [--obligations 100000]
                                      [--short 0.05] [--demo-orders 0] [--postgres URL]

Days (seeded, one currency, amounts 1.00-10,000.00 between random pairs):
- ``--days`` random short days: 8-40 participants, 20-200 obligations, 10-30% of the net payers
  short. Funding: a short payer holds 0-90% of its net debit; every other participant its net
  debit (if any) plus 0-1x the mean obligation (so deferring can push a payee short in turn).
- one large day: ``--participants`` x ``--obligations`` with ``--short`` of them short, funded
  the same way, obligations bulk-loaded straight into the obligations table.
- ``--demo-orders N`` (optional, slow: the demo's earlier steps run first): the demo's trading day
  (``jiaolong demo --orders N --participants --demo-participants``) up to the clearing cut-off.

For each day, on the same frozen cycle: ``settle(cycle, dry_run=True, unwind=...)`` under
``participants`` and ``obligations`` (settled gross, rounds, wall time; dry runs are the same
computation as a settlement minus the postings), then, for the large day, the real settlement
under the default (timed). Printed: settled value as a share of submitted under each unwind, the
ratio obligations/participants (median and worst over the random days), runtimes.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_posting import postgres_schema_url
from common import Result, print_table

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.clearing import CycleReport
from jiaolong_ledger.clearing import participants as participant_rows
from jiaolong_ledger.clearing.model import Participant
from jiaolong_ledger.clearing.tables import clearing_obligations
from jiaolong_ledger.money import minor_to_money

SEED = 20261212
CURRENCY = "EUR"
AMOUNT_RANGE = (100, 1_000_000)
LOAD_CHUNK = 10_000


@dataclass(frozen=True)
class Day:
    participants: int
    obligations: list[tuple[int, int, int]]
    """(payer index, payee index, amount minor)."""
    funds: list[int]
    short: int


def generate(rng: random.Random, participants: int, obligations: int, short_share: float) -> Day:
    """A day of random obligations, every payer funded except ``short_share`` of them."""
    rows = []
    net = [0] * participants
    for _ in range(obligations):
        payer, payee = rng.sample(range(participants), 2)
        amount = rng.randint(*AMOUNT_RANGE)
        rows.append((payer, payee, amount))
        net[payer] -= amount
        net[payee] += amount
    mean = sum(amount for *_, amount in rows) // max(len(rows), 1)
    payers = [i for i in range(participants) if net[i] < 0]
    short = set(rng.sample(payers, min(len(payers), max(1, round(participants * short_share)))))
    funds = [
        int(-net[i] * rng.uniform(0, 0.9)) if i in short else max(-net[i], 0) + rng.randint(0, mean)
        for i in range(participants)
    ]
    return Day(participants, rows, funds, len(short))


def _register(ledger: Ledger, names: list[str]) -> dict[str, int]:
    now = ledger.clock()
    with ledger.transaction() as unit:
        for name in names:
            participant_rows.upsert(unit.connection, Participant(name, CURRENCY), now)
        ids = participant_rows.ids(unit.connection, names)
    with ledger.transaction() as tx:
        tx.ensure_account(f"platform:bank:{CURRENCY}", CURRENCY, "asset")
        for name in names:
            code = f"participant:{name}:cash:{CURRENCY}"
            tx.ensure_account(code, CURRENCY, "liability", "debits_must_not_exceed_credits")
    return ids


def _fund(ledger: Ledger, names: list[str], funds: list[int]) -> None:
    entries = [
        Entry(
            key=f"bench/unwind/deposit/{name}",
            postings=[
                debit(f"platform:bank:{CURRENCY}", minor_to_money(amount, CURRENCY)),
                credit(f"participant:{name}:cash:{CURRENCY}", minor_to_money(amount, CURRENCY)),
            ],
        )
        for name, amount in zip(names, funds, strict=True)
        if amount > 0
    ]
    for start in range(0, len(entries), 5_000):
        ledger.post_many(entries[start : start + 5_000])


Row = dict[str, object]


def _rows(day: Day, ids: list[int], prefix: str, cycle_id: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for number, (payer, payee, amount) in enumerate(day.obligations):
        chunk.append(
            {
                "reference": f"{prefix}-{number}",
                "cycle_id": cycle_id,
                "first_cycle_id": cycle_id,
                "payer_id": ids[payer],
                "payee_id": ids[payee],
                "currency": CURRENCY,
                "settlement_currency": CURRENCY,
                "amount_minor": amount,
            }
        )
        if len(chunk) == LOAD_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_day(ledger: Ledger, day: Day, prefix: str) -> int:
    """Participants, funds and obligations of ``day`` in a cycle of their own; frozen: its id."""
    names = [f"{prefix}-p{index:04d}" for index in range(day.participants)]
    by_name = _register(ledger, names)
    ids = [by_name[name] for name in names]
    _fund(ledger, names, day.funds)
    ledger.clearing.cutoff()  # an earlier day's leftovers stay out of this cycle
    cycle_id = ledger.clearing.open_cycle().id
    stamp = ledger.clock()
    with ledger.transaction() as unit:
        for chunk in _rows(day, ids, prefix, cycle_id):
            for row in chunk:
                row["submitted_at"] = stamp
            unit.connection.execute(clearing_obligations.insert(), chunk)
    if ledger.engine.dialect.name == "postgresql":
        with ledger.engine.connect() as connection:
            connection.exec_driver_sql(f"ANALYZE {clearing_obligations.name}")
            connection.commit()
    frozen = ledger.clearing.cutoff()
    assert frozen.id == cycle_id and frozen.obligations == len(day.obligations), frozen
    return cycle_id


@dataclass(frozen=True)
class Outcome:
    submitted: int
    settled: int
    rounds: int
    deferred: int
    excluded: int
    seconds: float

    @property
    def share(self) -> float:
        return self.settled / self.submitted if self.submitted else 1.0


def preview(ledger: Ledger, cycle_id: int, unwind: str) -> Outcome:
    started = time.perf_counter()
    report = ledger.clearing.settle(cycle_id, dry_run=True, unwind=unwind)
    return outcome(report, time.perf_counter() - started)


def outcome(report: CycleReport, seconds: float) -> Outcome:
    submitted = sum(v.submitted_gross_minor for v in report.settled_value)
    settled = sum(v.settled_gross_minor for v in report.settled_value)
    return Outcome(
        submitted,
        settled,
        report.rounds,
        len(report.deferred),
        len(report.exclusions),
        seconds,
    )


def compare(ledger: Ledger, cycle_id: int) -> tuple[Outcome, Outcome]:
    whole = preview(ledger, cycle_id, "participants")
    single = preview(ledger, cycle_id, "obligations")
    assert single.settled >= whole.settled, (cycle_id, whole, single)
    return whole, single


def _ratio(single: Outcome, whole: Outcome) -> float:
    return single.settled / whole.settled if whole.settled else float("inf")


def bench_random_days(url: str, label: str, count: int) -> list[Result]:
    rng = random.Random(SEED)
    pairs = []
    with Ledger.connect(url) as ledger:
        for index in range(count):
            participants = rng.randint(8, 40)
            day = generate(rng, participants, rng.randint(20, 200), rng.uniform(0.10, 0.30))
            pairs.append(compare(ledger, load_day(ledger, day, f"d{index:03d}")))
    finite = [_ratio(single, whole) for whole, single in pairs if whole.settled]
    nothing = sum(1 for whole, single in pairs if not whole.settled and single.settled)
    better = sum(1 for whole, single in pairs if single.settled > whole.settled)
    note = f"{count} days; obligations better on {better}"
    if nothing:
        note += f"; on {nothing} the participant unwind settled nothing (ratio infinite)"
    share_whole = statistics.median(whole.share for whole, _ in pairs) * 100
    share_single = statistics.median(single.share for _, single in pairs) * 100
    worst_share = min(single.share - whole.share for whole, single in pairs) * 100
    return [
        Result(f"random short days: settled share, participants, {label}", share_whole, "%",
               note="median of settled/submitted value"),
        Result(f"random short days: settled share, obligations, {label}", share_single, "%",
               note=f"median; smallest gain over participants {worst_share:.1f} points"),
        Result(f"random short days: ratio obligations/participants, median, {label}",
               statistics.median(finite), "x", note=note),
        Result(f"random short days: ratio obligations/participants, worst, {label}",
               min(finite), "x", note="never below 1 (asserted per day)"),
        Result(f"random short days: dry run, participants, median, {label}",
               statistics.median(w.seconds for w, _ in pairs) * 1000, "ms", lower_is_better=True,
               note=f"max {max(w.seconds for w, _ in pairs) * 1000:.0f} ms"),
        Result(f"random short days: dry run, obligations, median, {label}",
               statistics.median(s.seconds for _, s in pairs) * 1000, "ms", lower_is_better=True,
               note=f"max {max(s.seconds for _, s in pairs) * 1000:.0f} ms"),
    ]  # fmt: skip


def bench_large_day(
    url: str, label: str, participants: int, obligations: int, short_share: float
) -> list[Result]:
    day = generate(random.Random(SEED + 1), participants, obligations, short_share)
    with Ledger.connect(url) as ledger:
        cycle_id = load_day(ledger, day, "big")
        whole, single = compare(ledger, cycle_id)
        started = time.perf_counter()
        report = ledger.clearing.settle(cycle_id)
        settled = outcome(report, time.perf_counter() - started)
        assert ledger.balance(f"clearing:settlement:{CURRENCY}").is_zero()
        assert settled.settled == single.settled
    size = f"{participants:,} participants, {obligations:,} obligations, {day.short} short"
    return _day_results(f"large day ({size})", label, whole, single, settled)


def _day_results(
    name: str, label: str, whole: Outcome, single: Outcome, settled: Outcome | None
) -> list[Result]:
    results = [
        Result(f"{name}: settled share, participants, {label}", whole.share * 100, "%",
               note=f"{whole.excluded} excluded, {whole.deferred:,} carried, "
                    f"{whole.rounds} rounds; dry run {whole.seconds:.2f} s"),
        Result(f"{name}: settled share, obligations, {label}", single.share * 100, "%",
               note=f"{single.deferred:,} deferred, {single.rounds} rounds; "
                    f"dry run {single.seconds:.2f} s; ratio {_ratio(single, whole):.3f}x"),
    ]  # fmt: skip
    if settled is not None:
        results.append(
            Result(f"{name}: settle (obligations), {label}", settled.seconds, "s",
                   lower_is_better=True, note="one transaction, postings and carry included")
        )  # fmt: skip
    return results


def bench_demo(orders: int, participants: int) -> list[Result]:
    """The demo's day up to the clearing cut-off (SQLite), then both unwinds as dry runs."""
    from jiaolong_ledger.adapters import ingest_many
    from jiaolong_ledger.demo import clearing_step, core_step, escrow_step, financing_step, fx_step
    from jiaolong_ledger.demo.run import DemoContext, participants_for

    with tempfile.TemporaryDirectory() as directory:
        ledger = Ledger.connect(f"sqlite:///{directory}/demo.db")
        context = DemoContext(
            ledger, participants_for(participants), orders, Path(directory), lambda _: None
        )
        for step in (core_step, fx_step, escrow_step, financing_step):
            step.run(context)
        clearing_step._register(context)
        trades, _ = clearing_step._trades(context)
        for start in range(0, len(trades), 5_000):
            ingest_many(ledger, trades[start : start + 5_000])
        frozen = ledger.clearing.cutoff()
        whole, single = compare(ledger, frozen.id)
        ledger.close()
    size = f"{orders:,} orders, {participants} participants, {frozen.obligations:,} obligations"
    return _day_results(f"demo day ({size})", "SQLite", whole, single, None)


def run(
    days: int,
    participants: int,
    obligations: int,
    short_share: float,
    postgres: str | None,
    demo_orders: int = 0,
    demo_participants: int = 50,
) -> list[Result]:
    results = []
    targets = [("SQLite", None)] + ([("PostgreSQL", postgres)] if postgres else [])
    for label, base in targets:
        with tempfile.TemporaryDirectory() as directory:
            small = f"sqlite:///{directory}/days.db" if base is None else postgres_schema_url(base)
            large = f"sqlite:///{directory}/large.db" if base is None else postgres_schema_url(base)
            try:
                results += bench_random_days(small, label, days)
                results += bench_large_day(large, label, participants, obligations, short_share)
            finally:
                if base is not None:
                    _drop_schemas(base, [small, large])
    if demo_orders:
        results += bench_demo(demo_orders, demo_participants)
    return results


def _drop_schemas(base: str, urls: list[str]) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for url in urls:
            schema = make_url(url).query["options"].removeprefix("-csearch_path=")
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=200)
    parser.add_argument("--participants", type=int, default=1_000)
    parser.add_argument("--obligations", type=int, default=100_000)
    parser.add_argument("--short", type=float, default=0.05)
    parser.add_argument("--demo-orders", type=int, default=0)
    parser.add_argument("--demo-participants", type=int, default=50)
    parser.add_argument("--postgres", default=os.environ.get("JIAOLONG_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    print_table(
        run(
            args.days,
            args.participants,
            args.obligations,
            args.short,
            args.postgres,
            args.demo_orders,
            args.demo_participants,
        )
    )


if __name__ == "__main__":
    main()

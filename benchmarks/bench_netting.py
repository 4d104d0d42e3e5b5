"""Netting speed (SPEC §8): 1,000,000 obligations among 1,000 participants in 5 currencies.

    python benchmarks/bench_netting.py [--obligations 1000000] [--participants 1000]
                                       [--postgres URL] [--repeat 3]

Set-up, outside the clock: a fresh database (SQLite file in a temporary directory; PostgreSQL in
a new schema), participants registered, every participant funded in every currency, and the
obligations bulk-loaded straight into ``jl_clearing_obligations`` (``executemany`` on SQLite,
``COPY`` on PostgreSQL) in one open cycle, then cut off. Seeded random payer, payee, currency and
amount (1.00-10,000.00).

Timed:
- ``netting``: ``ledger.clearing.net(cycle)``, the two SQL ``GROUP BY participant, currency``
  aggregations plus building the positions (best of ``--repeat``; every run is printed);
- ``dry run``: ``settle(cycle, dry_run=True)``: netting, funding check of every net payer,
  instructions (greedy beyond 14 positions per currency);
- ``settle``: the real thing once: the same plus pay-in/pay-out entries in one transaction.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_posting import postgres_schema_url
from common import Result, print_table
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.clearing import participants as participant_rows
from jiaolong_ledger.clearing.model import Participant
from jiaolong_ledger.clearing.tables import clearing_obligations

CURRENCIES = ("EUR", "CNY", "KZT", "LAK", "RUB")
SEED = 20261126
LOAD_CHUNK = 100_000
COLUMNS = (
    "reference",
    "cycle_id",
    "first_cycle_id",
    "payer_id",
    "payee_id",
    "currency",
    "settlement_currency",
    "amount_minor",
    "submitted_at",
)


def _setup(url: str, participants: int) -> tuple[Ledger, dict[str, int], int]:
    ledger = Ledger.connect(url)
    now = ledger.clock()
    with ledger.transaction() as unit:
        connection = unit.connection
        for index in range(participants):
            participant_rows.upsert(connection, Participant(f"p{index:04d}", "EUR"), now)
        ids = participant_rows.ids(connection, [f"p{index:04d}" for index in range(participants)])
    with ledger.transaction() as tx:
        for currency in CURRENCIES:
            tx.journal.open_account(f"platform:bank:{currency}", currency, "asset")
            for name in ids:
                tx.journal.open_account(
                    f"participant:{name}:cash:{currency}",
                    currency,
                    "liability",
                    "debits_must_not_exceed_credits",
                )
    deposits = [
        Entry(
            key=f"bench/deposit/{name}/{currency}",
            postings=[
                debit(f"platform:bank:{currency}", Money("100000000.00", currency)),
                credit(f"participant:{name}:cash:{currency}", Money("100000000.00", currency)),
            ],
        )
        for name in ids
        for currency in CURRENCIES
    ]
    ledger.post_many(deposits)
    cycle_id = ledger.clearing.open_cycle().id
    return ledger, ids, cycle_id


def _rows(count: int, ids: list[int], cycle_id: int) -> Iterator[list[tuple[object, ...]]]:
    rng = random.Random(SEED)
    stamp = datetime.now(UTC).replace(tzinfo=None)
    chunk: list[tuple[object, ...]] = []
    for number in range(count):
        payer, payee = rng.sample(ids, 2)
        currency = CURRENCIES[number % len(CURRENCIES)]
        amount = rng.randint(100, 1_000_000)
        chunk.append(
            (f"b{number}", cycle_id, cycle_id, payer, payee, currency, currency, amount, stamp)
        )
        if len(chunk) == LOAD_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _load(ledger: Ledger, count: int, ids: list[int], cycle_id: int) -> float:
    started = time.perf_counter()
    with ledger.engine.begin() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        if connection.dialect.name == "postgresql":
            cursor = raw.cursor()
            with cursor.copy(
                f"COPY {clearing_obligations.name} ({', '.join(COLUMNS)}) FROM STDIN"
            ) as copy:
                for chunk in _rows(count, ids, cycle_id):
                    for row in chunk:
                        copy.write_row(row)
        else:
            placeholders = ", ".join("?" for _ in COLUMNS)
            columns = ", ".join(COLUMNS)
            statement = (
                f"INSERT INTO {clearing_obligations.name} ({columns}) VALUES ({placeholders})"
            )
            cursor = raw.cursor()
            for chunk in _rows(count, ids, cycle_id):
                cursor.executemany(
                    statement, [(*row[:-1], row[-1].isoformat(" ")) for row in chunk]
                )
    if ledger.engine.dialect.name == "postgresql":
        with ledger.engine.connect() as connection:
            connection.exec_driver_sql(f"ANALYZE {clearing_obligations.name}")
            connection.commit()
    return time.perf_counter() - started


def bench(url: str, label: str, obligations: int, participants: int, repeat: int) -> list[Result]:
    ledger, ids, cycle_id = _setup(url, participants)
    load_seconds = _load(ledger, obligations, list(ids.values()), cycle_id)
    frozen = ledger.clearing.cutoff()
    assert frozen.id == cycle_id and frozen.obligations == obligations, frozen
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        netting = ledger.clearing.net(cycle_id)
        runs.append(time.perf_counter() - started)
    assert netting.obligations == obligations
    assert len(netting.summaries) == len(CURRENCIES)
    started = time.perf_counter()
    preview = ledger.clearing.settle(cycle_id, dry_run=True)
    dry_seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = ledger.clearing.settle(cycle_id)
    settle_seconds = time.perf_counter() - started
    assert report.positions == preview.positions and not report.exclusions
    for currency in CURRENCIES:
        assert ledger.balance(f"clearing:settlement:{currency}").is_zero()
    instructions = len(report.instructions)
    ledger.close()
    note = f"{obligations:,} obligations, {participants:,} participants, {len(CURRENCIES)} ccys"
    return [
        Result(
            f"netting, {label}",
            min(runs) * 1000,
            "ms",
            2000 if label == "SQLite" else None,
            lower_is_better=True,
            note=f"{note}; runs (s) " + ", ".join(f"{r:.3f}" for r in runs),
        ),
        Result(
            f"dry run (net + funding + instructions), {label}",
            dry_seconds * 1000,
            "ms",
            lower_is_better=True,
            note=f"{instructions:,} instructions",
        ),
        Result(
            f"settle (one transaction), {label}",
            settle_seconds * 1000,
            "ms",
            lower_is_better=True,
            note=f"{len(report.entry_keys)} entries",
        ),
        Result(f"bulk load (untimed set-up), {label}", load_seconds, "s", lower_is_better=True),
    ]


def run(obligations: int, participants: int, postgres: str | None, repeat: int) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory() as directory:
        results += bench(
            f"sqlite:///{directory}/netting.db", "SQLite", obligations, participants, repeat
        )
    if postgres:
        url = postgres_schema_url(postgres)
        try:
            results += bench(url, "PostgreSQL", obligations, participants, repeat)
        finally:
            _drop_schema(postgres, url)
    return results


def _drop_schema(base: str, url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = make_url(url).query["options"].removeprefix("-csearch_path=")
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--obligations", type=int, default=1_000_000)
    parser.add_argument("--participants", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("JIAOLONG_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    print_table(run(args.obligations, args.participants, args.postgres, args.repeat))


if __name__ == "__main__":
    main()

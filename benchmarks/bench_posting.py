"""Posting throughput (SPEC §8): post_many and single post on SQLite, post_many on PostgreSQL.

    python benchmarks/bench_posting.py [--entries 50000] [--singles 3000] [--postgres URL]

Each measurement uses a fresh database: SQLite files in a temporary directory (WAL,
synchronous=FULL, exactly as ``Ledger.connect`` configures it), PostgreSQL in a new schema.
Entries are two-leg transfers between 100 accounts in one currency, built before the clock
starts; the clock covers validation, hashing, sequencing and the commit.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from moneyed import Money

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Result, print_table

from jiaolong_ledger import Entry, Ledger, credit, debit

ACCOUNTS = 100


def _ledger(url: str, **options: str) -> Ledger:
    ledger = Ledger.connect(url, **options)
    with ledger.transaction() as tx:
        tx.journal.open_account("bench:source:EUR", "EUR", "equity")
        for index in range(ACCOUNTS):
            tx.journal.open_account(f"bench:acct-{index}:EUR", "EUR", "asset")
    return ledger


def _entries(count: int, prefix: str) -> list[Entry]:
    return [
        Entry(
            key=f"{prefix}-{index}",
            postings=[
                debit(f"bench:acct-{index % ACCOUNTS}:EUR", Money(f"{index % 997 + 1}.25", "EUR")),
                credit("bench:source:EUR", Money(f"{index % 997 + 1}.25", "EUR")),
            ],
        )
        for index in range(count)
    ]


def bench_post_many(url: str, count: int, batch: int = 10_000) -> float:
    ledger = _ledger(url)
    entries = _entries(count, "many")
    started = time.perf_counter()
    for start in range(0, count, batch):
        ledger.post_many(entries[start : start + batch])
    elapsed = time.perf_counter() - started
    assert ledger.verify().ok
    ledger.close()
    return count / elapsed


def bench_single(url: str, count: int, **options: str) -> float:
    ledger = _ledger(url, **options)
    entries = _entries(count, "single")
    started = time.perf_counter()
    for entry in entries:
        ledger.post(entry)
    elapsed = time.perf_counter() - started
    ledger.close()
    return count / elapsed


def postgres_schema_url(base: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def run(entries: int = 50_000, singles: int = 3_000, postgres: str | None = None) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory() as directory:
        rate = bench_post_many(f"sqlite:///{directory}/many.db", entries)
        results.append(Result("post_many, 2-leg, SQLite", rate, "entries/s", 50_000))
        rate = bench_single(f"sqlite:///{directory}/single.db", singles)
        results.append(Result("single post per tx, SQLite WAL FULL", rate, "entries/s", 3_000))
        rate = bench_single(
            f"sqlite:///{directory}/normal.db", singles, sqlite_synchronous="NORMAL"
        )
        results.append(
            Result(
                "single post per tx, SQLite WAL NORMAL",
                rate,
                "entries/s",
                note="no fsync per commit: survives app crash, not power loss",
            )
        )
    if postgres:
        rate = bench_post_many(postgres_schema_url(postgres), entries)
        results.append(Result("post_many, 2-leg, PostgreSQL", rate, "entries/s", 20_000))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--singles", type=int, default=3_000)
    parser.add_argument("--postgres", default=os.environ.get("JIAOLONG_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    print_table(run(args.entries, args.singles, args.postgres))


if __name__ == "__main__":
    main()

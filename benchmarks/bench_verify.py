"""Journal verification and export speed (SPEC §8): ``journal verify`` of a 1,000,000-entry
export at >= 100,000 entries/s with flat memory, and export speed from a database.

    python benchmarks/bench_verify.py [--entries 1000000] [--export-entries 100000]
                                      [--postgres URL] [--keep DIR]

The export to verify is written directly in SPEC §5 form with the canonical sealing function
of ``journal/canonical.py`` (the one the engine uses), not posted through the ledger: account
records, then a mix of two-leg transfers, four-leg FX conversions across EUR and CNY, and
pending entries posted later. ``verify_file`` runs in a child process per size so that its
peak RSS (``resource.getrusage``) is its own: run at 1/10 and at full size, equal peaks show
that memory does not grow with the journal. Both the default (a file this large is checked in
chunks by one worker process per CPU) and a single process are measured. Export speed posts
``--export-entries`` entries into a fresh SQLite database (and PostgreSQL with ``--postgres``)
and times each format.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from moneyed import Money

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Result, print_table

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.audit.verify import verify_file
from jiaolong_ledger.journal.canonical import GENESIS_HASH, seal

PARTICIPANTS = 200
CURRENCIES = ("EUR", "CNY")
START = "2026-11-26T08:00:00.000000Z"


def _accounts() -> list[dict[str, Any]]:
    records = []
    for currency in CURRENCIES:
        records.append({"code": f"platform:bank:{currency}", "kind": "asset"})
        records.append({"code": f"fx:position:{currency}", "kind": "equity"})
        for index in range(PARTICIPANTS):
            records.append({"code": f"participant:p{index}:cash:{currency}", "kind": "liability"})
    for record in records:
        record["currency"] = record["code"][-3:]
        record["constraint"] = None
    return records


def _posting(account: str, side: str, amount: str, currency: str) -> dict[str, str]:
    return {"account": account, "side": side, "amount": amount, "currency": currency}


def _entry_body(index: int) -> dict[str, Any]:
    """The index-th generated entry (without seq, times, hashes)."""
    participant = f"participant:p{index % PARTICIPANTS}"
    amount = f"{index % 9973 + 1}.{index % 100:02d}"
    if index % 10 == 7:
        return {
            "key": f"fx-{index}",
            "kind": "fx_conversion",
            "status": "posted",
            "description": "EUR -> CNY",
            "metadata": {"rate": "7.8125"},
            "postings": [
                _posting(f"{participant}:cash:EUR", "debit", "10.00", "EUR"),
                _posting("fx:position:EUR", "credit", "10.00", "EUR"),
                _posting("fx:position:CNY", "debit", "78.13", "CNY"),
                _posting(f"{participant}:cash:CNY", "credit", "78.13", "CNY"),
            ],
        }
    if index % 10 == 8:
        return {
            "key": f"hold-{index}",
            "kind": "pending",
            "status": "pending",
            "description": "hold",
            "metadata": {},
            "postings": [
                _posting(f"{participant}:cash:EUR", "debit", "1.00", "EUR"),
                _posting("platform:bank:EUR", "credit", "1.00", "EUR"),
            ],
        }
    if index % 10 == 9:
        participant = f"participant:p{(index - 1) % PARTICIPANTS}"
        return {
            "key": f"hold-{index - 1}/post",
            "kind": "post_pending",
            "status": "posted",
            "description": "",
            "metadata": {},
            "pending_key": f"hold-{index - 1}",
            "postings": [
                _posting(f"{participant}:cash:EUR", "debit", "1.00", "EUR"),
                _posting("platform:bank:EUR", "credit", "1.00", "EUR"),
            ],
        }
    currency = CURRENCIES[index % 2]
    return {
        "key": f"order-{index}/fund",
        "kind": "escrow_fund" if index % 3 else "transfer",
        "status": "posted",
        "description": f"order {index} of {participant} — 蜀锦",
        "metadata": {"order": str(index), "city": "Chengdu"},
        "postings": [
            _posting(f"platform:bank:{currency}", "debit", amount, currency),
            _posting(f"{participant}:cash:{currency}", "credit", amount, currency),
        ],
    }


def write_export(path: Path, entries: int) -> None:
    prev_hash, seq = GENESIS_HASH, 0
    with open(path, "w", encoding="utf-8", newline="\n") as handle:

        def emit(body: dict[str, Any]) -> None:
            nonlocal prev_hash, seq
            seq += 1
            body.update(seq=seq, prev_hash=prev_hash, effective_at=START, recorded_at=START)
            prev_hash, line = seal(body)
            handle.write(line)
            handle.write("\n")

        for account in _accounts():
            emit(
                {
                    "key": f"open_account:{account['code']}#{seq + 1}",
                    "kind": "open_account",
                    "status": "posted",
                    "description": "",
                    "metadata": {},
                    "postings": [],
                    "account": account,
                }
            )
        index = 0
        while seq < entries:
            emit(_entry_body(index))
            index += 1


def _cpu_seconds() -> float:
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _verify_child(path: str, workers: int | None, queue: Any) -> None:
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    report = verify_file(path, workers=workers)
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    queue.put(
        (
            report.ok,
            report.entries,
            elapsed,
            cpu,
            own.ru_maxrss,
            children.ru_maxrss,
            report.findings_total,
        )
    )


def measure_verify(path: Path, workers: int | None) -> tuple[int, float, float, int, int]:
    """(entries, wall s, CPU s of all processes, peak RSS KiB of the verifier, of a worker)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_verify_child, args=(str(path), workers, queue))
    child.start()
    ok, entries, elapsed, cpu, main_kib, worker_kib, findings = queue.get()
    child.join()
    assert ok, f"generated export failed verification ({findings} findings)"
    return entries, elapsed, cpu, main_kib, worker_kib


def _postgres_url(base: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return (
        make_url(base)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def measure_export(url: str, entries: int, out_dir: Path, label: str) -> list[Result]:
    ledger = Ledger.connect(url)
    with ledger.transaction() as tx:
        for account in _accounts():
            tx.journal.open_account(account["code"], account["currency"], account["kind"])
    for start in range(0, entries, 10_000):
        batch = []
        for index in range(start, min(entries, start + 10_000)):
            currency = CURRENCIES[index % 2]
            amount = Money(f"{index % 9973 + 1}.{index % 100:02d}", currency)
            batch.append(
                Entry(
                    key=f"order-{index}/fund",
                    kind="escrow_fund",
                    description=f"order {index}",
                    metadata={"order": str(index)},
                    postings=[
                        debit(f"platform:bank:{currency}", amount),
                        credit(f"participant:p{index % PARTICIPANTS}:cash:{currency}", amount),
                    ],
                )
            )
        ledger.post_many(batch)
    results = []
    for fmt in ("jsonl", "beancount", "csv"):
        target = out_dir / f"export-{label}.{fmt}"
        started = time.perf_counter()
        count = ledger.export_journal(target, format=fmt)
        rate = count / (time.perf_counter() - started)
        results.append(
            Result(f"export {fmt} ({label})", rate, "entries/s", note=f"{count:,} entries")
        )
    ledger.close()
    return results


def run(
    entries: int = 1_000_000,
    export_entries: int = 100_000,
    postgres: str | None = None,
    keep: Path | None = None,
) -> list[Result]:
    with tempfile.TemporaryDirectory() as scratch:
        out_dir = keep or Path(scratch)
        out_dir.mkdir(parents=True, exist_ok=True)
        results = []
        peaks = []
        for size in (max(1_000, entries // 10), entries):
            path = out_dir / f"journal-{size}.jsonl"
            started = time.perf_counter()
            write_export(path, size)
            written = time.perf_counter() - started
            mib = path.stat().st_size / 2**20
            for workers, label in ((None, "default workers"), (1, "one process")):
                verified, elapsed, cpu, main_kib, worker_kib = measure_verify(path, workers)
                if workers is None:
                    peaks.append(max(main_kib, worker_kib))
                results.append(
                    Result(
                        f"verify_file {verified:,} entries, {label}",
                        verified / elapsed,
                        "entries/s",
                        target=100_000,
                        note=f"{elapsed:.2f} s, {verified / cpu:,.0f} entries per CPU-second; "
                        f"load {os.getloadavg()[0]:.1f}; peak RSS {main_kib / 1024:.0f} MiB"
                        + (f", workers {worker_kib / 1024:.0f} MiB" if worker_kib else "")
                        + f"; {mib:.0f} MiB file written in {written:.1f} s",
                    )
                )
        growth = (peaks[1] - peaks[0]) / 1024
        results.append(
            Result(
                "verify peak RSS growth, 10x entries",
                growth,
                "MiB",
                note=f"{peaks[0] / 1024:.0f} -> {peaks[1] / 1024:.0f} MiB (largest process)",
            )
        )
        sqlite_url = f"sqlite:///{out_dir}/export-bench.db"
        results += measure_export(sqlite_url, export_entries, out_dir, "sqlite")
        if postgres:
            results += measure_export(_postgres_url(postgres), export_entries, out_dir, "postgres")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--export-entries", type=int, default=100_000)
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL for export speed too")
    parser.add_argument("--keep", type=Path, default=None, help="Keep files in this directory")
    args = parser.parse_args()
    results = run(args.entries, args.export_entries, args.postgres, args.keep)
    print_table(results)
    print(json.dumps({r.name: round(r.value, 1) for r in results}))


if __name__ == "__main__":
    main()

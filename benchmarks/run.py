"""Run every SPEC §8 benchmark and print one table.

    python benchmarks/run.py [--quick] [--postgres URL]

PostgreSQL figures are included when ``--postgres`` (or ``JIAOLONG_TEST_POSTGRES_URL``) is set.
``--quick`` runs each at a tenth of its size, to check the scripts rather than the machine.
Figures depend on the machine and its load: each verify row notes the load average it ran under.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_netting
import bench_posting
import bench_unwind
import bench_verify
from common import Result, print_table


def bench_demo() -> Result:
    """Wall time of the default ``jiaolong demo``, as a newcomer runs it (new process)."""
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "jiaolong_ledger.cli", "demo", "--out", directory],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        elapsed = time.perf_counter() - started
    return Result("jiaolong demo, default size", elapsed, "s wall", 10, lower_is_better=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of every size")
    parser.add_argument("--postgres", default=os.environ.get("JIAOLONG_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    results = bench_posting.run(50_000 // scale, 3_000 // scale, args.postgres)
    results += bench_netting.run(1_000_000 // scale, 1_000, args.postgres, 3)
    results += bench_verify.run(1_000_000 // scale, 100_000 // scale, args.postgres)
    results += bench_unwind.run(200 // scale, 1_000 // scale, 100_000 // scale, 0.05, args.postgres)
    results.append(bench_demo())
    print_table(results)


if __name__ == "__main__":
    main()

"""Run the ``jiaolong`` CLI as a real process, SIGKILL it at a chosen point, compare ledgers.

A :class:`KillPoint` is a delay (SIGKILL after that many seconds of wall time), a journal seq
(SIGKILL as soon as a poll sees it committed: the process is then somewhere in the work after
it), or a stop point of :mod:`cli_stop_hook` (the process stops itself there and is SIGKILLed
while stopped, so the kill lands exactly inside a transaction or between two).

:func:`ledger_state` reads what a user would compare after a crash and a re-run, once
``Ledger.verify()`` found the chain and the balances intact, seq gap-free and no key twice:
every entry by key, the trial balance, the escrow orders, the credit facilities, the clearing
cycles with their obligations and stored reports. Times that only say when a command ran
(recorded_at, a settlement's or an account opening's time) are left out: a re-run after a
crash cannot have the clean run's clock.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from jiaolong_ledger import Ledger, PostedEntry

CLI: Final = (sys.executable, "-m", "jiaolong_ledger.cli")
STOP_HOOK: Final = Path(__file__).with_name("cli_stop_hook.py")
RUN_TIMEOUT_SECONDS: Final = 300.0
"""Far above any run here: reached only if a process hangs (then the test fails, it does not
wait forever)."""

RUN_FIELDS: Final = ("seq", "recorded_at", "prev_hash", "hash")
"""Entry fields that depend on the run (position in the chain, clock), not on the input."""


@dataclass(frozen=True)
class KillPoint:
    label: str
    delay_seconds: float | None = None
    stop: str | None = None
    """A :mod:`cli_stop_hook` spec: ``MODE:MODULE:ATTRIBUTE:N``."""
    committed: bool = False
    """The stop point comes after the command's (last) commit."""
    batches_committed: int | None = None
    """For a stop point of a batched command: how many batches have committed there."""
    at_seq: int | None = None
    """SIGKILL as soon as the journal holds this seq (polled): wherever the work then is."""


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    killed: bool

    def describe(self) -> str:
        return (
            f"exit {self.returncode}\nstdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-4000:]}"
        )


class _Outputs:
    """stdout/stderr into files (a pipe nobody reads could block the child)."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        stamp = f"{os.getpid()}-{time.monotonic_ns()}"
        self.paths = (workdir / f"out-{stamp}.txt", workdir / f"err-{stamp}.txt")
        self.files = [path.open("wb") for path in self.paths]

    def read(self) -> tuple[str, str]:
        for file in self.files:
            file.close()
        out, err = (path.read_text(encoding="utf-8", errors="replace") for path in self.paths)
        return out, err


def _command(url: str, arguments: list[str], stop: str | None) -> list[str]:
    if stop is None:
        return [*CLI, "--db", url, *arguments]
    return [sys.executable, str(STOP_HOOK), stop, "--", "--db", url, *arguments]


def run_cli(url: str, arguments: list[str], workdir: Path) -> Run:
    """Run ``jiaolong --db URL ARGUMENTS`` to its end."""
    outputs = _Outputs(workdir)
    started = time.monotonic()
    process = subprocess.Popen(
        _command(url, arguments, None), stdout=outputs.files[0], stderr=outputs.files[1]
    )
    returncode = process.wait(timeout=RUN_TIMEOUT_SECONDS)
    seconds = time.monotonic() - started
    return Run(returncode, *outputs.read(), seconds=seconds, killed=False)


def run_and_kill(url: str, arguments: list[str], point: KillPoint, workdir: Path) -> Run:
    """Run the command and SIGKILL it at ``point`` (``killed`` is False if it ended first)."""
    outputs = _Outputs(workdir)
    started = time.monotonic()
    process = subprocess.Popen(
        _command(url, arguments, point.stop), stdout=outputs.files[0], stderr=outputs.files[1]
    )
    if point.stop is not None:
        returncode, killed = _kill_when_stopped(process)
    elif point.at_seq is not None:
        returncode, killed = _kill_at_seq(process, url, point.at_seq)
    else:
        assert point.delay_seconds is not None
        try:
            returncode = process.wait(timeout=point.delay_seconds)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            returncode = process.wait(timeout=RUN_TIMEOUT_SECONDS)
        # It may have ended on its own just as the delay ran out.
        killed = returncode == -signal.SIGKILL
    seconds = time.monotonic() - started
    return Run(returncode, *outputs.read(), seconds=seconds, killed=killed)


def _kill_when_stopped(process: subprocess.Popen[bytes]) -> tuple[int, bool]:
    """Wait until the child stops itself (SIGSTOP) or exits; SIGKILL it if it stopped."""
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while True:
        pid, status = os.waitpid(process.pid, os.WUNTRACED | os.WNOHANG)
        if pid == 0:
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise AssertionError(f"process {process.args!r} neither stopped nor ended")
            time.sleep(0.005)
            continue
        if os.WIFSTOPPED(status):
            process.send_signal(signal.SIGKILL)
            return process.wait(timeout=RUN_TIMEOUT_SECONDS), True
        # It ended before the stop point; its status is ours now, not Popen's.
        process.returncode = os.waitstatus_to_exitcode(status)
        return process.returncode, False


def _kill_at_seq(process: subprocess.Popen[bytes], url: str, seq: int) -> tuple[int, bool]:
    """Poll the journal; SIGKILL the process once it holds ``seq`` (if it is still running)."""
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    with Ledger.connect(url, migrate=False) as ledger:
        while process.poll() is None:
            if list(ledger.journal_lines(seq, seq)):  # at most one line; read to its end
                process.send_signal(signal.SIGKILL)
                returncode = process.wait(timeout=RUN_TIMEOUT_SECONDS)
                return returncode, returncode == -signal.SIGKILL
            assert time.monotonic() < deadline, f"process {process.args!r} hangs"
            time.sleep(0.01)
    return process.returncode, False


# -- what a ledger holds ------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerState:
    entries: dict[str, Any]
    trial_balance: list[Any]
    escrow: list[Any]
    facilities: list[Any]
    cycles: list[Any]
    obligations: dict[int, Any]
    reports: dict[int, Any]


CLOCK: Final = "<stamped by the clock>"
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def without_clock(value: Any, clock_after: datetime) -> Any:
    """``value`` with every timestamp later than ``clock_after`` (none of the input's: the
    time a command ran) replaced by :data:`CLOCK`."""
    if isinstance(value, dict):
        return {key: without_clock(item, clock_after) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_clock(item, clock_after) for item in value]
    if isinstance(value, datetime):
        return CLOCK if value > clock_after else value.isoformat()
    if isinstance(value, str) and _TIMESTAMP.match(value):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return CLOCK if parsed > clock_after else value
    return value


def checked_entries(ledger: Ledger) -> list[PostedEntry]:
    """The journal, after ``verify()`` found it intact, seq gap-free and no key twice."""
    report = ledger.verify()
    assert report.ok, f"verify failed: {report.findings[:5]!r}"
    entries = list(ledger.entries())
    seqs = [entry.seq for entry in entries]
    assert seqs == list(range(1, len(entries) + 1)), f"seq is not gap-free: {seqs[:20]}..."
    twice = sorted(key for key, count in Counter(e.key for e in entries).items() if count > 1)
    assert not twice, f"keys posted twice: {twice[:10]}"
    return entries


def _entry(entry: PostedEntry) -> dict[str, Any]:
    content = entry.to_json()
    for name in RUN_FIELDS:
        del content[name]
    return content


def ledger_state(url: str, clock_after: datetime) -> LedgerState:
    """What the ledger at ``url`` holds, the times a command ran left out (``clock_after``).

    Clearing cycles are named by their rank (1 for the oldest): on PostgreSQL a transaction
    rolled back (or killed) after opening a cycle uses up that cycle's id, so a re-run after a
    crash may number its cycles from 2 (``test_killed_batch_that_opens_the_first_cycle``)."""
    with Ledger.connect(url, migrate=False) as ledger:
        entries = checked_entries(ledger)
        cycles = ledger.clearing.cycles()
        rank = {cycle.id: number for number, cycle in enumerate(cycles, start=1)}
        state = LedgerState(
            entries={entry.key: _entry(entry) for entry in entries},
            trial_balance=ledger.trial_balance().to_dict()["rows"],
            escrow=[order.to_dict() for order in ledger.escrow.orders()],
            facilities=[facility.to_dict() for facility in ledger.financing.facilities()],
            cycles=[{**cycle.to_dict(), "cycle": rank[cycle.id]} for cycle in cycles],
            obligations={
                rank[cycle.id]: [
                    {
                        **item.to_dict(),
                        "cycle": rank[item.cycle_id],
                        "first_cycle": rank[item.first_cycle_id],
                    }
                    for item in ledger.clearing.obligations(cycle.id)
                ]
                for cycle in cycles
            },
            reports={
                rank[cycle.id]: _ranked_report(ledger.clearing.report(cycle.id).to_dict(), rank)
                for cycle in cycles
                if cycle.status == "settled"
            },
        )
    return LedgerState(
        **{
            name: without_clock(getattr(state, name), clock_after)
            for name in LedgerState.__dataclass_fields__
        }
    )


def _ranked_report(report: dict[str, Any], rank: dict[int, int]) -> dict[str, Any]:
    carried = report["carried_to_cycle"]
    return {
        **report,
        "cycle": rank[report["cycle"]],
        "carried_to_cycle": None if carried is None else rank[carried],
    }


def _differences(found: Any, expected: Any, limit: int = 5) -> str:
    if isinstance(found, dict) and isinstance(expected, dict):
        missing = sorted(set(expected) - set(found), key=str)
        extra = sorted(set(found) - set(expected), key=str)
        changed = [key for key in expected if key in found and found[key] != expected[key]]
        lines = [f"missing {missing[:limit]}", f"extra {extra[:limit]}"]
        lines += [
            f"{key}: {json.dumps(found[key], default=str)} != "
            f"{json.dumps(expected[key], default=str)}"
            for key in changed[:limit]
        ]
        return f"{len(missing)} missing, {len(extra)} extra, {len(changed)} changed\n" + "\n".join(
            lines
        )
    if isinstance(found, list) and isinstance(expected, list):
        pairs = [(a, b) for a, b in zip(found, expected, strict=False) if a != b]
        return f"lengths {len(found)} vs {len(expected)}; first differences {pairs[:limit]}"
    return f"{found!r} != {expected!r}"


def assert_same_state(found: LedgerState, expected: LedgerState, context: str) -> None:
    for name in LedgerState.__dataclass_fields__:
        mine, theirs = getattr(found, name), getattr(expected, name)
        assert mine == theirs, f"{context}: {name} differ: {_differences(mine, theirs)}"

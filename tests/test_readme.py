"""README.md stays true: its command-line tour runs as written, top to bottom, in an empty folder,
and its Python snippet runs (twice: the second run is a no-op that prints the same balance).

The tour's ``bash`` block runs under ``bash`` with ``set -euo pipefail`` in a fresh temporary
directory, with ``jiaolong`` defined as this interpreter's ``python -m jiaolong_ledger.cli`` (so
the package under test is the one that runs, whatever is on ``PATH``). SQLite only: the tour
uses the embedded default database in its folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TOUR_HEADING = "## The command line"
PYTHON_HEADING = "## Use it from Python"

PRELUDE = """set -euo pipefail
jiaolong() { "$PYTHON" -m jiaolong_ledger.cli "$@"; }
"""

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the tour needs bash")


def fenced_block(heading: str, language: str) -> str:
    """The first fenced ``language`` block after ``heading`` in the README."""
    text = README.read_text(encoding="utf-8")
    start = text.index(heading)
    lines = text[start:].splitlines()
    opening = lines.index(f"```{language}")
    closing = lines.index("```", opening + 1)
    return "\n".join(lines[opening + 1 : closing]) + "\n"


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("JIAOLONG_")  # the tour's database is the default in its folder
    }
    env.update(
        PYTHON=sys.executable,
        PYTHONIOENCODING="utf-8",
        HOME=str(tmp_path),
        NO_COLOR="1",
        COLUMNS="200",
    )
    return env


def test_the_tour_runs_as_written_in_an_empty_folder(tmp_path: Path) -> None:
    tour = fenced_block(TOUR_HEADING, "bash")
    script = tmp_path / "tour.sh"
    script.write_text(PRELUDE + tour, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()

    result = subprocess.run(
        ["bash", str(script)],
        cwd=work,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    out = result.stdout
    assert "error:" not in result.stderr
    assert "2 posted, 0 already present" in out
    assert "imported 6 new rates" in out
    assert "ingested 3 events" in out
    assert "submitted 2 obligations (0 duplicates skipped)" in out
    assert "cycle 1 frozen at" in out
    assert "DRY RUN (nothing posted)" in out
    assert "clearing cycle 1: settled" in out
    assert out.rstrip().splitlines()[-1].startswith("ok: ")  # journal verify
    for made in (
        "entries.jsonl",
        "eurofxref-hist.csv",
        "orders.jsonl",
        "obligations.jsonl",
        "out/cycle-1.json",
        "out/cycle-1.pain.001.001.09.xml",
        "journal.jsonl",
        "journal.beancount",
    ):
        assert (work / made).is_file(), made


def test_the_python_snippet_runs_twice(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(fenced_block(PYTHON_HEADING, "python"), encoding="utf-8")
    for run in (1, 2):
        result = subprocess.run(
            [sys.executable, str(snippet)],
            cwd=tmp_path,
            env=_environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"run {run}:\n{result.stdout}\n{result.stderr}"
        # Money's str puts a no-break space between the sign and the amount.
        printed = result.stdout.strip().replace("\N{NO-BREAK SPACE}", " ")
        assert printed == "€ 100.00", f"run {run}: {result.stdout!r}"

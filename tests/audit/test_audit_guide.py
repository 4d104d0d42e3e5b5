"""The standard-library script in docs/audit-guide.md really verifies an export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jiaolong_ledger import Ledger

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "audit-guide.md"
MARKER = "<!-- auditor-script -->"


@pytest.fixture
def script(tmp_path: Path) -> Path:
    text = GUIDE.read_text(encoding="utf-8")
    block = text.split(MARKER, 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "check_journal.py"
    path.write_text(block, encoding="utf-8")
    return path


def _run(script: Path, journal: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(script), str(journal)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_auditor_script_accepts_a_clean_export(
    full_ledger: Ledger, script: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    full_ledger.export_journal(journal)
    result = _run(script, journal)
    head = full_ledger.verify().last_hash
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(f"head {head}: ok")


def test_auditor_script_finds_a_changed_amount(
    full_ledger: Ledger, script: Path, tmp_path: Path
) -> None:
    lines = list(full_ledger.journal_lines())
    seq = full_ledger.entry("order-42/fund").seq
    lines[seq - 1] = lines[seq - 1].replace('"1000.00"', '"1000.01"', 1)
    journal = tmp_path / "tampered.jsonl"
    journal.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _run(script, journal)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == f"seq {seq}: hash, balance broken"
    assert json.loads(lines[seq]) is not None

"""The cut-off digest: a ``cycle_cutoff`` record in the journal chain, named by the cycle's
settlement entries, recomputed by the stdlib recipe of docs/audit-guide.md from
``jiaolong clearing export-obligations``."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from clearing_helpers import fund
from click.testing import CliRunner, Result
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.errors import InvalidEntryError

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "audit-guide.md"
MARKER = "<!-- cutoff-digest-script -->"

OBLIGATIONS = [
    {"payer": "lyon", "payee": "lodz", "amount": "300.00", "currency": "EUR", "reference": "r2"},
    {"payer": "lodz", "payee": "lyon", "amount": "120.00", "currency": "EUR", "reference": "r1"},
    {"payer": "lodz", "payee": "kyoto", "amount": "50.00", "currency": "EUR", "reference": "r10"},
    {"payer": "kyoto", "payee": "lyon", "amount": "999.00", "currency": "EUR", "reference": "r3"},
    {"payer": "lyon", "payee": "kyoto", "amount": "7.00", "currency": "EUR", "reference": "gone"},
]


def run(db_url: str, *args: str) -> Result:
    from jiaolong_ledger.cli.main import cli

    return CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    text = GUIDE.read_text(encoding="utf-8")
    block = text.split(MARKER, 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "check_cutoff.py"
    path.write_text(block, encoding="utf-8")
    return path


@pytest.fixture
def cut(db_url: str, tmp_path: Path) -> str:
    """Three participants, five obligations (one cancelled), cycle 1 cut off."""
    for name in ("lyon", "lodz", "kyoto"):
        assert run(db_url, "clearing", "register", name, "--currency", "EUR").exit_code == 0
    with Ledger.connect(db_url) as ledger:
        fund(ledger, "lyon", "EUR", "1000.00")
        fund(ledger, "lodz", "EUR", "10.00")
        fund(ledger, "kyoto", "EUR", "100.00")
    path = tmp_path / "obligations-in.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in OBLIGATIONS), encoding="utf-8")
    assert run(db_url, "clearing", "submit", str(path)).exit_code == 0
    assert run(db_url, "clearing", "cancel", "gone").exit_code == 0
    assert run(db_url, "clearing", "cutoff").exit_code == 0
    return db_url


def _records(ledger: Ledger) -> list[dict[str, Any]]:
    return [obj for obj in map(json.loads, ledger.journal_lines()) if obj["kind"] == "cycle_cutoff"]


def _recipe(script: Path, obligations: Path, journal: Path, cycle: int) -> str:
    result = subprocess.run(
        [sys.executable, "-I", str(script), str(obligations), str(journal), str(cycle)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_cutoff_record_export_and_recipe(cut: str, tmp_path: Path, script: Path) -> None:
    with Ledger.connect(cut) as ledger:
        (record,) = _records(ledger)
    assert record["key"] == "cycle_cutoff:1" and record["postings"] == []
    assert (record["cycle"], record["obligations"]) == (1, 4)
    assert record["status"] == "posted" and record["metadata"] == {}

    exported = tmp_path / "obligations-1.jsonl"
    result = run(cut, "clearing", "export-obligations", "1", str(exported), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["digest"] == record["digest"]
    lines = exported.read_text(encoding="utf-8").splitlines()
    objects = [json.loads(line) for line in lines]
    assert [o["reference"] for o in objects] == ["r1", "r10", "r2", "r3"]  # sorted, no "gone"
    assert set(objects[0]) == {
        "reference",
        "payer",
        "payee",
        "amount",
        "currency",
        "settlement_currency",
        "submitted_at",
    }
    assert objects[0]["amount"] == "120.00" and objects[0]["submitted_at"].endswith("Z")
    canonical = json.dumps(objects, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == record["digest"]

    journal = tmp_path / "journal.jsonl"
    assert run(cut, "journal", "export", "-o", str(journal)).exit_code == 0
    assert _recipe(script, exported, journal, 1).strip().endswith(f"{record['digest']}: ok")


def test_settlement_entries_name_the_digest_and_export_survives_settlement(
    cut: str, tmp_path: Path, script: Path
) -> None:
    settled = run(cut, "clearing", "settle", "1")
    assert settled.exit_code == 0, settled.output
    with Ledger.connect(cut) as ledger:
        (record,) = _records(ledger)
        settlements = [
            obj for obj in map(json.loads, ledger.journal_lines()) if obj["kind"] == "settlement"
        ]
        assert ledger.verify().ok
    assert settlements
    assert {obj["metadata"]["cutoff_digest"] for obj in settlements} == {record["digest"]}
    assert all(obj["seq"] > record["seq"] for obj in settlements)
    # deferred obligations (kyoto is short) are carried on but stay in cycle 1's frozen set
    exported = tmp_path / "after.jsonl"
    assert run(cut, "clearing", "export-obligations", "1", str(exported)).exit_code == 0
    journal = tmp_path / "journal.jsonl"
    assert run(cut, "journal", "export", "-o", str(journal)).exit_code == 0
    _recipe(script, exported, journal, 1)


def test_next_cut_off_records_its_own_digest(cut: str) -> None:
    assert run(cut, "clearing", "cutoff").exit_code == 0  # cycle 2: empty set
    with Ledger.connect(cut) as ledger:
        records = _records(ledger)
    assert [(r["cycle"], r["obligations"]) for r in records] == [(1, 4), (2, 0)]
    empty = hashlib.sha256(b"[]").hexdigest()
    assert records[1]["digest"] == empty and records[1]["key"] == "cycle_cutoff:2"


def test_export_of_an_open_cycle_is_refused(cut: str, tmp_path: Path) -> None:
    from jiaolong_ledger.cli.main import cli

    target = tmp_path / "open.jsonl"
    result = CliRunner().invoke(
        cli, ["--db", cut, "clearing", "export-obligations", "2", str(target)]
    )
    assert result.exit_code != 0
    assert "CYCLE_NOT_FROZEN" in result.stderr and "still open" in result.stderr
    assert not target.exists()


def test_export_checks_its_output_path(cut: str, tmp_path: Path) -> None:
    from jiaolong_ledger.cli.main import cli

    missing = tmp_path / "no-such-folder" / "out.jsonl"
    result = CliRunner().invoke(
        cli, ["--db", cut, "clearing", "export-obligations", "1", str(missing)]
    )
    assert result.exit_code == 2 and "INVALID_INPUT" in result.stderr


def test_a_client_cannot_take_a_cutoff_key(ledger: Ledger) -> None:
    with ledger.transaction() as tx:
        tx.ensure_account("a", "EUR", "asset")
        tx.ensure_account("b", "EUR", "asset")
    entry = Entry(
        key="cycle_cutoff:9",
        postings=[debit("a", Money("1.00", "EUR")), credit("b", Money("1.00", "EUR"))],
    )
    with pytest.raises(InvalidEntryError):
        ledger.post(entry)

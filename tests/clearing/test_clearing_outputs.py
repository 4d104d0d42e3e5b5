"""Output paths of ``clearing settle`` are checked before anything is committed; a write that
fails after the commit says what was committed and the command that writes the file again;
``clearing export-iso20022`` is that command. Also: a refused cut-off prints only its error."""

from __future__ import annotations

import errno
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from clearing_helpers import fund
from click.testing import CliRunner, Result
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.clearing import iso20022
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.testing import assert_unchanged, snapshot

ISO_FILE = "cycle-1.pain.001.001.09.xml"


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args])


@pytest.fixture
def frozen(ledger: Ledger, db_url: str) -> str:
    """Cycle 1 frozen: lyon owes lodz 300.00, lodz owes lyon 120.00 (one instruction)."""
    clearing = ledger.clearing
    clearing.register_participant("lyon", "EUR", iban="FR1420041010050500013M02606")
    clearing.register_participant("lodz", "EUR", iban="PL61109010140000071219812874")
    fund(ledger, "lyon", "EUR", "1000.00")
    clearing.submit("lyon", "lodz", Money("300.00", "EUR"), "r1")
    clearing.submit("lodz", "lyon", Money("120.00", "EUR"), "r2")
    clearing.cutoff()
    return db_url


def status(ledger: Ledger) -> str:
    return ledger.clearing.cycle(1).status


@pytest.mark.parametrize(
    "option",
    [["--report", "missing/report.json"], ["--iso20022", "missing"], ["--report", "."]],
    ids=["report-folder-missing", "iso-folder-missing", "report-is-a-directory"],
)
def test_an_unwritable_output_refuses_before_settling(
    frozen: str, ledger: Ledger, tmp_path: Path, option: list[str], monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    before = snapshot(ledger)
    result = run(frozen, "clearing", "settle", "1", *option)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: INVALID_INPUT: output ")
    assert "Traceback" not in result.output
    assert status(ledger) == "frozen"
    assert_unchanged(ledger, before)
    # Nothing was committed: the cycle settles afterwards.
    settled = run(frozen, "clearing", "settle", "1", "--report", "report.json")
    assert settled.exit_code == 0, settled.output
    assert status(ledger) == "settled"
    assert json.loads((tmp_path / "report.json").read_text())["status"] == "settled"


def _rerun(db_url: str, command: str) -> Result:
    """Run a ``jiaolong ...`` command as printed (``> FILE`` redirects stdout to FILE)."""
    words = shlex.split(command)
    assert words[0] == "jiaolong"
    target = None
    if ">" in words:
        words, target = words[: words.index(">")], words[words.index(">") + 1]
    result = run(db_url, *words[1:])
    assert result.exit_code == 0, result.output
    if target is not None:
        Path(target).write_text(result.stdout, encoding="utf-8")
    return result


def _rerender_command(result: Result) -> str:
    return result.stderr.split("write it again with: ", 1)[1].strip()


def test_a_report_write_failing_after_the_commit_names_the_rerender_command(
    frozen: str, ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report_file = tmp_path / "report.json"
    write_text = Path.write_text

    def disk_full(self: Path, *args: Any, **kwargs: Any) -> int:
        if self == report_file:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", disk_full)
    result = run(frozen, "clearing", "settle", "1", "--report", str(report_file))
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith(
        "error: OUTPUT_NOT_WRITTEN: cycle 1 settled, but the file was not written "
        "(No space left on device)"
    )
    assert "Traceback" not in result.output
    assert status(ledger) == "settled"
    command = _rerender_command(result)
    assert command == f"jiaolong clearing report 1 --json > {report_file}"
    monkeypatch.undo()
    _rerun(frozen, command)
    written = json.loads(report_file.read_text(encoding="utf-8"))
    assert written == ledger.clearing.report(1).to_dict()
    assert written["instructions"] == [
        {"payer": "lyon", "payee": "lodz", "currency": "EUR", "amount": "180.00"}
    ]
    again = run(frozen, "clearing", "settle", "1")
    assert again.exit_code == 1 and "CYCLE_ALREADY_SETTLED" in again.stderr


def test_an_iso_write_failing_after_the_commit_names_both_rerender_commands(
    frozen: str, ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    iso_dir, report_file = tmp_path / "iso", tmp_path / "report.json"
    iso_dir.mkdir()

    def disk_full(*args: Any, **kwargs: Any) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(iso20022, "write_pain001", disk_full)
    result = run(
        frozen, "clearing", "settle", "1", "--iso20022", str(iso_dir), "--report", str(report_file)
    )
    assert result.exit_code == 3, result.output
    assert "error: OUTPUT_NOT_WRITTEN: cycle 1 settled" in result.stderr
    assert status(ledger) == "settled"
    assert not report_file.exists()
    command = _rerender_command(result)
    assert command == (
        f"jiaolong clearing export-iso20022 1 {iso_dir} and "
        f"jiaolong clearing report 1 --json > {report_file}"
    )
    monkeypatch.undo()
    for part in command.split(" and "):
        _rerun(frozen, part)
    assert (iso_dir / ISO_FILE).exists()
    assert json.loads(report_file.read_text(encoding="utf-8"))["cycle"] == 1


def test_export_iso20022_writes_the_file_settle_writes(frozen: str, tmp_path: Path) -> None:
    at_settlement, exported = tmp_path / "settled", tmp_path / "exported"
    at_settlement.mkdir()
    exported.mkdir()
    settled = run(frozen, "--json", "clearing", "settle", "1", "--iso20022", str(at_settlement))
    assert settled.exit_code == 0, settled.output
    assert json.loads(settled.stdout)["iso20022"] == str(at_settlement / ISO_FILE)
    result = run(frozen, "--json", "clearing", "export-iso20022", "1", str(exported))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"cycle": 1, "iso20022": str(exported / ISO_FILE)}
    # The same message (same MsgId, same creation time): a bank sees one payment order.
    original = (at_settlement / ISO_FILE).read_bytes()
    assert (exported / ISO_FILE).read_bytes() == original
    assert b"<MsgId>JL-C1-" in original


def test_export_iso20022_refusals(frozen: str, ledger: Ledger, tmp_path: Path) -> None:
    unsettled = run(frozen, "clearing", "export-iso20022", "1", str(tmp_path))
    assert unsettled.exit_code == 2
    assert unsettled.stderr.startswith("error: INVALID_INPUT: cycle 1 is not settled")
    unknown = run(frozen, "clearing", "export-iso20022", "9", str(tmp_path))
    assert unknown.exit_code == 1 and "CYCLE_NOT_FOUND" in unknown.stderr
    assert run(frozen, "clearing", "settle", "1").exit_code == 0
    missing = run(frozen, "clearing", "export-iso20022", "1", str(tmp_path / "missing"))
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: INVALID_INPUT: output folder")
    for result in (unsettled, unknown, missing):
        assert "Traceback" not in result.output
    assert list(tmp_path.glob("*.xml")) == []


def test_a_dry_run_checks_its_report_path_too(frozen: str, ledger: Ledger, tmp_path: Path) -> None:
    result = run(frozen, "clearing", "settle", "1", "--dry-run", "--report", str(tmp_path / "x/r"))
    assert result.exit_code == 2 and "INVALID_INPUT" in result.stderr
    preview = run(frozen, "clearing", "settle", "1", "--dry-run", "--report", str(tmp_path / "r"))
    assert preview.exit_code == 0
    assert json.loads((tmp_path / "r").read_text())["dry_run"] is True
    assert status(ledger) == "frozen"


def test_a_refused_cutoff_prints_only_its_error(db_url: str) -> None:
    result = run(db_url, "clearing", "cutoff", "--at", "2099-01-01T00:00:00Z")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: INVALID_INPUT: cut-off at 2099-01-01T00:00:00+00:00 is in the future\n"
    )
    naive = run(db_url, "clearing", "cutoff", "--at", "2026-01-01T00:00:00")
    assert naive.exit_code == 2
    assert naive.stdout == "" and naive.stderr.startswith("error: INVALID_INPUT: ")
    assert len(naive.stderr.splitlines()) == 1

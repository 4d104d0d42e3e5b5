"""``jiaolong journal export | verify | replay`` through click's runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from jiaolong_ledger import Ledger
from jiaolong_ledger.cli.main import cli


def _url(ledger: Ledger) -> str:
    return ledger.engine.url.render_as_string(hide_password=False)


def test_export_each_format_to_a_file(full_ledger: Ledger, tmp_path: Path) -> None:
    runner = CliRunner()
    for fmt in ("jsonl", "beancount", "csv"):
        out = tmp_path / f"journal.{fmt}"
        result = runner.invoke(
            cli, ["--db", _url(full_ledger), "journal", "export", "--format", fmt, "-o", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    lines = (tmp_path / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines == list(full_ledger.journal_lines())


def test_export_range_to_stdout(full_ledger: Ledger) -> None:
    result = CliRunner().invoke(
        cli, ["--db", _url(full_ledger), "journal", "export", "--from-seq", "3", "--to-seq", "4"]
    )
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["seq"] for line in result.stdout.splitlines()] == [3, 4]


def test_verify_database_and_file(full_ledger: Ledger, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", _url(full_ledger), "journal", "verify"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")
    path = tmp_path / "journal.jsonl"
    full_ledger.export_journal(path)
    result = runner.invoke(cli, ["journal", "verify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and data["findings"] == [] and data["entries"] > 40


def test_verify_tampered_file_exits_1_and_names_the_seq(
    full_ledger: Ledger, tmp_path: Path
) -> None:
    lines = list(full_ledger.journal_lines())
    seq = full_ledger.entry("loan-1/draw").seq
    lines[seq - 1] = lines[seq - 1].replace("10000.00", "10000.10")
    path = tmp_path / "tampered.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["journal", "verify", str(path)])
    assert result.exit_code == 1
    assert f"JOURNAL_TAMPERED seq={seq}:" in result.stdout
    assert f"first broken seq {seq}" in result.stdout
    result = CliRunner().invoke(cli, ["--json", "journal", "verify", str(path)])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["first_broken_seq"] == seq


def test_verify_against_a_recorded_head(full_ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    full_ledger.export_journal(path)
    result = CliRunner().invoke(
        cli, ["--db", _url(full_ledger), "journal", "verify", "--head", "0" * 64]
    )
    assert result.exit_code == 1 and "HEAD_MISMATCH" in result.stdout
    result = CliRunner().invoke(cli, ["journal", "verify", str(path), "--head", "f" * 64])
    assert result.exit_code == 1 and "HEAD_MISMATCH" in result.stdout


def test_replay_into_a_new_database(
    full_ledger: Ledger, make_url_for: Callable[[], str], tmp_path: Path
) -> None:
    path = tmp_path / "journal.jsonl"
    full_ledger.export_journal(path)
    target = make_url_for()
    runner = CliRunner()
    result = runner.invoke(cli, ["journal", "replay", str(path), "--into", target])
    assert result.exit_code == 0, result.output
    assert "database verifies ok" in result.stdout
    again = runner.invoke(cli, ["journal", "replay", str(path), "--into", target])
    assert again.exit_code == 2
    assert "error: INVALID_INPUT: replay needs an empty database" in again.stderr

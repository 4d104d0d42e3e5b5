"""`jiaolong clearing ...` through click's CliRunner against a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clearing_helpers import fund
from click.testing import CliRunner, Result

from jiaolong_ledger import Ledger
from jiaolong_ledger.cli.main import cli

OBLIGATIONS = [
    {"payer": "lyon", "payee": "lodz", "amount": "300.00", "currency": "EUR", "reference": "r1"},
    {"payer": "lodz", "payee": "lyon", "amount": "120.00", "currency": "EUR", "reference": "r2"},
    {"payer": "lodz", "payee": "chengdu", "amount": "50.00", "currency": "EUR", "reference": "r3"},
    {"payer": "chengdu", "payee": "lyon", "amount": "999.00", "currency": "EUR", "reference": "r4"},
]


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)


@pytest.fixture
def registered(db_url: str) -> str:
    for args in (
        ["lyon", "--currency", "EUR", "--iban", "FR1420041010050500013M02606", "--country", "FR"],
        [
            "lodz",
            "--currency",
            "EUR",
            "--iban",
            "PL61109010140000071219812874",
            "--bic",
            "WBKPPLPP",
        ],
        ["chengdu", "--currency", "CNY", "--other-id", "6222021234567890", "--country", "CN"],
    ):
        result = run(db_url, "clearing", "register", *args)
        assert result.exit_code == 0, result.output
    with Ledger.connect(db_url) as ledger:
        fund(ledger, "lyon", "EUR", "1000.00")
        fund(ledger, "lodz", "EUR", "10.00")
        fund(ledger, "chengdu", "EUR", "100.00")
    return db_url


def _file(tmp_path: Path, rows: list[dict[str, str]]) -> str:
    path = tmp_path / "obligations.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def test_cut_off_run_end_to_end(registered: str, tmp_path: Path) -> None:
    db = registered
    submitted = run(db, "clearing", "submit", _file(tmp_path, OBLIGATIONS), "--json")
    assert submitted.exit_code == 0
    assert json.loads(submitted.stdout) == {"accepted": 4, "duplicates": 0, "cycles": {"1": 4}}
    again = run(db, "--json", "clearing", "submit", _file(tmp_path, OBLIGATIONS))
    assert json.loads(again.stdout)["duplicates"] == 4

    cut = run(db, "clearing", "cutoff", "--json")
    assert json.loads(cut.stdout)["frozen"]["cycle"] == 1
    assert json.loads(cut.stdout)["open"]["cycle"] == 2

    with Ledger.connect(db) as ledger:
        trial = ledger.trial_balance()
    dry = run(db, "clearing", "settle", "1", "--dry-run", "--unwind", "participants", "--json")
    assert dry.exit_code == 0
    preview = json.loads(dry.stdout)  # no progress bar noise on a pipe
    with Ledger.connect(db) as ledger:
        assert ledger.trial_balance() == trial
    # chengdu owes 999.00 with 100.00 (+50.00 due to it): short, excluded, carried.
    assert [e["participant"] for e in preview["excluded"]] == ["chengdu"]

    report_file = tmp_path / "report.json"
    iso_dir = tmp_path / "iso"
    iso_dir.mkdir()
    settled = run(
        db,
        "clearing",
        "settle",
        "1",
        "--unwind",
        "participants",
        "--iso20022",
        str(iso_dir),
        "--report",
        str(report_file),
    )
    assert settled.exit_code == 0, settled.output
    assert "settlement instructions (1)" in settled.stdout
    assert "chengdu" in settled.stdout and "efficiency" in settled.stdout
    stored = json.loads(report_file.read_text(encoding="utf-8"))
    assert stored["positions"] == preview["positions"]
    assert stored["instructions"] == [
        {"payer": "lyon", "payee": "lodz", "currency": "EUR", "amount": "180.00"}
    ]
    assert Path(stored["iso20022"]).exists() and Path(stored["iso20022"]).parent == iso_dir

    rerun = run(db, "clearing", "settle", "1")
    assert rerun.exit_code == 1
    assert "error: CYCLE_ALREADY_SETTLED" in rerun.stderr
    shown = json.loads(run(db, "clearing", "report", "1", "--json").stdout)
    assert shown["positions"] == stored["positions"] and shown["status"] == "settled"
    cycles = json.loads(run(db, "clearing", "cycles", "--json").stdout)
    assert [(c["cycle"], c["status"], c["obligations"]) for c in cycles] == [
        (1, "settled", 4),
        (2, "open", 2),
    ]
    with Ledger.connect(db) as ledger:
        assert ledger.balance("participant:lodz:cash:EUR").posted_minor == 1000 + 18000


def test_bad_input_exits_2_and_names_the_line(registered: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(OBLIGATIONS[0]) + "\n{not json\n", encoding="utf-8")
    result = run(registered, "clearing", "submit", str(path))
    assert result.exit_code == 2 and "line 2" in result.stderr
    missing = _file(tmp_path, [{"payer": "lyon", "payee": "lodz", "amount": "1.00"}])
    result = run(registered, "clearing", "submit", missing)
    assert result.exit_code == 2 and "INVALID_INPUT" in result.stderr
    precise = _file(tmp_path, [{**OBLIGATIONS[0], "amount": "1.001"}])
    result = run(registered, "clearing", "submit", precise)
    assert result.exit_code == 2 and "AMOUNT_PRECISION" in result.stderr
    # Nothing from the failed files was stored.
    with Ledger.connect(registered) as ledger:
        assert ledger.clearing.open_cycle().obligations == 0


def test_ledger_rule_failures_exit_1(registered: str, tmp_path: Path) -> None:
    unknown = _file(tmp_path, [{**OBLIGATIONS[0], "payee": "nobody"}])
    result = run(registered, "clearing", "submit", unknown)
    assert result.exit_code == 1 and "PARTICIPANT_NOT_FOUND" in result.stderr
    assert run(registered, "clearing", "settle", "7").exit_code == 1
    run(registered, "clearing", "submit", _file(tmp_path, OBLIGATIONS[:1]))
    open_settle = run(registered, "clearing", "settle", "1")
    assert open_settle.exit_code == 1 and "CYCLE_NOT_FROZEN" in open_settle.stderr
    bad_iban = run(registered, "clearing", "register", "x", "--currency", "EUR", "--iban", "DE00")
    assert bad_iban.exit_code == 2


def test_participants_listing(registered: str) -> None:
    listed = json.loads(run(registered, "clearing", "participants", "--json").stdout)
    assert [p["name"] for p in listed] == ["chengdu", "lodz", "lyon"]
    human = run(registered, "clearing", "participants")
    assert "6222021234567890" in human.stdout

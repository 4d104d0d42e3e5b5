"""Issue 12 through the CLI (both backends): `clearing register --net-debit-cap`, `set-cap`,
`submit` with a priority, `cancel`, `obligations N [--json]`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clearing_helpers import fund
from click.testing import CliRunner, Result

from jiaolong_ledger import Ledger
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.testing.checks import assert_unchanged, snapshot


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args])


def ok(db_url: str, *args: str) -> Result:
    result = run(db_url, *args)
    assert result.exit_code == 0, result.output
    return result


def refused(db_url: str, code: str, exit_code: int, *args: str) -> Result:
    result = run(db_url, *args)
    assert result.exit_code == exit_code, result.output
    assert f"error: {code}:" in result.output
    assert "Traceback" not in result.output
    return result


LINES = [
    {"payer": "a", "payee": "b", "amount": "60.00", "currency": "EUR", "reference": "u",
     "priority": "urgent"},
    {"payer": "a", "payee": "c", "amount": "100.00", "currency": "EUR", "reference": "n"},
    {"payer": "a", "payee": "c", "amount": "5.00", "currency": "EUR", "reference": "x"},
]  # fmt: skip


def test_caps_from_the_command_line(ledger: Ledger, db_url: str) -> None:
    ok(db_url, "clearing", "register", "a", "--currency", "EUR", "--net-debit-cap", "EUR=50.00")
    assert ledger.clearing.participant("a").net_debit_caps == {"EUR": 5000}
    shown = json.loads(ok(db_url, "clearing", "participants", "--json").output)
    assert shown[0]["net_debit_caps"] == {"EUR": "50.00"}
    assert "EUR 50.00" in ok(db_url, "clearing", "participants").output
    assert "set to 75.50" in ok(db_url, "clearing", "set-cap", "a", "EUR", "75.50").output
    assert ledger.clearing.participant("a").net_debit_caps == {"EUR": 7550}
    assert "removed" in ok(db_url, "clearing", "set-cap", "a", "EUR", "none").output
    assert ledger.clearing.participant("a").net_debit_caps == {}


REGISTER = ["register", "a", "--currency", "EUR", "--net-debit-cap"]


@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        ([*REGISTER, "EUR"], "INVALID_INPUT", 2),
        ([*REGISTER, "EUR=1e3"], "INVALID_INPUT", 2),
        ([*REGISTER, "EUR=-5"], "INVALID_INPUT", 2),
        ([*REGISTER, "EUR=1.001"], "AMOUNT_PRECISION", 2),
        ([*REGISTER, "EUR=1", "--net-debit-cap", "EUR=2"], "INVALID_INPUT", 2),
        (["set-cap", "a", "EUR", "NaN"], "INVALID_INPUT", 2),
        (["set-cap", "nobody", "EUR", "1.00"], "PARTICIPANT_NOT_FOUND", 1),
    ],
)  # fmt: skip
def test_bad_caps_are_refused_and_nothing_is_written(
    ledger: Ledger, db_url: str, args: list[str], code: str, exit_code: int
) -> None:
    ledger.clearing.register_participant("a", "EUR")
    before = snapshot(ledger)
    result = run(db_url, "clearing", *args)
    assert "Traceback" not in result.output
    assert f"error: {code}:" in result.output, result.output
    assert result.exit_code == exit_code, result.output
    assert_unchanged(ledger, before)
    assert ledger.clearing.participant("a").net_debit_caps == {}


def test_priority_cancel_and_obligations(ledger: Ledger, db_url: str, tmp_path: Path) -> None:
    for name in "abc":
        ok(db_url, "clearing", "register", name, "--currency", "EUR")
    fund(ledger, "a", "EUR", "110.00")
    path = tmp_path / "obligations.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in LINES), encoding="utf-8")
    ok(db_url, "clearing", "submit", str(path))
    assert "obligation x cancelled" in ok(db_url, "clearing", "cancel", "x").output
    again = json.loads(ok(db_url, "clearing", "cancel", "x", "--json").output)
    assert again["status"] == "cancelled"
    refused(db_url, "OBLIGATION_NOT_FOUND", 1, "clearing", "cancel", "nope")
    ok(db_url, "clearing", "cutoff")
    refused(db_url, "OBLIGATION_NOT_CANCELLABLE", 1, "clearing", "cancel", "u")
    ok(db_url, "clearing", "settle", "1")
    listed = json.loads(ok(db_url, "clearing", "obligations", "1", "--json").output)
    by_reference = {item["reference"]: item for item in listed}
    assert {r: (i["priority"], i["status"]) for r, i in by_reference.items()} == {
        "u": ("urgent", "settled"),
        "n": ("normal", "deferred"),
        "x": ("normal", "cancelled"),
    }
    assert by_reference["n"]["deferred_reason"] == "shortfall"
    assert by_reference["u"]["payer"] == "a" and by_reference["u"]["amount"] == "60.00"
    assert by_reference["u"]["currency"] == "EUR" and by_reference["u"]["submitted_at"]
    text = ok(db_url, "clearing", "obligations", "1").output
    assert "deferred (shortfall)" in text and "urgent" in text and "cancelled" in text
    refused(db_url, "CYCLE_NOT_FOUND", 1, "clearing", "obligations", "99")


def test_a_bad_priority_refuses_the_file(ledger: Ledger, db_url: str, tmp_path: Path) -> None:
    for name in "abc":
        ledger.clearing.register_participant(name, "EUR")
    path = tmp_path / "obligations.jsonl"
    bad = dict(LINES[1], priority="high")
    path.write_text(json.dumps(LINES[0]) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    before = snapshot(ledger)
    result = refused(db_url, "INVALID_INPUT", 2, "clearing", "submit", str(path))
    assert "line 2" in result.output and "priority" in result.output
    assert_unchanged(ledger, before)
    assert ledger.clearing.obligations(ledger.clearing.open_cycle().id) == []

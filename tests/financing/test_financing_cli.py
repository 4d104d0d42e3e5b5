"""`jiaolong financing ...` through click's runner, on both backends."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result
from financing_helpers import deposit
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.cli.main import cli


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)


def test_a_facility_life_through_the_cli(db_url: str) -> None:
    opened = run(
        db_url,
        *("financing", "open", "fac-cli", "--borrower", "shu-brocade", "--lender", "platform"),
        *("--limit", "1000000.00", "--currency", "CNY", "--rate", "0.05"),
        *("--day-count", "ACT/365F", "--at", "2025-12-31T00:00:00Z"),
    )
    assert opened.exit_code == 0, opened.output
    assert "facility fac-cli  platform -> shu-brocade  limit 1000000.00 CNY" in opened.output
    drawn = run(
        db_url, "financing", "draw", "fac-cli", "1000000.00", "--at", "2026-01-01T08:00:00Z"
    )
    assert drawn.exit_code == 0, drawn.output
    over = run(db_url, "financing", "draw", "fac-cli", "0.01", "--at", "2026-01-02T08:00:00Z")
    assert over.exit_code == 1
    assert "error: FACILITY_LIMIT_EXCEEDED:" in over.output
    accrued = run(db_url, "financing", "accrue", "--until", "2026-04-01T00:00:00Z", "--json")
    assert accrued.exit_code == 0, accrued.output
    [data] = json.loads(accrued.output)
    assert data["interest_accrued"] == "12328.77"  # 1,000,000 at 5% for 90 days, ACT/365F
    too_much = run(
        db_url, "financing", "repay", "fac-cli", "1012328.78", "--at", "2026-04-01T09:00:00Z"
    )
    assert too_much.exit_code == 1
    assert "error: REPAYMENT_EXCEEDS_DEBT:" in too_much.output
    # The borrower earns the interest elsewhere, then repays everything.
    ledger = Ledger.connect(db_url)
    deposit(ledger, "shu-brocade", Money("12328.77", "CNY"), "deposit-interest")
    ledger.close()
    repaid = run(
        db_url,
        *("financing", "repay", "fac-cli", "1012328.77", "--at", "2026-04-01T09:00:00Z"),
        *("--reference", "final", "--json"),
    )
    assert repaid.exit_code == 0, repaid.output
    assert json.loads(repaid.output)["principal"] == "0.00"
    shown = run(db_url, "financing", "show", "fac-cli")
    assert shown.exit_code == 0
    assert "principal 0.00" in shown.output
    assert "repayment  final" in shown.output
    data = json.loads(run(db_url, "financing", "show", "fac-cli", "--json").output)
    assert [(m["kind"], m["interest"], m["principal"]) for m in data["movements"]] == [
        ("drawdown", "0.00", "1000000.00"),
        ("repayment", "12328.77", "1000000.00"),
    ]
    assert Ledger.connect(db_url).verify().ok


def test_cli_input_errors(db_url: str) -> None:
    Ledger.connect(db_url).close()  # read-only commands refuse a database that does not exist
    missing = run(db_url, "financing", "show", "nope")
    assert missing.exit_code == 1 and "error: FACILITY_NOT_FOUND:" in missing.output
    bad_rate = run(
        db_url,
        *("financing", "open", "f", "--borrower", "a", "--lender", "b"),
        *("--limit", "10", "--currency", "EUR", "--rate", "five"),
    )
    assert bad_rate.exit_code == 2 and "error: INVALID_INPUT:" in bad_rate.output

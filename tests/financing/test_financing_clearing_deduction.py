"""Automatic deduction from clearing proceeds (``auto_deduct``), worked by hand, both backends.

Facilities (lender platform, EUR, ACT/360, opened 2025-12-31 12:00, drawn 2026-01-01 09:00):
    f-aurora  borrower aurora   5%  drawn 3,600.00  auto_deduct  -> 3600 * 0.05 / 360 = 0.50/day
    f-manual  borrower aurora   5%  drawn    10.00  (no auto_deduct: never touched by clearing)
    f-brocade borrower brocade  5%  drawn   100.00  auto_deduct  (brocade pays: not deducted)
Settlement at 2026-04-01 10:00 UTC: Jan 1 .. Mar 31 = 90 days accrued -> f-aurora interest 45.00.

Cycle 1 (EUR): brocade -> aurora 300.00, aurora -> brocade 100.00, brocade -> crafts 50.00
    aurora +200.00 (receiver), crafts +50.00 (receiver, no facility), brocade -250.00 (payer).
Deduction on aurora's 200.00: interest 45.00, then principal 155.00 (total 200.00).
    f-aurora principal 3,600.00 -> 3,445.00; interest due 0.00.
    aurora cash: 3,600.00 + 10.00 (drawdowns) + 200.00 - 200.00 = 3,610.00.
    crafts cash 50.00; brocade cash 1,000.00 + 100.00 - 250.00 = 850.00, f-brocade untouched.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from clearing_helpers_fin import eur_money, fund_eur
from click.testing import CliRunner

from jiaolong_ledger import Ledger
from jiaolong_ledger.clearing import settlement
from jiaolong_ledger.clearing.model import CycleReport
from jiaolong_ledger.clearing.render import report_lines
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.errors import (
    AccountNotFoundError,
    CycleAlreadySettledError,
    StorageUnavailableError,
)

OPENED = datetime(2025, 12, 31, 12, tzinfo=UTC)
JAN_1 = datetime(2026, 1, 1, 9, tzinfo=UTC)
SETTLE_AT = datetime(2026, 4, 1, 10, tzinfo=UTC)


def _cash(ledger: Ledger, name: str) -> int:
    return ledger.balance(f"participant:{name}:cash:EUR").posted_minor


def _setup(ledger: Ledger, *, aurora_draw: str = "3600.00", aurora_rate: str = "0.05") -> int:
    ledger.clock = lambda: SETTLE_AT
    fin = ledger.financing
    fin.open_facility(
        "f-aurora", "aurora", "platform", eur_money("10000.00"), aurora_rate, "ACT/360",
        at=OPENED, auto_deduct=True,
    )  # fmt: skip
    fin.open_facility(
        "f-manual", "aurora", "platform", eur_money("100.00"), "0.05", "ACT/360", at=OPENED
    )
    fin.open_facility(
        "f-brocade", "brocade", "platform", eur_money("1000.00"), "0.05", "ACT/360",
        at=OPENED, auto_deduct=True,
    )  # fmt: skip
    fin.draw("f-aurora", eur_money(aurora_draw), reference="d1", at=JAN_1)
    fin.draw("f-manual", eur_money("10.00"), reference="d1", at=JAN_1)
    fin.draw("f-brocade", eur_money("100.00"), reference="d1", at=JAN_1)
    fund_eur(ledger, "brocade", "1000.00")
    clearing = ledger.clearing
    for name in ("aurora", "brocade", "crafts"):
        clearing.register_participant(name, "EUR")
    clearing.submit("brocade", "aurora", eur_money("300.00"), "o1")
    clearing.submit("aurora", "brocade", eur_money("100.00"), "o2")
    clearing.submit("brocade", "crafts", eur_money("50.00"), "o3")
    return clearing.cutoff().id


def _unchanged(ledger: Ledger) -> None:
    for facility_id, principal in (
        ("f-aurora", 360_000),
        ("f-manual", 1_000),
        ("f-brocade", 10_000),
    ):
        state = ledger.financing.state(facility_id)
        assert state.principal_minor == principal
        assert state.interest_paid_minor == 0 == state.interest_accrued_minor
        assert state.accrued_until == datetime(2026, 1, 1, tzinfo=UTC)
        assert not [m for m in ledger.financing.movements(facility_id) if m["kind"] == "repayment"]
    assert _cash(ledger, "aurora") == 361_000
    assert _cash(ledger, "brocade") == 110_000


def test_worked_example_interest_then_principal(ledger: Ledger) -> None:
    cycle = _setup(ledger)
    report = ledger.clearing.settle(cycle)
    assert [d.to_dict() for d in report.deductions] == [
        {
            "participant": "aurora",
            "currency": "EUR",
            "facility_id": "f-aurora",
            "proceeds": "200.00",
            "interest": "45.00",
            "principal": "155.00",
            "amount": "200.00",
            "entry_key": "financing/f-aurora/repayment/clearing-cycle-1",
        }
    ]
    aurora = ledger.financing.state("f-aurora")
    assert aurora.principal_minor == 344_500
    assert aurora.interest_accrued_minor == 4_500 == aurora.interest_paid_minor
    assert _cash(ledger, "aurora") == 361_000
    # receiver without a facility, payer with one, facility without auto_deduct: untouched
    assert _cash(ledger, "crafts") == 5_000
    assert _cash(ledger, "brocade") == 85_000
    brocade = ledger.financing.state("f-brocade")
    assert brocade.principal_minor == 10_000 and brocade.interest_paid_minor == 0
    assert ledger.financing.state("f-manual").principal_minor == 1_000
    assert ledger.financing.state("f-manual").accrued_until == datetime(2026, 1, 1, tzinfo=UTC)
    entry = ledger.entry("financing/f-aurora/repayment/clearing-cycle-1")
    assert entry.metadata["interest"] == "45.00" and entry.metadata["principal"] == "155.00"
    # the stored report carries the deductions; the readable table shows them
    stored = ledger.clearing.report(cycle)
    assert stored.deductions == report.deductions
    assert CycleReport.from_dict(report.to_dict()) == report
    lines = report_lines(stored)
    assert any(line.startswith("financing deductions") for line in lines)
    assert any("f-aurora" in line and "45.00" in line and "155.00" in line for line in lines)
    assert ledger.balance("clearing:settlement:EUR").posted_minor == 0


def test_small_debt_is_repaid_in_full_and_the_rest_stays(ledger: Ledger) -> None:
    # 100.00 at 3.6% ACT/360 = 0.01/day; 90 days = 0.90; aurora receives 200.00
    cycle = _setup(ledger, aurora_draw="100.00", aurora_rate="0.036")
    (deduction,) = ledger.clearing.settle(cycle).deductions
    assert (deduction.interest_minor, deduction.principal_minor) == (90, 10_000)
    state = ledger.financing.state("f-aurora")
    assert state.principal_minor == 0 and state.interest_due_minor == 0
    assert _cash(ledger, "aurora") == 10_000 + 1_000 + 20_000 - 10_090


def test_dry_run_shows_deductions_and_posts_nothing(ledger: Ledger) -> None:
    cycle = _setup(ledger)
    entries_before = len(list(ledger.entries()))
    dry = ledger.clearing.settle(cycle, dry_run=True)
    assert [
        (d.facility_id, d.interest_minor, d.principal_minor, d.entry_key) for d in dry.deductions
    ] == [("f-aurora", 4_500, 15_500, None)]
    assert any("not posted" in line for line in report_lines(dry))
    _unchanged(ledger)
    assert len(list(ledger.entries())) == entries_before
    real = ledger.clearing.settle(cycle)
    assert [(d.facility_id, d.interest_minor, d.principal_minor) for d in real.deductions] == [
        (d.facility_id, d.interest_minor, d.principal_minor) for d in dry.deductions
    ]


def test_failure_rolls_back_settlement_and_deductions(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    cycle = _setup(ledger)
    entries_before = len(list(ledger.entries()))

    def broken(*args: object) -> None:
        raise StorageUnavailableError("injected failure after the deductions")

    with monkeypatch.context() as patch:
        patch.setattr(settlement, "_record", broken)
        with pytest.raises(StorageUnavailableError):
            ledger.clearing.settle(cycle)
    _unchanged(ledger)
    assert not _has(ledger, "crafts")  # the pay-out that would have opened it rolled back
    assert len(list(ledger.entries())) == entries_before
    assert ledger.clearing.cycle(cycle).status == "frozen"
    report = ledger.clearing.settle(cycle)
    assert report.deductions[0].amount_minor == 20_000


def test_deductions_commit_or_roll_back_with_the_callers_unit_of_work(ledger: Ledger) -> None:
    """``tx.clearing.settle`` deducts through ``tx.financing``: one unit, all or nothing."""
    cycle = _setup(ledger)
    with pytest.raises(AccountNotFoundError), ledger.transaction() as tx:
        (deduction,) = tx.clearing.settle(cycle).deductions
        assert (deduction.interest_minor, deduction.principal_minor) == (4_500, 15_500)
        assert tx.financing.state("f-aurora").principal_minor == 344_500
        tx.balance("no:such:account")
    _unchanged(ledger)
    assert ledger.clearing.cycle(cycle).status == "frozen"
    with ledger.transaction() as tx:
        report = tx.clearing.settle(cycle)
    assert ledger.clearing.report(cycle) == report
    assert ledger.financing.state("f-aurora").principal_minor == 344_500


def _has(ledger: Ledger, name: str) -> bool:
    return any(
        a.code == f"participant:{name}:cash:EUR" for a in ledger.accounts(prefix="participant:")
    )


def test_rerun_stays_already_settled_and_deducts_nothing_more(ledger: Ledger) -> None:
    cycle = _setup(ledger)
    ledger.clearing.settle(cycle)
    before = ledger.financing.state("f-aurora")
    with pytest.raises(CycleAlreadySettledError):
        ledger.clearing.settle(cycle)
    assert ledger.financing.state("f-aurora") == before
    assert _cash(ledger, "aurora") == 361_000


def test_cli_json_and_table_show_deductions(db_url: str) -> None:
    with Ledger.connect(db_url) as ledger:
        cycle = _setup(ledger)
        ledger.clearing.settle(cycle)
    runner = CliRunner()
    shown = runner.invoke(cli, ["--db", db_url, "clearing", "report", str(cycle), "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["deductions"][0]["interest"] == "45.00"
    assert data["deductions"][0]["principal"] == "155.00"
    table = runner.invoke(cli, ["--db", db_url, "clearing", "report", str(cycle)])
    assert "financing deductions" in table.stdout and "f-aurora" in table.stdout


def test_auto_deduct_revision_round_trip(ledger: Ledger) -> None:
    from sqlalchemy import inspect

    from jiaolong_ledger.storage.migrate import current_revision, downgrade, upgrade

    def columns() -> set[str]:
        return {c["name"] for c in inspect(ledger.engine).get_columns("jl_financing_facilities")}

    assert "auto_deduct" in columns()
    downgrade(ledger.engine, "20261126_0005")
    assert current_revision(ledger.engine) == "20261126_0005"
    assert "auto_deduct" not in columns()
    upgrade(ledger.engine)
    assert "auto_deduct" in columns()
    opened = ledger.financing.open_facility(
        "f-1", "aurora", "platform", eur_money("1.00"), "0.05", "ACT/360"
    )
    assert opened.auto_deduct is False


def test_two_facilities_are_served_in_opening_order_within_the_proceeds(ledger: Ledger) -> None:
    cycle = _setup(ledger, aurora_draw="150.00", aurora_rate="0")
    ledger.financing.open_facility(
        "f-later", "aurora", "platform", eur_money("500.00"), "0", "ACT/360",
        at=OPENED + timedelta(hours=1), auto_deduct=True,
    )  # fmt: skip
    ledger.financing.draw("f-later", eur_money("80.00"), reference="d1", at=JAN_1)
    report = ledger.clearing.settle(cycle)
    # 200.00 of proceeds: f-aurora (opened first) takes 150.00, f-later the remaining 50.00
    assert [(d.facility_id, d.principal_minor) for d in report.deductions] == [
        ("f-aurora", 15_000),
        ("f-later", 5_000),
    ]
    assert ledger.financing.state("f-later").principal_minor == 3_000
    assert sum(d.amount_minor for d in report.deductions) == 20_000


def test_cli_open_auto_deduct_flag(db_url: str) -> None:
    args = ["financing", "open", "f-cli", "--borrower", "aurora", "--lender", "platform"]
    args += ["--limit", "100.00", "--currency", "EUR", "--rate", "0.05"]
    opened = CliRunner().invoke(cli, ["--db", db_url, *args, "--auto-deduct", "--json"])
    assert opened.exit_code == 0, opened.output
    assert json.loads(opened.stdout)["auto_deduct"] is True
    again = CliRunner().invoke(cli, ["--db", db_url, *args])
    assert again.exit_code == 1 and "IDEMPOTENCY_CONFLICT" in again.output

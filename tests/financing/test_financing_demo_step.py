"""The demo's financing step: an auto-deduct facility repaid from clearing proceeds."""

from __future__ import annotations

from pathlib import Path

from jiaolong_ledger.demo.run import run_demo


def test_demo_shows_a_deduction_in_the_clearing_report(tmp_path: Path) -> None:
    said: list[str] = []
    context = run_demo(tmp_path, say=said.append)
    financing = context.results["financing"]
    assert financing["interest_due"] == "25.00"  # 5,000.00 * 6% / 360 * 30 days
    (deduction,) = context.results["clearing"]["deductions"]
    assert deduction["facility_id"] == "demo-prefinance"
    assert deduction["participant"] == financing["borrower"]
    assert deduction["interest"] == "25.00"
    assert deduction["amount"] == deduction["proceeds"]  # proceeds < debt: all of them go
    state = context.ledger.financing.state("demo-prefinance")
    assert state.interest_due_minor == 0
    assert state.principal_minor == 500_000 - (int(deduction["principal"].replace(".", "")))
    assert any(line.startswith("financing: facility demo-prefinance") for line in said)
    assert any("financing deductions from proceeds" in line for line in said)
    assert context.ledger.verify().ok

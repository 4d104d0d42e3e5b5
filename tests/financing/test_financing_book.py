"""The financing book on both backends: deductions from clearing proceeds (booked and
previewed), the borrower a drawdown or repayment names, and a unit of work that fails whole.

Facilities (lender platform, EUR, opened 2025-12-31 12:00, drawn 2026-01-01 09:00):
    f-first   aurora  5% ACT/360  drawn 3,600.00  auto_deduct  -> 0.50/day, 90 days = 45.00
    f-second  aurora  0%          drawn    80.00  auto_deduct  (opened an hour later)
    f-manual  aurora  5%          drawn    10.00  (no auto_deduct: never deducted from)
    f-usd     aurora  0% USD      drawn    20.00  auto_deduct  (other currency)
    f-other   brocade 5%          drawn   100.00  auto_deduct  (other borrower)
At 2026-04-01 10:00 UTC, 3,650.00 of aurora's EUR proceeds: f-first interest 45.00 and
principal 3,600.00 (3,645.00), then f-second principal 5.00. aurora's EUR cash was 3,690.00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from financing_helpers import JAN_1, OPENED, cash_minor, eur
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.errors import (
    AccountNotFoundError,
    FacilityLimitExceededError,
    InvalidInputError,
)
from jiaolong_ledger.financing import Financing, FinancingBook

SETTLE_AT = datetime(2026, 4, 1, 10, tzinfo=UTC)
REFERENCE = "clearing-cycle-7"


def _facilities(ledger: Ledger) -> None:
    fin = ledger.financing
    opened = [
        ("f-first", "aurora", eur("10000.00"), "0.05", OPENED, True),
        ("f-second", "aurora", eur("500.00"), "0", OPENED + timedelta(hours=1), True),
        ("f-manual", "aurora", eur("100.00"), "0.05", OPENED - timedelta(days=1), False),
        ("f-usd", "aurora", Money("100.00", "USD"), "0", OPENED - timedelta(days=1), True),
        ("f-other", "brocade", eur("1000.00"), "0.05", OPENED - timedelta(days=1), True),
    ]
    for facility_id, borrower, limit, rate, at, auto in opened:
        fin.open_facility(facility_id, borrower, "platform", limit, rate, "ACT/360", at, auto)
    fin.draw("f-first", eur("3600.00"), reference="d1", at=JAN_1)
    fin.draw("f-second", eur("80.00"), reference="d1", at=JAN_1)
    fin.draw("f-manual", eur("10.00"), reference="d1", at=JAN_1)
    fin.draw("f-usd", Money("20.00", "USD"), reference="d1", at=JAN_1)
    fin.draw("f-other", eur("100.00"), reference="d1", at=JAN_1)


def _entry_count(ledger: Ledger) -> int:
    return len(list(ledger.entries()))


def test_preview_then_deduct_in_opening_order_interest_first(ledger: Ledger) -> None:
    _facilities(ledger)
    size = _entry_count(ledger)
    preview = ledger.financing.preview_deductions("aurora", "EUR", 365_000, at=SETTLE_AT)
    assert preview == [("f-first", 4_500, 360_000), ("f-second", 0, 500)]
    assert _entry_count(ledger) == size  # a dry run books nothing, not even the accrual
    assert ledger.financing.state("f-first").accrued_until == datetime(2026, 1, 1, tzinfo=UTC)

    with ledger.transaction() as tx:
        done = tx.financing.deduct_from_proceeds(
            "aurora", "EUR", 365_000, reference=REFERENCE, at=SETTLE_AT
        )
        # the bound book reads its own unit's writes: f-first is repaid in full
        assert tx.financing.preview_deductions("aurora", "EUR", 1_000, at=SETTLE_AT) == [
            ("f-second", 0, 1_000)
        ]
    assert done == [
        ("f-first", 4_500, 360_000, "financing/f-first/repayment/clearing-cycle-7"),
        ("f-second", 0, 500, "financing/f-second/repayment/clearing-cycle-7"),
    ]
    assert [(fid, i, p) for fid, i, p, _ in done] == preview
    first = ledger.financing.state("f-first")
    assert (first.principal_minor, first.interest_due_minor) == (0, 0)
    assert first.interest_paid_minor == 4_500
    assert ledger.financing.state("f-second").principal_minor == 7_500
    assert cash_minor(ledger, "aurora") == 369_000 - 365_000
    entry = ledger.entry("financing/f-first/repayment/clearing-cycle-7")
    assert entry.metadata["interest"] == "45.00" and entry.metadata["principal"] == "3600.00"
    [movement] = [m for m in ledger.financing.movements("f-second") if m["kind"] == "repayment"]
    assert (movement["reference"], movement["principal_minor"]) == (REFERENCE, 500)
    # facilities without auto_deduct, in another currency or of another borrower: untouched
    for facility_id in ("f-manual", "f-usd", "f-other"):
        state = ledger.financing.state(facility_id)
        assert state.principal_minor == state.drawn_minor and state.interest_paid_minor == 0
    assert ledger.verify().ok


def test_within_the_amount_and_skipping_what_cannot_be_deducted(ledger: Ledger) -> None:
    _facilities(ledger)
    fin = ledger.financing
    assert fin.preview_deductions("aurora", "EUR", 0, at=SETTLE_AT) == []
    assert fin.preview_deductions("nobody", "EUR", 100, at=SETTLE_AT) == []
    # less than the interest due: interest only, and the next facility gets nothing
    assert fin.preview_deductions("aurora", "EUR", 3_000, at=SETTLE_AT) == [("f-first", 3_000, 0)]
    # a facility accrued beyond the settlement instant is skipped (a repayment could not be
    # booked before its accrual); the next one is served
    fin.accrue(datetime(2026, 4, 5, tzinfo=UTC), "f-first")
    assert fin.preview_deductions("aurora", "EUR", 10_000, at=SETTLE_AT) == [("f-second", 0, 8_000)]
    with ledger.transaction() as tx:
        done = tx.financing.deduct_from_proceeds(
            "aurora", "EUR", 10_000, reference=REFERENCE, at=SETTLE_AT
        )
    assert done == [("f-second", 0, 8_000, "financing/f-second/repayment/clearing-cycle-7")]
    assert ledger.financing.state("f-first").interest_paid_minor == 0
    # f-second owes nothing any more: skipped
    later = datetime(2026, 4, 6, tzinfo=UTC)
    assert fin.preview_deductions("aurora", "EUR", 500, at=later) == [("f-first", 500, 0)]
    with ledger.transaction() as tx:
        assert (
            tx.financing.deduct_from_proceeds(
                "aurora", "EUR", 0, reference="clearing-cycle-8", at=later
            )
            == []
        )


def test_a_movement_naming_another_borrower_is_refused(ledger: Ledger) -> None:
    _facilities(ledger)
    size, before = _entry_count(ledger), ledger.financing.state("f-first")
    for call in (ledger.financing.draw, ledger.financing.repay):
        with pytest.raises(InvalidInputError) as caught:
            call("f-first", eur("1.00"), at=SETTLE_AT, borrower="brocade")
        assert caught.value.details["field"] == "borrower"
        assert caught.value.details["facility_id"] == "f-first"
    assert _entry_count(ledger) == size
    assert ledger.financing.state("f-first") == before
    state = ledger.financing.draw("f-first", eur("1.00"), at=SETTLE_AT, borrower="aurora")
    assert state.principal_minor == 360_100


def test_a_unit_of_work_that_fails_keeps_nothing(ledger: Ledger) -> None:
    assert Financing is FinancingBook
    with pytest.raises(FacilityLimitExceededError), ledger.transaction() as tx:
        fin = tx.financing
        fin.open_facility(
            "f-unit", borrower="aurora", lender="platform", limit=eur("100.00"),
            annual_rate="0.05", day_count="ACT/360", at=OPENED,
        )  # fmt: skip
        fin.draw("f-unit", eur("90.00"), reference="d1", at=JAN_1)
        [accrued] = fin.accrue(datetime(2026, 2, 1, tzinfo=UTC))  # in this unit
        assert accrued.interest_accrued_minor > 0
        fin.repay("f-unit", eur("50.00"), reference="r1", at=datetime(2026, 2, 1, tzinfo=UTC))
        assert fin.state("f-unit").principal_minor < 9_000  # the unit sees its own writes
        fin.draw("f-unit", eur("80.00"), reference="d2", at=datetime(2026, 2, 2, tzinfo=UTC))
    assert ledger.financing.facilities() == []
    assert _entry_count(ledger) == 0
    with pytest.raises(AccountNotFoundError):
        ledger.balance("financing:loan:f-unit")
    with pytest.raises(AccountNotFoundError):
        ledger.balance("participant:aurora:cash:EUR")


def test_accrue_per_call_and_in_a_unit(ledger: Ledger) -> None:
    _facilities(ledger)
    feb_1 = datetime(2026, 2, 1, tzinfo=UTC)
    with pytest.raises(RuntimeError), ledger.transaction() as tx:
        assert len(tx.financing.accrue(feb_1)) == 5
        raise RuntimeError("the unit fails after accruing every facility")
    assert all(
        f.accrued_until == datetime(2026, 1, 1, tzinfo=UTC) for f in ledger.financing.facilities()
    )
    accrued = ledger.financing.accrue(feb_1)
    assert [f.facility_id for f in accrued] == [
        "f-first",
        "f-manual",
        "f-other",
        "f-second",
        "f-usd",
    ]
    assert all(f.accrued_until == feb_1 for f in ledger.financing.facilities())
    assert ledger.financing.state("f-first").interest_accrued_minor == 31 * 50

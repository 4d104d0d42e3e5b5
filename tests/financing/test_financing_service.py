"""Financing on both backends: the worked day-count examples, the limit, the waterfall,
idempotency, participant lenders, and refused calls that write nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from financing_helpers import APR_1, JAN_1, OPENED, cash_minor, deposit, eur
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.errors import (
    AccountNotFoundError,
    ConstraintViolatedError,
    CurrencyMismatchError,
    FacilityLimitExceededError,
    FacilityNotFoundError,
    IdempotencyConflictError,
    InputError,
    InvalidInputError,
    LedgerError,
    RepaymentExceedsDebtError,
)


def platform_facility(ledger: Ledger, day_count: str = "ACT/360", fid: str = "fac-1") -> None:
    ledger.financing.open_facility(
        fid, "shu-brocade", "platform", eur("2000000.00"), "0.05", day_count, at=OPENED
    )


def journal_size(ledger: Ledger) -> int:
    return len(list(ledger.entries()))


@pytest.mark.parametrize(
    ("day_count", "expected"), [("ACT/360", "12500.00"), ("ACT/365F", "12328.77")]
)
def test_worked_example_1m_at_5_percent_for_90_days(
    ledger: Ledger, day_count: str, expected: str
) -> None:
    platform_facility(ledger, day_count)
    ledger.financing.draw("fac-1", eur("1000000.00"), reference="d1", at=JAN_1)
    [state] = ledger.financing.accrue(APR_1)
    assert state.money(state.interest_accrued_minor) == eur(expected)
    assert ledger.balance("financing:interest:fac-1").posted == eur(expected)
    assert ledger.balance("financing:interest-income:EUR").posted == eur(expected)
    assert ledger.balance("financing:loan:fac-1").posted == eur("1000000.00")
    assert cash_minor(ledger, "shu-brocade") == 100_000_000
    interest = [e for e in ledger.entries() if e.kind == "interest"]
    assert len(interest) == 90  # one entry per day
    assert interest[0].key == "financing/fac-1/interest/2026-01-01"
    assert interest[-1].key == "financing/fac-1/interest/2026-03-31"
    assert ledger.verify().ok


def test_accrue_is_idempotent_and_resumes(ledger: Ledger) -> None:
    platform_facility(ledger)
    ledger.financing.draw("fac-1", eur("1000000.00"), at=JAN_1)
    ledger.financing.accrue(datetime(2026, 2, 15, 17, tzinfo=UTC))
    size = journal_size(ledger)
    ledger.financing.accrue(datetime(2026, 2, 15, 23, tzinfo=UTC))  # same day: nothing new
    ledger.financing.accrue(datetime(2026, 1, 20, tzinfo=UTC))  # earlier: nothing
    assert journal_size(ledger) == size
    [state] = ledger.financing.accrue(APR_1)
    assert state.interest_accrued_minor == 1_250_000  # the same as one run to April 1


def test_drawdown_within_limit_and_refused_beyond(ledger: Ledger) -> None:
    platform_facility(ledger)
    ledger.financing.draw("fac-1", eur("1500000.00"), reference="d1", at=JAN_1)
    size = journal_size(ledger)
    later = datetime(2026, 1, 10, tzinfo=UTC)
    with pytest.raises(FacilityLimitExceededError) as caught:
        ledger.financing.draw("fac-1", eur("500000.01"), reference="d2", at=later)
    assert caught.value.details["limit"] == "2000000.00"
    assert caught.value.details["outstanding"] == "1500000.00"
    # Refused: nothing written, not even the accrual the drawdown would have triggered.
    assert journal_size(ledger) == size
    assert ledger.financing.state("fac-1").accrued_until == datetime(2026, 1, 1, tzinfo=UTC)
    state = ledger.financing.draw("fac-1", eur("500000.00"), reference="d2", at=later)
    assert state.principal_minor == state.limit_minor
    assert state.available_minor == 0


def test_interest_follows_the_principal_day_by_day(ledger: Ledger) -> None:
    platform_facility(ledger)
    ledger.financing.draw("fac-1", eur("360000.00"), at=JAN_1)  # 50.00 a day at 5%/360
    ledger.financing.draw("fac-1", eur("360000.00"), at=datetime(2026, 1, 11, 15, tzinfo=UTC))
    [state] = ledger.financing.accrue(datetime(2026, 1, 21, tzinfo=UTC))
    # Jan 1..10 on 360,000 (10 x 50.00), Jan 11..20 on 720,000 (10 x 100.00)
    assert state.interest_accrued_minor == 150_000


def test_repayment_waterfall_interest_then_principal(ledger: Ledger) -> None:
    platform_facility(ledger)
    ledger.financing.draw("fac-1", eur("1000000.00"), at=JAN_1)
    ledger.financing.accrue(APR_1)
    state = ledger.financing.repay("fac-1", eur("10000.00"), reference="r1", at=APR_1)
    assert (state.interest_paid_minor, state.principal_minor) == (1_000_000, 100_000_000)
    state = ledger.financing.repay("fac-1", eur("102500.00"), reference="r2", at=APR_1)
    assert state.interest_due_minor == 0
    assert state.principal_minor == 90_000_000
    assert state.principal_repaid_minor == 10_000_000
    [entry] = [e for e in ledger.entries() if e.key == "financing/fac-1/repayment/r2"]
    assert entry.kind == "repayment"
    assert entry.metadata == {
        "facility_id": "fac-1",
        "interest": "2500.00",
        "principal": "100000.00",
    }
    assert ledger.balance("financing:loan:fac-1").posted == eur("900000.00")
    assert ledger.balance("financing:interest:fac-1").posted == eur("0.00")
    assert cash_minor(ledger, "shu-brocade") == 100_000_000 - 11_250_000
    assert ledger.verify().ok


def test_repayment_accrues_the_days_before_it(ledger: Ledger) -> None:
    platform_facility(ledger)
    ledger.financing.draw("fac-1", eur("1000000.00"), at=JAN_1)
    state = ledger.financing.repay("fac-1", eur("20000.00"), at=datetime(2026, 4, 1, 8, tzinfo=UTC))
    assert state.interest_paid_minor == 1_250_000  # 90 days accrued first, then paid
    assert state.principal_minor == 100_000_000 - 750_000


def test_overpayment_and_overdraft_are_refused_and_write_nothing(ledger: Ledger) -> None:
    platform_facility(ledger)
    ledger.financing.draw("fac-1", eur("1000.00"), at=JAN_1)
    deposit(ledger, "shu-brocade", eur("5000.00"), "deposit-1")
    size = journal_size(ledger)
    with pytest.raises(RepaymentExceedsDebtError) as caught:
        ledger.financing.repay("fac-1", eur("1000.15"), at=datetime(2026, 1, 2, tzinfo=UTC))
    assert caught.value.details["interest_due"] == "0.14"  # 1000 * 5% / 360, one day
    assert caught.value.details["principal"] == "1000.00"
    assert journal_size(ledger) == size
    ledger.financing.repay("fac-1", eur("1000.14"), at=datetime(2026, 1, 2, tzinfo=UTC))
    assert ledger.financing.state("fac-1").principal_minor == 0
    assert journal_size(ledger) == size + 2  # the day's interest and the repayment


def test_repayment_needs_the_borrowers_cash(ledger: Ledger) -> None:
    platform_facility(ledger)
    ledger.financing.draw("fac-1", eur("1000.00"), at=JAN_1)
    ledger.post(  # the borrower spends the money elsewhere
        Entry(
            "spend",
            [
                debit("participant:shu-brocade:cash:EUR", eur("900.00")),
                credit("financing:interest-income:EUR", eur("900.00")),
            ],
        )
    )
    size = journal_size(ledger)
    with pytest.raises(ConstraintViolatedError):
        ledger.financing.repay("fac-1", eur("500.00"), at=datetime(2026, 1, 5, tzinfo=UTC))
    assert journal_size(ledger) == size
    assert ledger.financing.state("fac-1").interest_accrued_minor == 0  # accrual rolled back


def test_same_reference_is_a_replay_other_content_a_conflict(ledger: Ledger) -> None:
    platform_facility(ledger)
    first = ledger.financing.draw("fac-1", eur("1000.00"), reference="d1", at=JAN_1)
    again = ledger.financing.draw("fac-1", eur("1000.00"), reference="d1", at=JAN_1)
    assert again == first
    with pytest.raises(IdempotencyConflictError):
        ledger.financing.draw("fac-1", eur("1000.01"), reference="d1", at=JAN_1)
    assert ledger.financing.state("fac-1").principal_minor == 100_000
    # Opening again with the same terms is a no-op; other terms conflict.
    platform_facility(ledger)
    with pytest.raises(IdempotencyConflictError):
        ledger.financing.open_facility(
            "fac-1", "shu-brocade", "platform", eur("2000000.00"), "0.06", "ACT/360"
        )


def test_participant_lender_funds_the_loan_and_is_repaid(ledger: Ledger) -> None:
    deposit(ledger, "silk-bank", eur("10000.00"), "deposit-lender")
    ledger.financing.open_facility(
        "fac-2", "lao-lacquer", "silk-bank", eur("8000.00"), "0.0365", "ACT/365F", at=OPENED
    )
    ledger.financing.open_facility(
        "fac-3", "lao-lacquer", "silk-bank", eur("20000.00"), "0.05", "ACT/360", at=OPENED
    )
    with pytest.raises(ConstraintViolatedError):  # the lender's cash bounds what it can lend
        ledger.financing.draw("fac-3", eur("12000.00"), at=JAN_1)
    ledger.financing.draw("fac-2", eur("5000.00"), at=JAN_1)
    assert cash_minor(ledger, "silk-bank") == 500_000
    assert cash_minor(ledger, "lao-lacquer") == 500_000
    ledger.financing.accrue(datetime(2026, 1, 11, tzinfo=UTC))  # 5000 * 3.65% / 365 = 0.50/day
    assert ledger.balance("financing:lender:fac-2").posted == eur("5005.00")
    deposit(ledger, "lao-lacquer", eur("5.00"), "deposit-borrower")
    state = ledger.financing.repay("fac-2", eur("5005.00"), at=datetime(2026, 1, 11, tzinfo=UTC))
    assert state.principal_minor == 0 and state.interest_due_minor == 0
    assert cash_minor(ledger, "silk-bank") == 1_000_500
    assert cash_minor(ledger, "lao-lacquer") == 0
    assert ledger.balance("financing:lender:fac-2").posted_minor == 0
    assert ledger.verify().ok


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda f: f.draw("nope", eur("1.00")), FacilityNotFoundError),
        (lambda f: f.draw("fac-1", Money("1.00", "CNY")), CurrencyMismatchError),
        (lambda f: f.draw("fac-1", eur("0.00")), LedgerError),
        (lambda f: f.draw("fac-1", eur("1.00"), at=datetime(2026, 1, 1)), InputError),
        (
            lambda f: f.draw("fac-1", eur("1.00"), at=datetime(2025, 6, 1, tzinfo=UTC)),
            InvalidInputError,
        ),
        (lambda f: f.repay("fac-1", eur("1.00"), reference="bad ref"), InvalidInputError),
        (
            lambda f: f.open_facility("x", "a", "b", eur("1.00"), 0.05, "ACT/360"),
            InvalidInputError,
        ),
        (
            lambda f: f.open_facility("x", "a", "b", eur("1.00"), "0.05", "30/360"),
            InvalidInputError,
        ),
        (
            lambda f: f.open_facility("x", "a", "a", eur("1.00"), "0.05", "ACT/360"),
            InvalidInputError,
        ),
        (
            lambda f: f.open_facility("x", "platform", "a", eur("1.00"), "0.05", "ACT/360"),
            InvalidInputError,
        ),
        (
            lambda f: f.open_facility("x", "a", "b", eur("1.00"), "-0.01", "ACT/360"),
            InvalidInputError,
        ),
    ],
)
def test_refused_calls_write_nothing(ledger: Ledger, call: object, error: type[Exception]) -> None:
    platform_facility(ledger)
    ledger.financing.draw("fac-1", eur("10.00"), at=datetime(2026, 1, 1, tzinfo=UTC))
    ledger.financing.accrue(datetime(2026, 1, 3, tzinfo=UTC))
    size, before = journal_size(ledger), ledger.financing.state("fac-1")
    with pytest.raises(error):
        call(ledger.financing)  # type: ignore[operator]
    assert journal_size(ledger) == size
    assert ledger.financing.state("fac-1") == before
    assert [f.facility_id for f in ledger.financing.facilities()] == ["fac-1"]
    with pytest.raises(AccountNotFoundError):
        ledger.balance("financing:loan:x")

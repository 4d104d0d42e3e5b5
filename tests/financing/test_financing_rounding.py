"""Property: posted interest never loses rounding. Whatever the principal, rate, day count and
accrual schedule, the interest entries sum to the exact total (computed here independently
with Fraction) rounded half-even, and each posted total stays within half a minor unit."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaolong_ledger import Ledger

START = datetime(2026, 1, 1, tzinfo=UTC)
BASIS = {"ACT/360": 360, "ACT/365F": 365}
EXPONENT = {"EUR": 2, "JPY": 0, "KWD": 3}
ids = itertools.count()


def half_even(value: Fraction) -> int:
    return round(value)  # Python rounds a Fraction half to even


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    principal_minor=st.integers(min_value=1, max_value=10**11),
    second_minor=st.integers(min_value=1, max_value=10**9),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.25"), places=6),
    day_count=st.sampled_from(sorted(BASIS)),
    currency=st.sampled_from(["EUR", "JPY", "KWD"]),
    steps=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=4),
    second_day=st.integers(min_value=0, max_value=60),
)
def test_posted_interest_is_the_rounded_exact_total(
    ledger: Ledger,
    principal_minor: int,
    second_minor: int,
    rate: Decimal,
    day_count: str,
    currency: str,
    steps: list[int],
    second_day: int,
) -> None:
    from jiaolong_ledger.money import minor_to_money

    fid = f"prop-{next(ids)}"
    limit = minor_to_money(principal_minor + second_minor, currency)
    ledger.financing.open_facility(fid, "borrower", "platform", limit, str(rate), day_count)
    ledger.financing.draw(fid, minor_to_money(principal_minor, currency), at=START)
    second_at = START + timedelta(days=second_day, hours=13)
    exact = Fraction(0)
    accrued_days = 0
    drawn_second = False
    for step in steps:
        until_day = accrued_days + step
        if not drawn_second and second_day < until_day:
            # The drawdown accrues the days before it, then bears interest from its own day.
            ledger.financing.draw(fid, minor_to_money(second_minor, currency), at=second_at)
            drawn_second = True
        [state] = ledger.financing.accrue(START + timedelta(days=until_day), fid)
        for day in range(accrued_days, until_day):
            principal = principal_minor + (
                second_minor if drawn_second and day >= second_day else 0
            )
            exact += Fraction(principal) * Fraction(rate) / BASIS[day_count]
        accrued_days = until_day
        posted = sum(
            e.postings[0].amount_minor
            for e in ledger.entries()
            if e.kind == "interest" and e.metadata["facility_id"] == fid
        )
        assert posted == state.interest_accrued_minor == half_even(exact)
        assert abs(Fraction(posted) - exact) <= Fraction(1, 2)
        shown = Fraction(str(state.interest_exact)) * 10 ** EXPONENT[currency]
        assert abs(shown - exact) < Fraction(1, 10**20)  # the exact total, to 40 digits

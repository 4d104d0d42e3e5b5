"""Release plans, release amounts and fee parts: pure arithmetic, no database."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moneyed import Money

from jiaolong_ledger.errors import (
    CurrencyMismatchError,
    InvalidInputError,
    ReleasePlanInvalidError,
)
from jiaolong_ledger.escrow.plan import (
    MILESTONES,
    ReleasePlan,
    fee_part_minor,
    platform_fee,
    release_amounts_minor,
)
from jiaolong_ledger.money import exponent, minor_to_money, money_to_minor

CURRENCIES = ("JPY", "EUR", "KWD")


@st.composite
def plans(draw: st.DrawFn) -> ReleasePlan:
    """Random valid plans: 1-6 distinct milestones in any order, shares with up to 3 decimals."""
    count = draw(st.integers(1, len(MILESTONES)))
    milestones = draw(st.permutations(MILESTONES))[:count]
    cuts = sorted(draw(st.sets(st.integers(1, 99_999), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 100_000]
    shares = [Decimal(b - a) / 1000 for a, b in itertools.pairwise(bounds)]
    return ReleasePlan.parse(
        [{"milestone": m, "share": str(s)} for m, s in zip(milestones, shares, strict=True)]
    )


@st.composite
def amounts(draw: st.DrawFn) -> Money:
    currency = draw(st.sampled_from(CURRENCIES))
    minor = draw(st.one_of(st.integers(1, 1_000), st.integers(1, 10**15)))
    return minor_to_money(minor, currency)


@given(amount=amounts(), plan=plans())
@settings(max_examples=300)
def test_releases_sum_exactly_to_the_amount(amount: Money, plan: ReleasePlan) -> None:
    minor, currency = money_to_minor(amount)
    parts = plan.amounts_minor(minor)
    assert len(parts) == len(plan.items)
    assert all(part >= 0 for part in parts)
    assert sum(parts) == minor
    # Back in Money, in the currency's own decimals: the parts still add up exactly.
    total = sum((minor_to_money(part, currency) for part in parts), Money(0, currency))
    assert total == amount
    # Every part but the last is the share rounded down; the last takes the remainder.
    for part, item in zip(parts[:-1], plan.items[:-1], strict=True):
        exact = Decimal(minor) * item.share / 100
        assert part <= exact < part + 1


@given(amount=amounts(), plan=plans(), rate=st.integers(0, 1000))
@settings(max_examples=300)
def test_fee_parts_sum_to_the_fee_and_never_exceed_their_release(
    amount: Money, plan: ReleasePlan, rate: int
) -> None:
    minor = money_to_minor(amount)[0]
    fee_minor = money_to_minor(platform_fee(amount, Decimal(rate) / 1000))[0]
    released = 0
    fee_total = 0
    for part in plan.amounts_minor(minor):
        fee = fee_part_minor(fee_minor, minor, released, part)
        assert 0 <= fee <= part
        released += part
        fee_total += fee
    assert released == minor
    assert fee_total == fee_minor


def test_example_plan_amounts_in_three_currencies() -> None:
    plan = ReleasePlan.parse([("departed", "30"), ("customs_cleared", "60"), ("delivered", "10")])
    assert plan.amounts_minor(100) == [30, 60, 10]
    # JPY 1,001: 30% = 300.3 -> 300, 60% = 600.6 -> 600, the last takes 101.
    assert plan.amounts_minor(1_001) == [300, 600, 101]
    # KWD 0.007 (7 fils): 2, 4, and the remainder 1.
    assert plan.amounts_minor(7) == [2, 4, 1]
    assert exponent("KWD") == 3


def test_thirds_keep_every_minor_unit() -> None:
    plan = ReleasePlan.parse(
        [("departed", "33.333"), ("arrived", "33.333"), ("delivered", "33.334")]
    )
    assert plan.amounts_minor(1) == [0, 0, 1]
    assert plan.amounts_minor(100_000) == [33_333, 33_333, 33_334]
    assert sum(plan.amounts_minor(999_999_999)) == 999_999_999


@pytest.mark.parametrize(
    "items",
    [
        [],
        [("departed", "30"), ("delivered", "60")],
        [("departed", "30"), ("delivered", "70.0001")],
        [("departed", "50"), ("departed", "50")],
        [("departed", "0"), ("delivered", "100")],
        [("departed", "-10"), ("delivered", "110")],
        [("teleported", "100")],
        [("departed", "abc")],
        [("departed", 100.0)],
        [("departed", "NaN")],
    ],
)
def test_invalid_plans_are_release_plan_invalid(items: list[tuple[str, object]]) -> None:
    with pytest.raises(ReleasePlanInvalidError):
        ReleasePlan.parse(items)


def test_plan_keeps_its_order_and_accepts_integers() -> None:
    plan = ReleasePlan.parse([("delivered", 40), ("departed", 60)])
    assert [item.milestone for item in plan.items] == ["delivered", "departed"]
    assert plan.position("departed") == 1
    assert plan.position("arrived") is None
    assert plan.to_list() == [
        {"milestone": "delivered", "share": "40"},
        {"milestone": "departed", "share": "60"},
    ]


def test_platform_fee_rounds_half_even_or_takes_an_amount() -> None:
    assert platform_fee(Money("100.00", "EUR"), "0.015") == Money("1.50", "EUR")
    # 0.125 EUR is a tie: half-even rounds to 0.12.
    assert platform_fee(Money("12.50", "EUR"), "0.01") == Money("0.12", "EUR")
    assert platform_fee(Money("12.70", "EUR"), "0.01") == Money("0.13", "EUR")
    assert platform_fee(Money("1001", "JPY"), "0.015") == Money("15", "JPY")
    assert platform_fee(Money("100.00", "EUR"), fee=Money("7.00", "EUR")) == Money("7.00", "EUR")
    assert platform_fee(Money("100.00", "EUR")) == Money("0.00", "EUR")


def test_platform_fee_refuses_bad_input() -> None:
    with pytest.raises(InvalidInputError):
        platform_fee(Money("100.00", "EUR"), "0.01", Money("1.00", "EUR"))
    with pytest.raises(InvalidInputError):
        platform_fee(Money("100.00", "EUR"), "1.5")
    with pytest.raises(InvalidInputError):
        platform_fee(Money("100.00", "EUR"), fee=Money("100.01", "EUR"))
    with pytest.raises(CurrencyMismatchError):
        platform_fee(Money("100.00", "EUR"), fee=Money("1.00", "CNY"))
    with pytest.raises(TypeError):
        platform_fee(Money("100.00", "EUR"), 0.015)  # type: ignore[arg-type]


def test_release_amounts_of_zero_and_single_share() -> None:
    assert release_amounts_minor(0, [Decimal(30), Decimal(70)]) == [0, 0]
    assert release_amounts_minor(5, [Decimal(100)]) == [5]

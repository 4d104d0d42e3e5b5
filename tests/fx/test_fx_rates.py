"""The rate store: storing, validating, and finding direct, inverse and triangulated rates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

import pytest
from fx_helpers import AFTERNOON, FIXING, count_rates
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.errors import (
    InvalidInputError,
    InvalidRateError,
    RateNotFoundError,
    RateStaleError,
    UnknownCurrencyError,
)
from jiaolong_ledger.fx import DEFAULT_MAX_AGE, RATE_PRECISION


def at_rate_precision(value: Decimal) -> Decimal:
    """``value`` (computed at 28 digits) rounded half-even to the stated rate precision."""
    with localcontext() as context:
        context.prec = RATE_PRECISION
        return +value


def test_direct_rate_is_returned_exactly_as_stored(eur_cny: Ledger) -> None:
    found = eur_cny.fx.rate("EUR", "CNY", AFTERNOON)
    assert found.rate == Decimal("7.8123")
    assert str(found.rate) == "7.8123"
    assert (found.base, found.quote, found.as_of, found.source) == ("EUR", "CNY", FIXING, "ECB")
    assert found.path == ("EUR", "CNY")
    assert found.legs == ("EUR/CNY",)
    assert found.method == "direct"
    assert found.bid is None and found.ask is None


def test_inverse_rate_is_one_over_the_stored_rate(eur_cny: Ledger) -> None:
    found = eur_cny.fx.rate("CNY", "EUR", AFTERNOON)
    assert found.method == "inverse"
    assert found.path == ("CNY", "EUR")
    assert found.legs == ("EUR/CNY",)
    assert found.rate == Decimal("0.12800327688388822754")  # 1 / 7.8123 to 20 digits
    assert len(found.rate.as_tuple().digits) == RATE_PRECISION


def test_cross_rate_is_triangulated_through_the_pivot(eur_cny: Ledger) -> None:
    found = eur_cny.fx.rate("USD", "CNY", AFTERNOON)
    assert found.method == "triangulated"
    assert found.path == ("USD", "EUR", "CNY")
    assert found.legs == ("EUR/USD", "EUR/CNY")
    with localcontext() as context:
        context.prec = 50
        exact = Decimal("7.8123") / Decimal("1.0812")
    assert abs(found.rate - exact) <= exact * Decimal(10) ** (1 - RATE_PRECISION) / 2
    assert found.source == "ECB"


def test_latest_rate_at_or_before_the_instant(ledger: Ledger) -> None:
    day1, day2 = FIXING, FIXING + timedelta(days=1)
    ledger.fx.set_rate("EUR", "CNY", "7.80", day1, "ECB")
    ledger.fx.set_rate("EUR", "CNY", "7.90", day2, "ECB")
    assert ledger.fx.rate("EUR", "CNY", day1).rate == Decimal("7.80")
    assert ledger.fx.rate("EUR", "CNY", day2 - timedelta(microseconds=1)).rate == Decimal("7.80")
    assert ledger.fx.rate("EUR", "CNY", day2).rate == Decimal("7.90")
    assert ledger.fx.rate("EUR", "CNY", day2 + timedelta(hours=5)).rate == Decimal("7.90")
    with pytest.raises(RateNotFoundError) as raised:
        ledger.fx.rate("EUR", "CNY", day1 - timedelta(seconds=1))
    assert raised.value.details["base"] == "EUR" and raised.value.details["quote"] == "CNY"


def test_rate_defaults_to_now_from_the_ledger_clock(db_url: str) -> None:
    clock_now = FIXING + timedelta(hours=2)
    with Ledger.connect(db_url, clock=lambda: clock_now) as ledger:
        ledger.fx.set_rate("EUR", "CNY", "7.80", FIXING, "ECB")
        ledger.fx.set_rate("EUR", "CNY", "9.99", FIXING + timedelta(hours=3), "ECB")
        assert ledger.fx.rate("EUR", "CNY").rate == Decimal("7.80")


def test_a_rate_older_than_max_age_is_stale(eur_cny: Ledger) -> None:
    assert timedelta(days=5) == DEFAULT_MAX_AGE
    assert eur_cny.fx.rate("EUR", "CNY", FIXING + DEFAULT_MAX_AGE).rate == Decimal("7.8123")
    late = FIXING + DEFAULT_MAX_AGE + timedelta(seconds=1)
    with pytest.raises(RateStaleError) as raised:
        eur_cny.fx.rate("USD", "CNY", late)
    details = raised.value.details
    assert details["as_of"] == "2026-11-25T13:15:00.000000Z"
    assert details["max_age_seconds"] == 5 * 86400
    assert details["path"] == ["USD", "EUR", "CNY"]
    with pytest.raises(RateStaleError):
        eur_cny.fx.rate("EUR", "CNY", AFTERNOON, max_age=timedelta(hours=1))
    assert eur_cny.fx.rate("EUR", "CNY", late, max_age=timedelta(days=6)).rate == Decimal("7.8123")
    eur_cny.fx.configure(max_age=timedelta(days=30))
    assert eur_cny.fx.rate("EUR", "CNY", late).rate == Decimal("7.8123")


def test_the_pivot_is_configurable(ledger: Ledger) -> None:
    ledger.fx.set_rate("USD", "CNY", "7.2", FIXING, "PBOC")
    ledger.fx.set_rate("USD", "JPY", "150", FIXING, "BOJ")
    with pytest.raises(RateNotFoundError) as raised:
        ledger.fx.rate("CNY", "JPY", AFTERNOON)
    assert raised.value.details["pivot"] == "EUR"
    through_usd = ledger.fx.rate("CNY", "JPY", AFTERNOON, pivot="USD")
    assert through_usd.path == ("CNY", "USD", "JPY")
    assert through_usd.source == "PBOC+BOJ"
    assert through_usd.rate == at_rate_precision(Decimal("150") / Decimal("7.2"))
    ledger.fx.configure(pivot="USD")
    assert ledger.fx.rate("CNY", "JPY", AFTERNOON).path == ("CNY", "USD", "JPY")


def test_the_freshest_route_wins_and_direct_wins_a_tie(eur_cny: Ledger) -> None:
    eur_cny.fx.set_rate("USD", "CNY", "7.0", FIXING - timedelta(days=1), "PBOC")
    assert eur_cny.fx.rate("USD", "CNY", AFTERNOON).method == "triangulated"
    eur_cny.fx.set_rate("USD", "CNY", "7.1", FIXING, "PBOC")
    found = eur_cny.fx.rate("USD", "CNY", AFTERNOON)
    assert (found.method, found.rate) == ("direct", Decimal("7.1"))
    eur_cny.fx.set_rate("CNY", "USD", "0.15", FIXING + timedelta(hours=1), "PBOC")
    assert eur_cny.fx.rate("USD", "CNY", AFTERNOON).method == "inverse"


def test_bid_and_ask_invert_and_cross(ledger: Ledger) -> None:
    ledger.fx.set_rate("EUR", "CNY", "7.80", FIXING, "bank", bid="7.70", ask="7.90")
    ledger.fx.set_rate("EUR", "KZT", "560", FIXING, "NBK", bid="550", ask="570")
    direct = ledger.fx.rate("EUR", "CNY", AFTERNOON)
    assert (direct.bid, direct.ask) == (Decimal("7.70"), Decimal("7.90"))
    inverse = ledger.fx.rate("CNY", "EUR", AFTERNOON)
    # bid(B/A) = 1 / ask(A/B): the bank buys CNY at the price it sells EUR for.
    assert inverse.bid == at_rate_precision(Decimal(1) / Decimal("7.90"))
    assert inverse.ask == at_rate_precision(Decimal(1) / Decimal("7.70"))
    cross = ledger.fx.rate("CNY", "KZT", AFTERNOON)
    assert cross.path == ("CNY", "EUR", "KZT")
    # bid(CNY/KZT) = bid(CNY/EUR) x bid(EUR/KZT) = 550 / 7.90
    assert cross.bid == at_rate_precision(Decimal(550) / Decimal("7.90"))
    assert cross.ask == at_rate_precision(Decimal(570) / Decimal("7.70"))
    assert cross.bid is not None and cross.ask is not None
    assert cross.bid < cross.rate < cross.ask


def test_same_currency_is_the_identity(ledger: Ledger) -> None:
    found = ledger.fx.rate("EUR", "EUR", AFTERNOON)
    assert found.rate == 1 and found.method == "identity" and found.path == ("EUR",)
    assert ledger.fx.convert(Money("12.34", "EUR"), "EUR", AFTERNOON) == Money("12.34", "EUR")


@pytest.mark.parametrize(
    "rate",
    ["0", "-1.5", "NaN", "sNaN", "Infinity", "-Infinity", "abc", "", "1e20", "1e-20", 0, -3],
)
def test_a_bad_rate_is_refused_and_changes_nothing(ledger: Ledger, rate: object) -> None:
    with pytest.raises(InvalidRateError) as raised:
        ledger.fx.set_rate("EUR", "CNY", rate, FIXING, "ECB")
    assert raised.value.code == "INVALID_RATE"
    assert raised.value.exit_code == 2
    assert count_rates(ledger) == 0
    with pytest.raises(RateNotFoundError):
        ledger.fx.rate("EUR", "CNY", AFTERNOON)


def test_float_and_bad_inputs_are_refused_and_change_nothing(ledger: Ledger) -> None:
    with pytest.raises(TypeError):
        ledger.fx.set_rate("EUR", "CNY", 7.8123, FIXING, "ECB")
    with pytest.raises(TypeError):
        ledger.fx.set_rate("EUR", "CNY", "7.8", FIXING, "ECB", bid=7.7, ask="7.9")
    with pytest.raises(UnknownCurrencyError):
        ledger.fx.set_rate("EUR", "XYZ", "1.5", FIXING, "ECB")
    with pytest.raises(UnknownCurrencyError):
        ledger.fx.set_rate("eur", "CNY", "7.8", FIXING, "ECB")
    with pytest.raises(InvalidRateError):
        ledger.fx.set_rate("EUR", "EUR", "1", FIXING, "ECB")
    with pytest.raises(InvalidRateError):
        ledger.fx.set_rate("EUR", "CNY", "7.8", FIXING, "bank", bid="7.9", ask="8.0")
    with pytest.raises(InvalidRateError):
        ledger.fx.set_rate("EUR", "CNY", "7.8", FIXING, "bank", bid="7.7")
    with pytest.raises(InvalidRateError):
        ledger.fx.set_rate("EUR", "CNY", "1." + "1" * 30, FIXING, "ECB")
    with pytest.raises(InvalidInputError):  # naive: no UTC offset (SPEC §1 timestamps)
        ledger.fx.set_rate("EUR", "CNY", "7.8", datetime(2026, 11, 25, 13, 15), "ECB")
    with pytest.raises(InvalidInputError):
        ledger.fx.set_rate("EUR", "CNY", "7.8", FIXING, "")
    with pytest.raises(UnknownCurrencyError):
        ledger.fx.rate("EUR", "XYZ", AFTERNOON)
    assert count_rates(ledger) == 0


def test_storing_a_rate_again_is_idempotent_and_a_change_is_refused(ledger: Ledger) -> None:
    ledger.fx.set_rate("EUR", "CNY", "7.8123", FIXING, "ECB")
    ledger.fx.set_rate("EUR", "CNY", "7.81230", FIXING, "ECB")  # the same number
    assert count_rates(ledger) == 1
    with pytest.raises(InvalidRateError) as raised:
        ledger.fx.set_rate("EUR", "CNY", "7.9", FIXING, "ECB")
    assert raised.value.details["recorded"] == "7.8123"
    assert ledger.fx.rate("EUR", "CNY", AFTERNOON).rate == Decimal("7.8123")
    # Another source may quote the same pair at the same instant.
    ledger.fx.set_rate("EUR", "CNY", "7.85", FIXING, "PBOC")
    assert count_rates(ledger) == 2


def test_rates_round_trip_exactly_through_storage(ledger: Ledger, db_url: str) -> None:
    many_digits = "1.234567890123456789012345678"
    ledger.fx.set_rate("EUR", "LAK", "23150.5", FIXING, "BOL")
    ledger.fx.set_rate("EUR", "USD", many_digits, FIXING, "test")
    ledger.fx.set_rate("EUR", "JPY", "0.000000000001", FIXING, "test")
    with Ledger.connect(db_url) as again:
        assert again.fx.rate("EUR", "USD", AFTERNOON).rate == Decimal(many_digits)
        assert again.fx.rate("EUR", "LAK", AFTERNOON).rate == Decimal("23150.5")
        assert again.fx.rate("EUR", "JPY", AFTERNOON).rate == Decimal("1e-12")


def test_withdrawn_ecb_currencies_have_rates_but_cannot_be_booked(ledger: Ledger) -> None:
    old = datetime(2007, 12, 28, 13, 15, tzinfo=UTC)
    ledger.fx.set_rate("EUR", "CYP", "0.585274", old, "ECB")
    assert ledger.fx.rate("CYP", "EUR", old).method == "inverse"
    with pytest.raises(UnknownCurrencyError):
        ledger.fx.convert(Money("100.00", "EUR"), "CYP", old)

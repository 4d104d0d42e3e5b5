"""Properties of conversion, exchange and triangulation, on the real store (SQLite, PostgreSQL).

Each example stores its rates at an instant of its own (later than every earlier example's) and
looks them up at that instant, so examples sharing one ledger never see each other's rates.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal

from fx_helpers import FIXING, open_cash, per_currency_totals
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaolong_ledger import Ledger
from jiaolong_ledger.errors import AmountNotPositiveError
from jiaolong_ledger.fx import RATE_PRECISION
from jiaolong_ledger.fx.rates import ROUNDING_MODES
from jiaolong_ledger.money import exponent, format_minor, minor_to_money

CURRENCIES = ("CNY", "EUR", "USD", "JPY", "KWD", "LAK", "KZT", "RUB")
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# 20 significant digits: a derived rate is within half a unit in the 20th digit (relative
# 5e-20); a chain of two such rates within 2e-19 of the exact product.
RELATIVE_PRECISION = Decimal(10) ** (1 - RATE_PRECISION)

# Bounded so that no amount times any cross rate overflows 64-bit minor units (SPEC §7).
rates = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("30000"), places=6, allow_nan=False
)
pairs = st.lists(st.sampled_from(CURRENCIES), min_size=2, max_size=2, unique=True)
amounts_minor = st.integers(min_value=1, max_value=10**9)


def _instants() -> itertools.count[int]:
    return itertools.count(1)


def _store_route(
    ledger: Ledger, base: str, quote: str, first: Decimal, second: Decimal, direct: bool, hour: int
) -> None:
    """Either the direct quote base/quote = first, or EUR/base = first and EUR/quote = second."""
    as_of = FIXING + timedelta(hours=hour)
    if direct or "EUR" in (base, quote):
        ledger.fx.set_rate(base, quote, first, as_of, f"test-{hour}")
    else:
        ledger.fx.set_rate("EUR", base, first, as_of, f"test-{hour}")
        ledger.fx.set_rate("EUR", quote, second, as_of, f"test-{hour}")


def test_convert_then_convert_back_loses_at_most_the_rounding_bound(ledger: Ledger) -> None:
    hours = _instants()

    @PROPERTY_SETTINGS
    @given(pairs, rates, rates, st.booleans(), amounts_minor)
    def check(
        pair: list[str], first: Decimal, second: Decimal, direct: bool, amount_minor: int
    ) -> None:
        base, quote = pair
        hour = next(hours)
        at = FIXING + timedelta(hours=hour)
        _store_route(ledger, base, quote, first, second, direct, hour)
        original = minor_to_money(amount_minor, base)
        there = ledger.fx.convert(original, quote, at, max_age=timedelta(0))
        back = ledger.fx.convert(there, base, at, max_age=timedelta(0))
        forward = ledger.fx.rate(base, quote, at).rate
        backward = ledger.fx.rate(quote, base, at).rate
        # Half a minor unit of the base, plus half a minor unit of the quote valued in the
        # base, plus the 20-digit rates' own error on the amount.
        scale = Decimal(10) ** (exponent(base) - exponent(quote))
        bound = (
            Decimal("0.5")
            + Decimal("0.5") * scale * backward
            + amount_minor * abs(forward * backward - 1)
        )
        assert abs(forward * backward - 1) <= 2 * RELATIVE_PRECISION
        lost = abs(Decimal(str(back.amount)) - Decimal(str(original.amount)))
        assert lost.scaleb(exponent(base)) <= bound, (original, there, back, bound)

    check()


def test_every_exchange_entry_balances_per_currency(ledger: Ledger) -> None:
    hours = _instants()
    for currency in CURRENCIES:
        open_cash(ledger, "trader", currency, format_minor(10**17, currency))

    @PROPERTY_SETTINGS
    @given(
        pairs,
        rates,
        rates,
        st.booleans(),
        st.integers(min_value=1, max_value=10**7),
        st.sampled_from(sorted(ROUNDING_MODES)),
        st.sampled_from([None, Decimal("0.001"), Decimal("0.02")]),
    )
    def check(
        pair: list[str],
        first: Decimal,
        second: Decimal,
        direct: bool,
        amount_minor: int,
        rounding: str,
        spread: Decimal | None,
    ) -> None:
        source, target = pair
        hour = next(hours)
        at = FIXING + timedelta(hours=hour)
        as_of = at
        if spread is not None and (direct or "EUR" in pair):
            bid, ask = first * (1 - spread), first * (1 + spread)
            ledger.fx.set_rate(source, target, first, as_of, f"d-{hour}", bid=bid, ask=ask)
        else:
            _store_route(ledger, source, target, first, second, direct, hour)
        amount = minor_to_money(amount_minor, source)
        try:
            posted = ledger.fx.exchange(
                f"p/{hour}",
                f"participant:trader:cash:{source}",
                f"participant:trader:cash:{target}",
                amount,
                at=at,
                rounding=rounding,
                max_age=timedelta(0),
            )
        except AmountNotPositiveError:
            return  # worth less than one minor unit of the target: refused, nothing written
        assert per_currency_totals(posted.postings) == {source: 0, target: 0}
        by_account = {p.account: p for p in posted.postings}
        position_target = by_account[f"fx:position:{target}"]
        assert by_account[f"fx:position:{source}"].amount_minor == amount_minor
        customer = by_account[f"participant:trader:cash:{target}"].amount_minor
        spread_income = by_account.get(f"fx:spread-income:{target}")
        income = spread_income.amount_minor if spread_income else 0
        assert customer + income == position_target.amount_minor
        fx = posted.metadata["fx"]
        residue = Decimal(fx["rounding_residue"])
        assert abs(residue) < Decimal(10) ** -exponent(target)
        value = Decimal(format_minor(position_target.amount_minor, target))
        assert value - Decimal(fx["value_exact"]) == residue

    check()
    assert ledger.trial_balance().is_balanced()
    assert ledger.verify().ok


def test_triangulated_rates_equal_the_product_of_their_legs(ledger: Ledger) -> None:
    hours = _instants()
    derived = Context(prec=RATE_PRECISION, rounding=ROUND_HALF_EVEN)
    non_euro = [code for code in CURRENCIES if code != "EUR"]

    @PROPERTY_SETTINGS
    @given(
        st.lists(st.sampled_from(non_euro), min_size=2, max_size=2, unique=True),
        rates,
        rates,
        st.sampled_from([None, Decimal("0.005")]),
    )
    def check(pair: list[str], first: Decimal, second: Decimal, spread: Decimal | None) -> None:
        base, quote = pair
        hour = next(hours)
        at = FIXING + timedelta(hours=hour)
        bids = {"bid": first * (1 - spread), "ask": first * (1 + spread)} if spread else {}
        ledger.fx.set_rate("EUR", base, first, at, f"t-{hour}", **bids)
        ledger.fx.set_rate("EUR", quote, second, at, f"t-{hour}")
        cross = ledger.fx.rate(base, quote, at, max_age=timedelta(0))
        assert cross.path == (base, "EUR", quote)
        to_pivot = ledger.fx.rate(base, "EUR", at)
        from_pivot = ledger.fx.rate("EUR", quote, at)
        assert from_pivot.rate == second  # a direct leg is exact
        # One rounding of the exact quotient ...
        assert cross.rate == derived.divide(second, first)
        # ... so it equals the product of the legs to the stated precision.
        product = to_pivot.rate * from_pivot.rate
        assert abs(cross.rate - product) <= 2 * RELATIVE_PRECISION * cross.rate
        if spread:
            assert cross.bid is not None and to_pivot.bid is not None
            assert cross.ask is not None and to_pivot.ask is not None
            # bid(A/C) = bid(A/EUR) x bid(EUR/C): the EUR/quote leg has no spread.
            assert abs(cross.bid - to_pivot.bid * second) <= 2 * RELATIVE_PRECISION * cross.bid
            assert abs(cross.ask - to_pivot.ask * second) <= 2 * RELATIVE_PRECISION * cross.ask
            assert cross.bid < cross.rate < cross.ask

    check()

"""Interest arithmetic: exact accrual as an integer numerator, rounding only when posting.

Interest for one day = principal × annual rate / basis (``ACT/360``: 360, ``ACT/365F``: 365,
every day counted, leap years included). With the rate written as ``rate_units / 10**scale``
(``"0.05"`` -> 5 / 10**2), a day's interest in minor units is exactly
``principal_minor * rate_units / (basis * 10**scale)``. The facility keeps the running sum of the
numerators, an integer, so the accrued interest is known exactly however many days pass. What
is posted each day is ``round(total after the day) - round(total before it)`` (half-even by
default): the posted amounts always sum to the rounded exact total, so no rounding is lost, and
the difference between posted and exact interest is less than half a minor unit at any time.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Final

from jiaolong_ledger.errors import InputError, InvalidInputError
from jiaolong_ledger.money import exponent, round_to_minor, to_decimal

DAY_COUNT_BASIS: Final = {"ACT/360": 360, "ACT/365F": 365}
ANNUAL_RATE_MAX: Final = Decimal(1)
"""100% a year: anything higher is a typo, not a trade-finance rate."""
RATE_DECIMALS_MAX: Final = 10


def parse_rate(rate: object) -> Decimal:
    """A non-negative annual rate as a Decimal (``"0.05"`` is 5%); floats are refused."""
    try:
        value = to_decimal(rate)
    except (TypeError, ValueError, ArithmeticError, InputError) as error:
        raise InvalidInputError(
            f"annual_rate must be a decimal string like '0.05', got {rate!r}", field="annual_rate"
        ) from error
    decimals = -int(value.as_tuple().exponent) if value.is_finite() else RATE_DECIMALS_MAX + 1
    if not value.is_finite() or not 0 <= value <= ANNUAL_RATE_MAX or decimals > RATE_DECIMALS_MAX:
        raise InvalidInputError(
            f"annual_rate must be between 0 and {ANNUAL_RATE_MAX} with at most "
            f"{RATE_DECIMALS_MAX} decimals, got {rate!r}",
            field="annual_rate",
        )
    return value.normalize() if value != 0 else Decimal(0)


def check_day_count(day_count: object) -> str:
    if day_count not in DAY_COUNT_BASIS:
        raise InvalidInputError(
            f"day_count must be one of {', '.join(DAY_COUNT_BASIS)}, got {day_count!r}",
            field="day_count",
        )
    assert isinstance(day_count, str)
    return day_count


def rate_fraction(rate: Decimal, day_count: str) -> tuple[int, int]:
    """``(rate_units, denominator)``: a day's interest is ``principal * units / denominator``."""
    sign, digits, exp = rate.as_tuple()
    assert sign == 0 and isinstance(exp, int)
    units = int("".join(map(str, digits)) or "0")
    scale = -exp
    if scale < 0:
        units, scale = units * 10**-scale, 0
    return units, DAY_COUNT_BASIS[day_count] * 10**scale


def day_numerator(principal_minor: int, rate_units: int, days: int = 1) -> int:
    return principal_minor * rate_units * days


def rounded_minor(
    numerator: int, denominator: int, currency: str, rounding: str = ROUND_HALF_EVEN
) -> int:
    """``numerator / denominator`` minor units, rounded once, with an explicit mode."""
    # Exact enough: a quotient with this denominator is either exact at this precision or
    # further than 1/(2*denominator) from a tie, so the rounding below is the exact one.
    digits = len(str(abs(numerator))) + len(str(denominator)) + 10
    with localcontext() as context:
        context.prec = digits
        exact_major = (Decimal(numerator) / Decimal(denominator)).scaleb(-exponent(currency))
    return round_to_minor(exact_major, currency, rounding)


def exact_interest(numerator: int, denominator: int, currency: str) -> Decimal:
    """The exact accrued interest in major units, for display (40 significant digits)."""
    with localcontext() as context:
        context.prec = 40
        return (Decimal(numerator) / Decimal(denominator)).scaleb(-exponent(currency))


__all__ = [
    "ANNUAL_RATE_MAX",
    "DAY_COUNT_BASIS",
    "check_day_count",
    "day_numerator",
    "exact_interest",
    "parse_rate",
    "rate_fraction",
    "rounded_minor",
]

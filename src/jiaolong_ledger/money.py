"""Minor units, currency exponents and rounding: the only place amounts are converted.

Booking uses the official ISO 4217 table (the ``iso4217`` package), never CLDR/Babel, which
disagrees for display (LAK, IQD). Amounts enter as ``str``, ``int`` or ``Decimal`` only; a
``float`` is a ``TypeError`` (stricter than py-moneyed, which only warns). An amount that has
more decimals than its currency allows is rejected with ``AMOUNT_PRECISION``: nothing is ever
rounded here except through :func:`round_to_minor`, which names its rounding mode.
"""

from __future__ import annotations

from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from functools import lru_cache
from typing import Final

import iso4217
from moneyed import Currency, Money

from jiaolong_ledger.errors import (
    AmountNotPositiveError,
    AmountOverflowError,
    AmountPrecisionError,
    CurrencyMismatchError,
    InvalidInputError,
    UnknownCurrencyError,
)

AMOUNT_MINOR_MAX: Final = 2**63 - 1
"""Largest amount in minor units that fits the 64-bit storage columns."""

DEFAULT_ROUNDING: Final = ROUND_HALF_EVEN

# Enough digits for any 64-bit minor amount times any sane rate, with room to spare; an
# operation that would need more digits raises (Inexact) instead of rounding silently.
_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation, Overflow])

AmountLike = str | int | Decimal
_POWERS = tuple(Decimal(10) ** exp for exp in range(10))


@lru_cache(maxsize=512)
def exponent(currency_code: str) -> int:
    """ISO 4217 minor-unit exponent of ``currency_code`` (EUR 2, JPY 0, KWD 3)."""
    code = str(currency_code).upper() if isinstance(currency_code, str) else ""
    if len(code) != 3 or code != str(currency_code):
        raise UnknownCurrencyError(
            f"unknown currency {currency_code!r}", currency=str(currency_code)
        )
    try:
        entry = iso4217.Currency(code)
    except ValueError:
        raise UnknownCurrencyError(f"unknown currency {code!r}", currency=code) from None
    if entry.exponent is None:
        raise UnknownCurrencyError(
            f"currency {code!r} has no minor unit and cannot be booked", currency=code
        )
    return int(entry.exponent)


def check_currency(currency_code: str) -> str:
    """Return ``currency_code`` if ISO 4217 knows it with a minor unit, else raise."""
    exponent(currency_code)
    return currency_code


def to_decimal(amount: object) -> Decimal:
    """``Decimal`` from ``str``/``int``/``Decimal``; ``float`` is a ``TypeError``."""
    if isinstance(amount, bool | float):
        raise TypeError(f"money amounts must not be float or bool, got {amount!r}")
    if isinstance(amount, Decimal):
        value = amount
    elif isinstance(amount, int | str):
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise AmountPrecisionError(
                f"not a decimal amount: {amount!r}", amount=str(amount)
            ) from None
    else:
        raise TypeError(f"money amounts must be str, int or Decimal, got {type(amount).__name__}")
    if not value.is_finite():
        raise AmountPrecisionError(f"amount must be finite, got {value}", amount=str(value))
    return value


def _require_decimal(amount: object) -> None:
    if not isinstance(amount, Decimal):
        raise TypeError(f"expected a Decimal amount, got {type(amount).__name__}")


def _require_minor(amount_minor: object) -> None:
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise TypeError(f"minor units must be int, got {type(amount_minor).__name__}")


def decimal_to_minor(amount: Decimal, currency_code: str) -> int:
    """Exact conversion to minor units; raises ``AMOUNT_PRECISION`` rather than round."""
    _require_decimal(amount)
    exp = exponent(currency_code)
    if amount.as_tuple().exponent >= -exp:  # type: ignore[operator]  # finite: int exponent
        # No more decimals than the currency has: the product is an exact integer.
        try:
            minor = int(_EXACT.multiply(amount, _POWERS[exp]))
        except (Inexact, Overflow):
            minor = AMOUNT_MINOR_MAX + 1
        if abs(minor) > AMOUNT_MINOR_MAX:
            raise AmountOverflowError(
                f"{amount} {currency_code} does not fit in 64-bit minor units",
                amount=str(amount),
                currency=currency_code,
            )
        return minor
    try:
        scaled = amount.scaleb(exp, _EXACT)
        exact = scaled == scaled.to_integral_value(context=_EXACT)
    except (Inexact, Overflow):
        exact = False
    if not exact:
        raise AmountPrecisionError(
            f"{amount} has more decimals than {currency_code} allows ({exp})",
            amount=str(amount),
            currency=currency_code,
            exponent=exp,
        )
    minor = int(scaled)
    if abs(minor) > AMOUNT_MINOR_MAX:
        raise AmountOverflowError(
            f"{amount} {currency_code} does not fit in 64-bit minor units",
            amount=str(amount),
            currency=currency_code,
        )
    return minor


def money_to_minor(money: Money) -> tuple[int, str]:
    """``(amount_minor, currency_code)`` of a ``Money``, exactly."""
    if not isinstance(money, Money):
        raise TypeError(f"expected moneyed.Money, got {type(money).__name__}")
    code = str(money.currency.code)
    return decimal_to_minor(to_decimal(money.amount), code), code


def positive_minor(money: Money) -> tuple[int, str]:
    """Like :func:`money_to_minor` but the amount must be strictly positive."""
    minor, code = money_to_minor(money)
    if minor <= 0:
        raise AmountNotPositiveError(
            f"amount must be positive, got {money.amount} {code}",
            amount=str(money.amount),
            currency=code,
        )
    return minor, code


def minor_to_decimal(amount_minor: int, currency_code: str) -> Decimal:
    """The exact ``Decimal`` for ``amount_minor``, quantized to the currency's exponent."""
    _require_minor(amount_minor)
    exp = exponent(currency_code)
    with localcontext(_EXACT):
        return Decimal(amount_minor).scaleb(-exp)


def minor_to_money(amount_minor: int, currency_code: str) -> Money:
    return Money(minor_to_decimal(amount_minor, currency_code), Currency(currency_code))


def format_minor(amount_minor: int, currency_code: str) -> str:
    """Decimal string with exactly the currency's exponent: ``"100.00"``, ``"5"``, ``"1.500"``."""
    _require_minor(amount_minor)
    exp = exponent(currency_code)
    if exp == 0:
        return str(amount_minor)
    whole, fraction = divmod(abs(amount_minor), 10**exp)
    sign = "-" if amount_minor < 0 else ""
    return f"{sign}{whole}.{fraction:0{exp}d}"


def parse_minor(text: str, currency_code: str) -> int:
    """Parse a decimal string into minor units exactly (``AMOUNT_PRECISION`` if it cannot)."""
    if not isinstance(text, str):
        raise TypeError(f"expected a decimal string, got {type(text).__name__}")
    return decimal_to_minor(to_decimal(text), currency_code)


def round_to_minor(amount: Decimal, currency_code: str, rounding: str = DEFAULT_ROUNDING) -> int:
    """Round a Decimal amount to the currency's minor unit with an explicit rounding mode."""
    _require_decimal(amount)
    exp = exponent(currency_code)
    with localcontext(_EXACT):
        minor = int(amount.scaleb(exp).to_integral_value(rounding=rounding))
    if abs(minor) > AMOUNT_MINOR_MAX:
        raise AmountOverflowError(
            f"{amount} {currency_code} does not fit in 64-bit minor units", currency=currency_code
        )
    return minor


def money(amount: AmountLike, currency_code: str) -> Money:
    """Build a validated ``Money``: no float, no excess decimals, known currency."""
    value = to_decimal(amount)
    decimal_to_minor(value, currency_code)
    return Money(value, Currency(currency_code))


FEE_ROUNDING: Final = ROUND_HALF_EVEN
"""Platform fees at a rate round half-even to the minor unit."""


def platform_fee(
    amount: Money, rate: str | int | Decimal | None = None, fee: Money | None = None
) -> Money:
    """The platform fee of an order: ``amount * rate`` rounded half-even, or ``fee`` as given.

    ``rate`` is a decimal fraction (``"0.015"`` is 1.5%) in [0, 1]; ``fee`` must be in the
    order's currency and at most the amount. With neither, the fee is zero.
    """
    amount_minor, currency = money_to_minor(amount)
    if rate is not None and fee is not None:
        raise InvalidInputError(
            "give a platform fee rate or a platform fee amount, not both",
            field="platform_fee_rate",
        )
    if fee is not None:
        fee_minor, fee_currency = money_to_minor(fee)
        if fee_currency != currency:
            raise CurrencyMismatchError(
                f"platform fee is in {fee_currency}, the order in {currency}",
                field="platform_fee",
                account_currency=currency,
                posting_currency=fee_currency,
            )
    elif rate is not None:
        rate_value = to_decimal(rate)
        if rate_value < 0 or rate_value > 1:
            raise InvalidInputError(
                f"platform fee rate must be a fraction in [0, 1], got {rate_value}",
                field="platform_fee_rate",
            )
        exact = minor_to_decimal(amount_minor, currency) * rate_value
        fee_minor = round_to_minor(exact, currency, FEE_ROUNDING)
    else:
        fee_minor = 0
    if fee_minor < 0 or fee_minor > amount_minor:
        raise InvalidInputError(
            "platform fee must be between zero and the order amount", field="platform_fee"
        )
    return minor_to_money(fee_minor, currency)

"""Rate values, their validation, and how a cross or inverse rate is derived from stored quotes.

A stored quote says ``rate`` units of ``quote`` per 1 ``base``. Every path from one currency to
another is a chain of *legs*, each a stored quote used forward or inverted, and is evaluated as
one fraction (the product of the legs' numerators over the product of their denominators) with
a single rounding to :data:`RATE_PRECISION` significant digits. A direct stored quote is used
exactly as stored (no rounding at all). Bid and ask follow the usual cross-rate rules: an
inverted leg swaps them (bid(B/A) = 1/ask(A/B)), and a chain multiplies bids with bids and asks
with asks (bid(A/C) = bid(A/B) x bid(B/C)).

Everything here is pure: the store (``fx/store.py``) fetches the quotes, this module combines
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    InvalidOperation,
    localcontext,
)
from itertools import pairwise
from typing import Any, Final

from moneyed import Money

from jiaolong_ledger.errors import (
    CurrencyMismatchError,
    InvalidInputError,
    InvalidRateError,
    UnknownCurrencyError,
)
from jiaolong_ledger.journal.canonical import format_timestamp
from jiaolong_ledger.money import (
    check_currency,
    minor_to_decimal,
    minor_to_money,
    money_to_minor,
    round_to_minor,
)

RATE_PRECISION: Final = 20
"""Significant digits of a derived (inverse or triangulated) rate; one rounding, half-even."""

RATE_DIGITS_MAX: Final = 28
"""Significant digits a stored rate may carry."""

RATE_MIN: Final = Decimal("1e-12")
RATE_MAX: Final = Decimal("1e12")

DEFAULT_PIVOT: Final = "EUR"

DEFAULT_MAX_AGE: Final = timedelta(days=5)
"""Oldest rate used without an explicit ``max_age``. Five days spans the longest gap in the ECB
calendar (Maundy Thursday's fixing to Tuesday after Easter) so daily reference rates never go
stale over a holiday, while a feed that has stopped is caught within a working week."""

ROUNDING_MODES: Final = frozenset(
    {
        ROUND_HALF_EVEN,
        ROUND_HALF_UP,
        ROUND_HALF_DOWN,
        ROUND_UP,
        ROUND_DOWN,
        ROUND_CEILING,
        ROUND_FLOOR,
    }
)
"""Monotone rounding modes accepted for conversions (``ROUND_05UP`` is not offered)."""

RATE_ONLY_CURRENCIES: Final = frozenset(
    {"BGN", "CYP", "EEK", "HRK", "LTL", "LVL", "MTL", "ROL", "SIT", "SKK", "TRL"}
)
"""Withdrawn ISO 4217 codes that appear in the ECB's reference-rate history. Their rates are
stored so a full history file loads, but nothing can be booked or converted in them."""

_DERIVE = Context(prec=RATE_PRECISION, rounding=ROUND_HALF_EVEN)
_EXACT = Context(prec=80)


def check_rate_currency(code: object) -> str:
    """A currency a rate may name: a bookable ISO 4217 code, or a withdrawn ECB one."""
    if isinstance(code, str) and code in RATE_ONLY_CURRENCIES:
        return code
    if not isinstance(code, str):
        raise UnknownCurrencyError(f"unknown currency {code!r}", currency=str(code))
    return check_currency(code)


def check_rounding(rounding: object) -> str:
    if rounding not in ROUNDING_MODES:
        raise InvalidInputError(
            f"rounding must be one of {', '.join(sorted(ROUNDING_MODES))}, got {rounding!r}",
            rounding=str(rounding),
        )
    assert isinstance(rounding, str)
    return rounding


def parse_rate(value: object, field: str = "rate", **context: Any) -> Decimal:
    """A validated rate from ``str``/``int``/``Decimal``: positive, finite, sane, not float."""
    if isinstance(value, bool | float):
        raise TypeError(f"{field} must be str, int or Decimal, never {type(value).__name__}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | str):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise InvalidRateError(
                f"{field} is not a decimal number: {value!r}", field=field, **context
            ) from None
    else:
        raise TypeError(f"{field} must be str, int or Decimal, got {type(value).__name__}")
    if not number.is_finite() or number <= 0:
        raise InvalidRateError(
            f"{field} must be a positive finite number, got {value}", field=field, **context
        )
    if not RATE_MIN <= number <= RATE_MAX:
        raise InvalidRateError(
            f"{field} {value} is outside [{RATE_MIN}, {RATE_MAX}]", field=field, **context
        )
    number = number.normalize(_EXACT)
    if len(number.as_tuple().digits) > RATE_DIGITS_MAX:
        raise InvalidRateError(
            f"{field} {value} has more than {RATE_DIGITS_MAX} significant digits",
            field=field,
            **context,
        )
    return number


def rate_text(value: Decimal) -> str:
    """Plain decimal notation (no exponent) of a normalised rate: the stored form."""
    return format(value, "f")


@dataclass(frozen=True, slots=True)
class StoredQuote:
    """One row of the rate store."""

    base: str
    quote: str
    rate: Decimal
    as_of: datetime
    source: str
    bid: Decimal | None = None
    ask: Decimal | None = None

    @property
    def pair(self) -> str:
        return f"{self.base}/{self.quote}"


@dataclass(frozen=True, slots=True)
class Leg:
    """A stored quote used from ``quote.base`` to ``quote.quote`` or, inverted, the other way."""

    quote: StoredQuote
    inverted: bool

    @property
    def source_currency(self) -> str:
        return self.quote.quote if self.inverted else self.quote.base

    @property
    def target_currency(self) -> str:
        return self.quote.base if self.inverted else self.quote.quote

    def fractions(self) -> tuple[tuple[Decimal, Decimal], ...]:
        """(numerator, denominator) of mid, bid and ask in the leg's direction."""
        q = self.quote
        bid = q.bid if q.bid is not None else q.rate
        ask = q.ask if q.ask is not None else q.rate
        one = Decimal(1)
        if self.inverted:
            return ((one, q.rate), (one, ask), (one, bid))
        return ((q.rate, one), (bid, one), (ask, one))


@dataclass(frozen=True, slots=True)
class FxRate:
    """``rate`` units of ``quote`` per 1 ``base``, as found for an instant.

    ``path`` lists the currencies traversed (``("USD", "EUR", "CNY")`` when triangulated through
    EUR); ``legs`` names the stored quotes used (``("EUR/USD", "EUR/CNY")``); ``as_of`` is the
    oldest leg's instant and ``source`` the legs' sources joined by ``+`` when they differ.
    """

    base: str
    quote: str
    rate: Decimal
    as_of: datetime
    source: str
    path: tuple[str, ...]
    bid: Decimal | None = None
    ask: Decimal | None = None
    legs: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        """``identity``, ``direct``, ``inverse`` or ``triangulated``."""
        if not self.legs:
            return "identity"
        if len(self.legs) > 1:
            return "triangulated"
        return "direct" if self.legs[0] == f"{self.base}/{self.quote}" else "inverse"

    def apply(
        self, money: Money, rounding: str = ROUND_HALF_EVEN, *, rate: Decimal | None = None
    ) -> Money:
        """``money`` (in ``base``) times the mid rate (or ``rate``), rounded once to ``quote``."""
        minor, currency = money_to_minor(money)
        if currency != self.base:
            raise CurrencyMismatchError(
                f"rate is for {self.base}/{self.quote}, amount is in {currency}",
                base=self.base,
                quote=self.quote,
                currency=currency,
            )
        applied = rate if rate is not None else self.rate
        converted = convert_minor(minor, self.base, self.quote, applied, rounding)
        return minor_to_money(converted, self.quote)

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "quote": self.quote,
            "rate": rate_text(self.rate),
            "bid": rate_text(self.bid) if self.bid is not None else None,
            "ask": rate_text(self.ask) if self.ask is not None else None,
            "as_of": format_timestamp(self.as_of),
            "source": self.source,
            "path": list(self.path),
            "legs": list(self.legs),
            "method": self.method,
        }


def exact_value(amount_minor: int, base: str, quote: str, rate: Decimal) -> Decimal:
    """``amount_minor`` of ``base`` times ``rate``, in units of ``quote``, exactly."""
    with localcontext(_EXACT):
        return minor_to_decimal(amount_minor, base) * rate


def convert_minor(
    amount_minor: int, base: str, quote: str, rate: Decimal, rounding: str = ROUND_HALF_EVEN
) -> int:
    """Minor units of ``quote`` for ``amount_minor`` of ``base`` at ``rate``: one rounding."""
    check_rounding(rounding)
    return round_to_minor(exact_value(amount_minor, base, quote, rate), quote, rounding)


def identity_rate(currency: str, at: datetime) -> FxRate:
    one = Decimal(1)
    return FxRate(currency, currency, one, at, "identity", (currency,))


def _divide(numerator: Decimal, denominator: Decimal) -> Decimal:
    with localcontext(_DERIVE):
        return (numerator / denominator).normalize()


def _chain_figures(legs: tuple[Leg, ...]) -> tuple[Decimal, Decimal, Decimal]:
    """Mid, bid and ask along ``legs``: exact fractions, then one rounding each."""
    if len(legs) == 1 and not legs[0].inverted:
        # A direct quote is used exactly as stored.
        stored = legs[0].quote
        bid = stored.bid if stored.bid is not None else stored.rate
        ask = stored.ask if stored.ask is not None else stored.rate
        return stored.rate, bid, ask
    figures: list[Decimal] = []
    for index in range(3):
        numerator, denominator = Decimal(1), Decimal(1)
        with localcontext(_EXACT):
            for leg in legs:
                leg_numerator, leg_denominator = leg.fractions()[index]
                numerator *= leg_numerator
                denominator *= leg_denominator
        figures.append(_divide(numerator, denominator))
    return figures[0], figures[1], figures[2]


def derive(base: str, quote: str, legs: tuple[Leg, ...]) -> FxRate:
    """The rate along ``legs``, chained from ``base`` to ``quote``."""
    assert legs and legs[0].source_currency == base and legs[-1].target_currency == quote
    for before, after in pairwise(legs):
        assert before.target_currency == after.source_currency, "legs do not chain"
    mid, bid, ask = _chain_figures(legs)
    has_spread = any(leg.quote.bid is not None or leg.quote.ask is not None for leg in legs)
    sources = list(dict.fromkeys(leg.quote.source for leg in legs))
    return FxRate(
        base=base,
        quote=quote,
        rate=mid,
        as_of=min(leg.quote.as_of for leg in legs),
        source="+".join(sources),
        path=(base, *(leg.target_currency for leg in legs)),
        bid=bid if has_spread else None,
        ask=ask if has_spread else None,
        legs=tuple(leg.quote.pair for leg in legs),
    )


def best_leg(
    source: str, target: str, forward: StoredQuote | None, backward: StoredQuote | None
) -> Leg | None:
    """The fresher of a forward quote (source/target) and a backward one (target/source)."""
    if forward is None and backward is None:
        return None
    if backward is None or (forward is not None and forward.as_of >= backward.as_of):
        assert forward is not None and forward.base == source and forward.quote == target
        return Leg(forward, inverted=False)
    assert backward.base == target and backward.quote == source
    return Leg(backward, inverted=True)


def choose_route(candidates: list[tuple[Leg, ...]]) -> tuple[Leg, ...] | None:
    """The freshest route (its oldest leg is newest); on a tie, the one with fewer legs."""
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda legs: (min(leg.quote.as_of for leg in legs), -len(legs)),
    )


__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_PIVOT",
    "RATE_ONLY_CURRENCIES",
    "RATE_PRECISION",
    "ROUNDING_MODES",
    "FxRate",
    "Leg",
    "StoredQuote",
    "check_rate_currency",
    "check_rounding",
    "convert_minor",
    "derive",
    "exact_value",
    "parse_rate",
]

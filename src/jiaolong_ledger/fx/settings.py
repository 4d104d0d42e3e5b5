"""What FX is told: the settings every FX book of a ledger shares, and the checks on inputs.

:class:`FxSettings` is one mutable object per ledger, handed to every ``FxBook`` the ledger makes
(the per-call ``ledger.fx`` and the ``tx.fx`` of each unit of work), so ``ledger.fx.configure()``
is seen by a bound book too. The checks below turn a caller's values into validated ones or
raise ``INVALID_INPUT`` / ``INVALID_RATE``; they are pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from jiaolong_ledger.errors import InvalidInputError, InvalidRateError
from jiaolong_ledger.fx.rates import (
    DEFAULT_MAX_AGE,
    DEFAULT_PIVOT,
    StoredQuote,
    check_rate_currency,
    parse_rate,
)
from jiaolong_ledger.fx.tables import SOURCE_LENGTH_MAX
from jiaolong_ledger.journal.validation import check_timestamp, raise_problems


@dataclass(slots=True)
class FxSettings:
    """The pivot cross rates are triangulated through, and the oldest rate used by default.

    Write it through ``FxBook.configure`` (which validates); shared by the books of a ledger.
    """

    pivot: str = DEFAULT_PIVOT
    max_age: timedelta = DEFAULT_MAX_AGE


def check_instant(value: object, field: str) -> datetime:
    """A required timezone-aware instant."""
    raise_problems(check_timestamp(value, field))  # type: ignore[arg-type]
    if value is None:
        raise InvalidInputError(f"{field} is required", field=field)
    assert isinstance(value, datetime)
    return value


def check_max_age(max_age: object) -> timedelta:
    if not isinstance(max_age, timedelta) or max_age < timedelta(0):
        raise InvalidInputError(
            f"max_age must be a non-negative timedelta, got {max_age!r}", max_age=str(max_age)
        )
    return max_age


def check_source(source: object) -> str:
    if not isinstance(source, str) or not source.strip() or not source.isprintable():
        raise InvalidInputError("source must be a non-empty printable string", source=source)
    if len(source) > SOURCE_LENGTH_MAX:
        raise InvalidInputError(
            f"source is longer than {SOURCE_LENGTH_MAX} characters", source=source
        )
    return source


def stored_quote(
    base: str,
    quote: str,
    rate: object,
    as_of: datetime,
    source: str,
    bid: object,
    ask: object,
) -> StoredQuote:
    """A caller's quote, checked: two currencies, a valid rate, bid <= rate <= ask together."""
    check_rate_currency(base)
    check_rate_currency(quote)
    pair = {"base": base, "quote": quote}
    if base == quote:
        raise InvalidRateError(f"a rate needs two currencies, got {base}/{quote}", **pair)
    mid = parse_rate(rate, "rate", **pair)
    bid_value = parse_rate(bid, "bid", **pair) if bid is not None else None
    ask_value = parse_rate(ask, "ask", **pair) if ask is not None else None
    if (bid_value is None) != (ask_value is None) or (
        bid_value is not None and ask_value is not None and not bid_value <= mid <= ask_value
    ):
        raise InvalidRateError(
            "bid and ask come together, with bid <= rate <= ask",
            rate=str(mid),
            bid=str(bid),
            ask=str(ask),
            **pair,
        )
    return StoredQuote(
        base,
        quote,
        mid,
        check_instant(as_of, "as_of"),
        check_source(source),
        bid_value,
        ask_value,
    )


__all__ = ["FxSettings", "check_instant", "check_max_age", "check_source", "stored_quote"]

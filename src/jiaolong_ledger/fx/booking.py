"""How FX is booked: the entries of an exchange and of a revaluation, built as pure values.

An exchange of amount A from currency S into currency T at mid rate m and bid b (b <= m; b = m
without a spread) is one ``fx_conversion`` entry that balances in S and in T separately:

    debit   <from account>          A         S   the participant gives S
    credit  fx:position:S           A         S
    debit   fx:position:T           V         T   V = round(A x m)
    credit  <to account>            C         T   C = round(A x b), what the participant gets
    credit  fx:spread-income:T      V - C     T   only when V > C

The position accounts (kind ``equity``) are the platform's trading accounts: after the entry
they hold exactly what changed hands in each currency. V differs from the exact A x m by less
than half a minor unit; that residue stays in ``fx:position:T`` (it is part of what was posted)
and is recorded in the metadata as ``rounding_residue``; the next revaluation turns it into
gain or loss. The customer's rounding (C against A x b) is inside the posted spread.

A revaluation values every ``fx:position:*`` account in the reporting currency R at the closing
rates. Valued together the positions are the platform's cumulative FX result (a net credit is
a gain). The entry moves the change since the last revaluation into P&L, in R only:

    debit   fx:revaluation:R   /  credit  fx:unrealised:R     for a gain (the reverse for a loss)

so that afterwards ``fx:revaluation:R`` (equity) offsets the positions' value and
``fx:unrealised:R`` (income) holds the cumulative unrealised result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal, localcontext
from typing import Any, Final

from moneyed import Money

from jiaolong_ledger.fx.rates import FxRate, exact_value, rate_text
from jiaolong_ledger.journal.canonical import format_timestamp
from jiaolong_ledger.journal.entry import Entry, Posting, credit, debit
from jiaolong_ledger.money import exponent, format_minor, minor_to_money, round_to_minor

POSITION_PREFIX: Final = "fx:position:"
POSITION_KIND: Final = "equity"
SPREAD_INCOME_KIND: Final = "income"
REVALUATION_KIND: Final = "equity"
UNREALISED_KIND: Final = "income"

_EXACT = Context(prec=80)


def position_account(currency: str) -> str:
    """The platform's trading account in ``currency`` (SPEC §2)."""
    return f"{POSITION_PREFIX}{currency}"


def spread_income_account(currency: str) -> str:
    return f"fx:spread-income:{currency}"


def revaluation_account(currency: str) -> str:
    return f"fx:revaluation:{currency}"


def unrealised_account(currency: str) -> str:
    return f"fx:unrealised:{currency}"


def _text(value: Decimal, places: int = 0) -> str:
    """Plain notation without trailing zeros, but with at least ``places`` decimals."""
    with localcontext(_EXACT):
        normalized = value.normalize()
        if normalized.as_tuple().exponent > -places:  # type: ignore[operator]
            normalized = normalized.quantize(Decimal(1).scaleb(-places))
    return format(normalized, "f")


@dataclass(frozen=True, slots=True)
class ExchangeRequest:
    """What the client asked for; a retry with the same key must ask the same."""

    from_account: str
    to_account: str
    amount_minor: int
    from_currency: str
    to_currency: str

    def to_json(self) -> dict[str, str]:
        return {
            "from": self.from_account,
            "to": self.to_account,
            "amount": format_minor(self.amount_minor, self.from_currency),
            "currency": self.from_currency,
            "to_currency": self.to_currency,
        }


@dataclass(frozen=True, slots=True)
class ExchangeFigures:
    """The amounts of an exchange in minor units, and the exact value they round."""

    amount_minor: int
    value_minor: int
    customer_minor: int
    value_exact: Decimal
    applied_rate: Decimal
    """The rate the participant got: the bid when a spread applies, else the mid."""

    @property
    def spread_minor(self) -> int:
        return self.value_minor - self.customer_minor


def exchange_figures(
    amount_minor: int, rate: FxRate, rounding: str, apply_spread: bool = True
) -> ExchangeFigures:
    """V = round(A x mid) for the position, C = round(A x bid) for the participant."""
    value_exact = exact_value(amount_minor, rate.base, rate.quote, rate.rate)
    value_minor = round_to_minor(value_exact, rate.quote, rounding)
    customer_rate = rate.bid if apply_spread and rate.bid is not None else rate.rate
    customer_exact = exact_value(amount_minor, rate.base, rate.quote, customer_rate)
    customer_minor = round_to_minor(customer_exact, rate.quote, rounding)
    assert customer_minor <= value_minor, "the bid is above the mid"
    return ExchangeFigures(amount_minor, value_minor, customer_minor, value_exact, customer_rate)


def exchange_entry(
    key: str,
    request: ExchangeRequest,
    rate: FxRate,
    figures: ExchangeFigures,
    *,
    rounding: str,
    effective_at: datetime | None,
    description: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> Entry:
    """The one ``fx_conversion`` entry of an exchange (see the module docstring)."""
    source, target = request.from_currency, request.to_currency
    amount = minor_to_money(figures.amount_minor, source)
    postings: list[Posting] = [
        debit(request.from_account, amount),
        credit(position_account(source), amount),
        debit(position_account(target), minor_to_money(figures.value_minor, target)),
        credit(request.to_account, minor_to_money(figures.customer_minor, target)),
    ]
    if figures.spread_minor > 0:
        postings.append(
            credit(spread_income_account(target), minor_to_money(figures.spread_minor, target))
        )
    residue = Decimal(figures.value_minor).scaleb(-exponent(target)) - figures.value_exact
    fx: dict[str, Any] = {
        "rate": rate_text(rate.rate),
        "applied_rate": rate_text(figures.applied_rate),
        "bid": rate_text(rate.bid) if rate.bid is not None else None,
        "ask": rate_text(rate.ask) if rate.ask is not None else None,
        "path": list(rate.path),
        "legs": list(rate.legs),
        "as_of": format_timestamp(rate.as_of),
        "source": rate.source,
        "rounding": rounding,
        "value_exact": _text(figures.value_exact, exponent(target)),
        "value": format_minor(figures.value_minor, target),
        "rounding_residue": _text(residue),
        "spread": format_minor(figures.spread_minor, target),
    }
    body = {**(dict(metadata) if metadata else {}), "fx": fx, "request": request.to_json()}
    return Entry(
        key=key,
        kind="fx_conversion",
        postings=postings,
        effective_at=effective_at,
        description=description
        or f"exchange {format_minor(figures.amount_minor, source)} {source} -> "
        f"{format_minor(figures.customer_minor, target)} {target}",
        metadata=body,
    )


@dataclass(frozen=True, slots=True)
class RevaluationLine:
    """One position account valued in the reporting currency."""

    currency: str
    position_minor: int
    """Debits minus credits of ``fx:position:<currency>`` as of the instant (a credit < 0)."""
    rate: FxRate
    value_minor: int
    """``position_minor`` at ``rate`` in the reporting currency's minor units."""

    def to_json(self, reporting_currency: str) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "position": format_minor(self.position_minor, self.currency),
            "rate": rate_text(self.rate.rate),
            "as_of": format_timestamp(self.rate.as_of),
            "source": self.rate.source,
            "path": list(self.rate.path),
            "value": format_minor(self.value_minor, reporting_currency),
        }


@dataclass(frozen=True, slots=True)
class Revaluation:
    """The result of ``fx.revalue``: positions, their value and the entry posted (if any)."""

    at: datetime
    reporting_currency: str
    lines: tuple[dict[str, Any], ...]
    unrealised_minor: int
    """Cumulative unrealised result in the reporting currency (a gain > 0)."""
    delta_minor: int
    """What this run posted: the change since the previous revaluation."""
    entry_key: str | None

    @property
    def unrealised(self) -> Money:
        return minor_to_money(self.unrealised_minor, self.reporting_currency)

    @property
    def delta(self) -> Money:
        return minor_to_money(self.delta_minor, self.reporting_currency)

    def to_dict(self) -> dict[str, Any]:
        currency = self.reporting_currency
        return {
            "at": format_timestamp(self.at),
            "reporting_currency": currency,
            "positions": list(self.lines),
            "unrealised": format_minor(self.unrealised_minor, currency),
            "posted": format_minor(self.delta_minor, currency),
            "entry": self.entry_key,
        }


def value_position(
    currency: str, position_minor: int, rate: FxRate, reporting_currency: str, rounding: str
) -> RevaluationLine:
    value = round_to_minor(
        exact_value(position_minor, currency, reporting_currency, rate.rate),
        reporting_currency,
        rounding,
    )
    return RevaluationLine(currency, position_minor, rate, value)


def revaluation_key(reporting_currency: str, at: datetime) -> str:
    return f"fx:revalue:{reporting_currency}:{format_timestamp(at)}"


def revaluation_entry(
    reporting_currency: str,
    at: datetime,
    delta_minor: int,
    unrealised_minor: int,
    lines: tuple[dict[str, Any], ...],
) -> Entry:
    """Move ``delta_minor`` (a gain > 0) between the revaluation reserve and unrealised P&L."""
    assert delta_minor != 0
    amount = minor_to_money(abs(delta_minor), reporting_currency)
    reserve = revaluation_account(reporting_currency)
    result = unrealised_account(reporting_currency)
    postings = (
        [debit(reserve, amount), credit(result, amount)]
        if delta_minor > 0
        else [debit(result, amount), credit(reserve, amount)]
    )
    gain_or_loss = "gain" if delta_minor > 0 else "loss"
    return Entry(
        key=revaluation_key(reporting_currency, at),
        kind="revaluation",
        postings=postings,
        effective_at=at,
        description=f"FX revaluation in {reporting_currency}: unrealised {gain_or_loss} "
        f"{format_minor(abs(delta_minor), reporting_currency)}",
        metadata={
            "reporting_currency": reporting_currency,
            "at": format_timestamp(at),
            "unrealised": format_minor(unrealised_minor, reporting_currency),
            "posted": format_minor(delta_minor, reporting_currency),
            "positions": [dict(line) for line in lines],
        },
    )

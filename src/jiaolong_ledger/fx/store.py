"""FX's own tables: the rate store (``fx_rates``) and the revaluation runs (``fx_revaluations``).

Everything here works on a connection the caller supplies. Writes happen inside a unit of work
(so the writers' lock orders them and a rejected batch writes nothing); reads work on any
connection, including that of a write transaction, so an exchange prices and posts in one
database transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection, and_, select, union_all

from jiaolong_ledger.errors import InvalidInputError, InvalidRateError
from jiaolong_ledger.fx.booking import Revaluation
from jiaolong_ledger.fx.rates import (
    FxRate,
    Leg,
    StoredQuote,
    best_leg,
    choose_route,
    derive,
    rate_text,
)
from jiaolong_ledger.fx.tables import fx_rates, fx_revaluations
from jiaolong_ledger.journal.canonical import format_timestamp

INSERT_CHUNK_SIZE: Final = 2_000

Identity = tuple[str, str, datetime, str]
"""(base, quote, as_of, source): what makes a quote unique."""
Figures = tuple[str, str | None, str | None]
"""Stored text of (rate, bid, ask)."""


def _quote(row: Any) -> StoredQuote:
    return StoredQuote(
        base=row.base,
        quote=row.quote,
        rate=Decimal(row.rate),
        as_of=row.as_of,
        source=row.source,
        bid=Decimal(row.bid) if row.bid is not None else None,
        ask=Decimal(row.ask) if row.ask is not None else None,
    )


def latest_quotes(
    connection: Connection, pairs: Sequence[tuple[str, str]], at: datetime
) -> dict[tuple[str, str], StoredQuote]:
    """The latest stored quote of each pair at or before ``at`` (ties: the last recorded).

    One round trip: a ``UNION ALL`` of one index-backed ``LIMIT 1`` lookup per pair.
    """
    lookups = [
        select(
            select(fx_rates)
            .where(fx_rates.c.base == base, fx_rates.c.quote == quote, fx_rates.c.as_of <= at)
            .order_by(fx_rates.c.as_of.desc(), fx_rates.c.id.desc())
            .limit(1)
            .subquery()
        )
        for base, quote in dict.fromkeys(pairs)
    ]
    if not lookups:
        return {}
    query = lookups[0] if len(lookups) == 1 else union_all(*lookups)
    return {(row.base, row.quote): _quote(row) for row in connection.execute(query)}


def find_rate(
    connection: Connection, base: str, quote: str, at: datetime, pivot: str
) -> FxRate | None:
    """The freshest route from ``base`` to ``quote``: direct, inverse, or through ``pivot``."""
    legs = [(base, quote)]
    if pivot not in (base, quote):
        legs += [(base, pivot), (pivot, quote)]
    found = latest_quotes(
        connection,
        [pair for source, target in legs for pair in ((source, target), (target, source))],
        at,
    )

    def leg(source: str, target: str) -> Leg | None:
        return best_leg(source, target, found.get((source, target)), found.get((target, source)))

    candidates: list[tuple[Leg, ...]] = []
    single = leg(base, quote)
    if single is not None:
        candidates.append((single,))
    if len(legs) == 3:
        first, second = leg(base, pivot), leg(pivot, quote)
        if first is not None and second is not None:
            candidates.append((first, second))
    route = choose_route(candidates)
    return derive(base, quote, route) if route is not None else None


def _row(quote: StoredQuote, figures: Figures, recorded_at: datetime) -> dict[str, Any]:
    return {
        "base": quote.base,
        "quote": quote.quote,
        "as_of": quote.as_of,
        "source": quote.source,
        "rate": figures[0],
        "bid": figures[1],
        "ask": figures[2],
        "recorded_at": recorded_at,
    }


def _identity(quote: StoredQuote) -> Identity:
    return (quote.base, quote.quote, quote.as_of, quote.source)


def _figures(quote: StoredQuote) -> Figures:
    """The stored text of rate, bid and ask: canonical, so equal text means equal value."""
    return (
        rate_text(quote.rate),
        rate_text(quote.bid) if quote.bid is not None else None,
        rate_text(quote.ask) if quote.ask is not None else None,
    )


def _existing(connection: Connection, quotes: Sequence[StoredQuote]) -> dict[Identity, Figures]:
    """Figures of stored quotes with the same (base, quote, as_of, source) as any of ``quotes``."""
    groups: dict[tuple[str, str], list[datetime]] = {}
    for quote in quotes:
        groups.setdefault((quote.source, quote.base), []).append(quote.as_of)
    found: dict[Identity, Figures] = {}
    for (source, base), instants in groups.items():
        query = select(
            fx_rates.c.quote, fx_rates.c.as_of, fx_rates.c.rate, fx_rates.c.bid, fx_rates.c.ask
        ).where(
            and_(
                fx_rates.c.source == source,
                fx_rates.c.base == base,
                fx_rates.c.as_of >= min(instants),
                fx_rates.c.as_of <= max(instants),
            )
        )
        for row in connection.execute(query):
            found[(base, row.quote, row.as_of, source)] = (row.rate, row.bid, row.ask)
    return found


def store_quotes(
    connection: Connection,
    quotes: Sequence[StoredQuote],
    recorded_at: datetime,
    line_numbers: Sequence[int] | None = None,
) -> int:
    """Insert ``quotes``; one already stored with the same figures is skipped (idempotent).

    The same (base, quote, as_of, source) with different figures is ``INVALID_RATE``: a quote
    that entries may already have been priced with is never silently replaced. Returns the
    number of quotes newly stored.
    """
    existing = _existing(connection, quotes)
    fresh: list[dict[str, Any]] = []
    for index, quote in enumerate(quotes):
        identity = _identity(quote)
        figures = _figures(quote)
        prior = existing.get(identity)
        if prior is not None:
            if prior != figures:
                _conflict(prior, quote, line_numbers[index] if line_numbers else None)
            continue
        existing[identity] = figures
        fresh.append(_row(quote, figures, recorded_at))
    for start in range(0, len(fresh), INSERT_CHUNK_SIZE):
        connection.execute(fx_rates.insert(), fresh[start : start + INSERT_CHUNK_SIZE])
    return len(fresh)


def _conflict(prior: Figures, quote: StoredQuote, line: int | None) -> None:
    where = f"line {line}: " if line is not None else ""
    asked = _figures(quote)
    raise InvalidRateError(
        f"{where}{quote.pair} from {quote.source!r} as of {format_timestamp(quote.as_of)} is "
        f"already recorded as {_describe(prior)}; it cannot be changed to {_describe(asked)}",
        base=quote.base,
        quote=quote.quote,
        source=quote.source,
        as_of=format_timestamp(quote.as_of),
        recorded=prior[0],
        asked=asked[0],
        **({"line": line} if line is not None else {}),
    )


def _describe(figures: Figures) -> str:
    rate, bid, ask = figures
    return rate if bid is None else f"{rate} (bid {bid}, ask {ask})"


# -- revaluation runs -------------------------------------------------------------------------


def recorded_revaluation(
    connection: Connection, reporting_currency: str, at: datetime
) -> Revaluation | None:
    """The run at ``at`` if there was one; refuses an instant before the latest run."""
    rows = connection.execute(
        select(fx_revaluations)
        .where(fx_revaluations.c.reporting_currency == reporting_currency)
        .where(fx_revaluations.c.at >= at)
        .order_by(fx_revaluations.c.at.desc())
    ).all()
    for row in rows:
        if row.at == at:
            return Revaluation(
                row.at,
                reporting_currency,
                tuple(json.loads(row.lines)),
                int(row.unrealised_minor),
                int(row.delta_minor),
                row.entry_key,
            )
    if rows:
        raise InvalidInputError(
            f"{reporting_currency} positions were already revalued at "
            f"{format_timestamp(rows[0].at)}, after {format_timestamp(at)}; revaluations go "
            "forward in time",
            reporting_currency=reporting_currency,
            at=format_timestamp(at),
            latest=format_timestamp(rows[0].at),
        )
    return None


def record_revaluation(
    connection: Connection, revaluation: Revaluation, recorded_at: datetime
) -> None:
    connection.execute(
        fx_revaluations.insert(),
        {
            "reporting_currency": revaluation.reporting_currency,
            "at": revaluation.at,
            "entry_key": revaluation.entry_key,
            "unrealised_minor": revaluation.unrealised_minor,
            "delta_minor": revaluation.delta_minor,
            "lines": json.dumps(list(revaluation.lines), sort_keys=True, ensure_ascii=False),
            "recorded_at": recorded_at,
        },
    )

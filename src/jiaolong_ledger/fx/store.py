"""The rate store: reading and writing ``fx_rates`` on a connection the caller supplies.

Writes happen inside ``Ledger.transaction()`` (so the writers' lock orders them and a rejected
batch writes nothing); reads work on any connection, including that of a write transaction, so
an exchange prices and posts in one database transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection, and_, or_, select

from jiaolong_ledger.errors import InvalidRateError
from jiaolong_ledger.fx.rates import (
    FxRate,
    Leg,
    StoredQuote,
    best_leg,
    choose_route,
    derive,
    rate_text,
)
from jiaolong_ledger.fx.tables import fx_rates
from jiaolong_ledger.journal.canonical import format_timestamp

INSERT_CHUNK_SIZE: Final = 2_000


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


def latest_quote(connection: Connection, base: str, quote: str, at: datetime) -> StoredQuote | None:
    """The latest stored ``base/quote`` at or before ``at`` (ties: the last recorded)."""
    row = connection.execute(
        select(fx_rates)
        .where(fx_rates.c.base == base, fx_rates.c.quote == quote, fx_rates.c.as_of <= at)
        .order_by(fx_rates.c.as_of.desc(), fx_rates.c.id.desc())
        .limit(1)
    ).first()
    return _quote(row) if row is not None else None


def _leg(connection: Connection, source: str, target: str, at: datetime) -> Leg | None:
    forward = latest_quote(connection, source, target, at)
    backward = latest_quote(connection, target, source, at)
    return best_leg(source, target, forward, backward)


def find_rate(
    connection: Connection, base: str, quote: str, at: datetime, pivot: str
) -> FxRate | None:
    """The freshest route from ``base`` to ``quote``: direct, inverse, or through ``pivot``."""
    candidates: list[tuple[Leg, ...]] = []
    single = _leg(connection, base, quote, at)
    if single is not None:
        candidates.append((single,))
    if pivot not in (base, quote):
        first = _leg(connection, base, pivot, at)
        second = _leg(connection, pivot, quote, at) if first is not None else None
        if first is not None and second is not None:
            candidates.append((first, second))
    route = choose_route(candidates)
    return derive(base, quote, route) if route is not None else None


def _row(quote: StoredQuote, recorded_at: datetime) -> dict[str, Any]:
    return {
        "base": quote.base,
        "quote": quote.quote,
        "as_of": quote.as_of,
        "source": quote.source,
        "rate": rate_text(quote.rate),
        "bid": rate_text(quote.bid) if quote.bid is not None else None,
        "ask": rate_text(quote.ask) if quote.ask is not None else None,
        "recorded_at": recorded_at,
    }


def _identity(quote: StoredQuote) -> tuple[str, str, datetime, str]:
    return (quote.base, quote.quote, quote.as_of, quote.source)


def _existing(
    connection: Connection, quotes: Sequence[StoredQuote]
) -> dict[tuple[str, str, datetime, str], StoredQuote]:
    """Stored quotes with the same (base, quote, as_of, source) as any of ``quotes``."""
    groups: dict[tuple[str, str], list[datetime]] = {}
    for quote in quotes:
        groups.setdefault((quote.source, quote.base), []).append(quote.as_of)
    found: dict[tuple[str, str, datetime, str], StoredQuote] = {}
    for (source, base), instants in groups.items():
        query = select(fx_rates).where(
            and_(
                fx_rates.c.source == source,
                fx_rates.c.base == base,
                fx_rates.c.as_of >= min(instants),
                fx_rates.c.as_of <= max(instants),
            )
        )
        for row in connection.execute(query):
            stored = _quote(row)
            found[_identity(stored)] = stored
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
    seen: dict[tuple[str, str, datetime, str], StoredQuote] = {}
    for index, quote in enumerate(quotes):
        identity = _identity(quote)
        prior = existing.get(identity) or seen.get(identity)
        if prior is not None:
            if prior != quote:
                _conflict(prior, quote, line_numbers[index] if line_numbers else None)
            continue
        seen[identity] = quote
        fresh.append(_row(quote, recorded_at))
    for start in range(0, len(fresh), INSERT_CHUNK_SIZE):
        connection.execute(fx_rates.insert(), fresh[start : start + INSERT_CHUNK_SIZE])
    return len(fresh)


def _conflict(prior: StoredQuote, quote: StoredQuote, line: int | None) -> None:
    where = f"line {line}: " if line is not None else ""
    raise InvalidRateError(
        f"{where}{quote.pair} from {quote.source!r} as of {format_timestamp(quote.as_of)} is "
        f"already recorded as {rate_text(prior.rate)}; it cannot be changed to "
        f"{rate_text(quote.rate)}",
        base=quote.base,
        quote=quote.quote,
        source=quote.source,
        as_of=format_timestamp(quote.as_of),
        recorded=rate_text(prior.rate),
        asked=rate_text(quote.rate),
        **({"line": line} if line is not None else {}),
    )


def list_quotes(
    connection: Connection, currencies: Sequence[str] = (), at: datetime | None = None
) -> list[StoredQuote]:
    """Stored quotes naming any of ``currencies`` (all when empty), at or before ``at``."""
    query = select(fx_rates).order_by(
        fx_rates.c.as_of, fx_rates.c.base, fx_rates.c.quote, fx_rates.c.id
    )
    if currencies:
        query = query.where(or_(fx_rates.c.base.in_(currencies), fx_rates.c.quote.in_(currencies)))
    if at is not None:
        query = query.where(fx_rates.c.as_of <= at)
    return [_quote(row) for row in connection.execute(query)]

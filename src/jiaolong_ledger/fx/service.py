"""The :class:`FX` service exposed as ``ledger.fx``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moneyed import Money
from sqlalchemy import Connection, case, func, select

from jiaolong_ledger.errors import (
    AmountNotPositiveError,
    CurrencyMismatchError,
    IdempotencyConflictError,
    InvalidInputError,
    InvalidRateError,
    RateNotFoundError,
    RateStaleError,
)
from jiaolong_ledger.fx import booking
from jiaolong_ledger.fx.ecb import read_ecb_file
from jiaolong_ledger.fx.rates import (
    DEFAULT_MAX_AGE,
    DEFAULT_PIVOT,
    FxRate,
    Leg,
    StoredQuote,
    check_rate_currency,
    check_rounding,
    derive,
    identity_rate,
    parse_rate,
)
from jiaolong_ledger.fx.store import find_rate, store_quotes
from jiaolong_ledger.fx.tables import SOURCE_LENGTH_MAX, fx_revaluations
from jiaolong_ledger.journal.canonical import format_timestamp
from jiaolong_ledger.journal.engine import posted_entry_from_object
from jiaolong_ledger.journal.entry import PostedEntry
from jiaolong_ledger.journal.validation import check_key, check_timestamp, raise_problems
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import check_currency, positive_minor
from jiaolong_ledger.storage.tables import accounts, journal_entries, postings

if TYPE_CHECKING:
    from jiaolong_ledger.journal.engine import Transaction
    from jiaolong_ledger.ledger import Ledger

log = get_logger("jiaolong_ledger.fx")


@dataclass(frozen=True, slots=True)
class EcbImport:
    """What an ECB file held and how much of it was new."""

    path: str
    days: int
    currencies: tuple[str, ...]
    quotes: int
    stored: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "days": self.days,
            "currencies": list(self.currencies),
            "rates_in_file": self.quotes,
            "rates_stored": self.stored,
        }


def _check_instant(value: object, field: str) -> datetime:
    raise_problems(check_timestamp(value, field))  # type: ignore[arg-type]
    if value is None:
        raise InvalidInputError(f"{field} is required", field=field)
    assert isinstance(value, datetime)
    return value


def _check_max_age(max_age: object) -> timedelta:
    if not isinstance(max_age, timedelta) or max_age < timedelta(0):
        raise InvalidInputError(
            f"max_age must be a non-negative timedelta, got {max_age!r}", max_age=str(max_age)
        )
    return max_age


def _check_source(source: object) -> str:
    if not isinstance(source, str) or not source.strip() or not source.isprintable():
        raise InvalidInputError("source must be a non-empty printable string", source=source)
    if len(source) > SOURCE_LENGTH_MAX:
        raise InvalidInputError(
            f"source is longer than {SOURCE_LENGTH_MAX} characters", source=source
        )
    return source


class FX:
    """Rate store, conversions, exchanges through the FX position accounts, revaluation.

    ``pivot`` (default EUR) is the currency cross rates are triangulated through; ``max_age``
    (default :data:`~jiaolong_ledger.fx.rates.DEFAULT_MAX_AGE`, 5 days) is the oldest rate used
    when a call does not say. Change both with :meth:`configure`.
    """

    def __init__(
        self, ledger: Ledger, pivot: str = DEFAULT_PIVOT, max_age: timedelta = DEFAULT_MAX_AGE
    ) -> None:
        self.ledger = ledger
        self.pivot = check_rate_currency(pivot)
        self.max_age = _check_max_age(max_age)

    def configure(self, *, pivot: str | None = None, max_age: timedelta | None = None) -> None:
        if pivot is not None:
            self.pivot = check_rate_currency(pivot)
        if max_age is not None:
            self.max_age = _check_max_age(max_age)

    # -- the rate store ------------------------------------------------------------------

    def set_rate(
        self,
        base: str,
        quote: str,
        rate: object,
        as_of: datetime,
        source: str,
        bid: object = None,
        ask: object = None,
    ) -> FxRate:
        """Store ``rate`` units of ``quote`` per 1 ``base`` as of ``as_of``.

        Storing the same figures again is a no-op; different figures for the same (pair,
        instant, source) are ``INVALID_RATE`` (a quote entries were priced with never changes).
        """
        stored = self._quote(base, quote, rate, as_of, source, bid, ask)
        with self.ledger.transaction() as tx:
            new = store_quotes(tx.connection, [stored], tx.clock())
        log.info(
            "fx_rate_set",
            pair=stored.pair,
            rate=str(stored.rate),
            as_of=format_timestamp(stored.as_of),
            source=stored.source,
            new=bool(new),
        )
        return derive(stored.base, stored.quote, (Leg(stored, inverted=False),))

    @staticmethod
    def _quote(
        base: str,
        quote: str,
        rate: object,
        as_of: datetime,
        source: str,
        bid: object,
        ask: object,
    ) -> StoredQuote:
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
            _check_instant(as_of, "as_of"),
            _check_source(source),
            bid_value,
            ask_value,
        )

    def rate(
        self,
        base: str,
        quote: str,
        at: datetime | None = None,
        max_age: timedelta | None = None,
        *,
        pivot: str | None = None,
    ) -> FxRate:
        """The latest rate at or before ``at`` (default now): direct, inverse or triangulated.

        ``RATE_NOT_FOUND`` when no route exists; ``RATE_STALE`` when the freshest route's
        oldest leg is older than ``max_age`` (default: the service's, 5 days).
        """
        with self.ledger.engine.connect() as connection:
            return self.rate_on(connection, base, quote, at, max_age, pivot=pivot)

    def rate_on(
        self,
        connection: Connection,
        base: str,
        quote: str,
        at: datetime | None = None,
        max_age: timedelta | None = None,
        *,
        pivot: str | None = None,
    ) -> FxRate:
        """:meth:`rate` on a given connection (e.g. ``tx.connection`` inside a transaction)."""
        check_rate_currency(base)
        check_rate_currency(quote)
        raise_problems(check_timestamp(at, "at"))
        instant = at or self.ledger.clock()
        limit = _check_max_age(max_age) if max_age is not None else self.max_age
        via = check_rate_currency(pivot) if pivot is not None else self.pivot
        if base == quote:
            return identity_rate(base, instant)
        found = find_rate(connection, base, quote, instant, via)
        if found is None:
            raise RateNotFoundError(
                f"no {base}/{quote} rate at or before {format_timestamp(instant)} "
                f"(direct, inverse or through {via})",
                base=base,
                quote=quote,
                at=format_timestamp(instant),
                pivot=via,
            )
        age = instant - found.as_of
        if age > limit:
            raise RateStaleError(
                f"the latest {base}/{quote} rate is from {format_timestamp(found.as_of)}, "
                f"{age} before {format_timestamp(instant)} (max age {limit})",
                base=base,
                quote=quote,
                at=format_timestamp(instant),
                as_of=format_timestamp(found.as_of),
                age_seconds=int(age.total_seconds()),
                max_age_seconds=int(limit.total_seconds()),
                path=list(found.path),
            )
        return found

    def convert(
        self,
        money: Money,
        to: str,
        at: datetime | None = None,
        rounding: str = ROUND_HALF_EVEN,
        max_age: timedelta | None = None,
    ) -> Money:
        """``money`` in currency ``to`` at the mid rate, rounded once to ``to``'s minor unit."""
        check_rounding(rounding)
        check_currency(to)
        if not isinstance(money, Money):
            raise TypeError(f"expected moneyed.Money, got {type(money).__name__}")
        return self.rate(str(money.currency.code), to, at, max_age).apply(money, rounding)

    # -- ECB import ----------------------------------------------------------------------

    def import_ecb(self, path: str | Path) -> int:
        """Load an ECB reference-rate CSV; returns the number of rates newly stored."""
        return self.import_ecb_report(path).stored

    def import_ecb_report(self, path: str | Path) -> EcbImport:
        """Like :meth:`import_ecb`, with the file's day and currency counts."""
        parsed = read_ecb_file(path)
        with self.ledger.transaction() as tx:
            stored = store_quotes(tx.connection, parsed.quotes, tx.clock(), parsed.line_numbers)
        report = EcbImport(str(path), parsed.days, parsed.currencies, len(parsed.quotes), stored)
        log.info("fx_ecb_imported", **report.to_dict())
        return report

    # -- exchange ------------------------------------------------------------------------

    def exchange(
        self,
        key: str,
        from_account: str,
        to_account: str,
        amount: Money,
        *,
        at: datetime | None = None,
        rate: FxRate | None = None,
        rounding: str = ROUND_HALF_EVEN,
        max_age: timedelta | None = None,
        spread: bool = True,
        description: str = "",
        metadata: Mapping[str, Any] | None = None,
        tx: Transaction | None = None,
    ) -> PostedEntry:
        """Exchange ``amount`` out of ``from_account`` into ``to_account``'s currency.

        One ``fx_conversion`` entry through the FX position accounts (see ``fx.booking``),
        effective at ``at`` (default now) and priced at the rate for that instant, or at
        ``rate`` when given (e.g. a clearing cycle's fixing). With a bid on the rate (and
        ``spread=True``) the participant gets the bid and the spread goes to
        ``fx:spread-income:<CCY>``. The key identifies the exchange: a retry with the same
        accounts and amount returns the original entry, whatever rates did since; anything
        else under that key is ``IDEMPOTENCY_CONFLICT``. Pass ``tx`` to post inside an open
        ``ledger.transaction()``.
        """
        if tx is not None:
            return self._exchange(
                tx, key, from_account, to_account, amount, at, rate, rounding, max_age, spread,
                description, metadata,
            )  # fmt: skip
        with self.ledger.transaction() as own:
            return self._exchange(
                own, key, from_account, to_account, amount, at, rate, rounding, max_age, spread,
                description, metadata,
            )  # fmt: skip

    def _exchange(
        self,
        tx: Transaction,
        key: str,
        from_account: str,
        to_account: str,
        amount: Money,
        at: datetime | None,
        rate: FxRate | None,
        rounding: str,
        max_age: timedelta | None,
        spread: bool,
        description: str,
        metadata: Mapping[str, Any] | None,
    ) -> PostedEntry:
        raise_problems(check_key(key) + check_timestamp(at, "at"))
        check_rounding(rounding)
        amount_minor, source = positive_minor(amount)
        target = tx.account(to_account).snapshot.currency
        if target == source:
            raise InvalidInputError(
                f"an exchange needs two currencies; {to_account!r} also holds {source}",
                key=key,
                currency=source,
            )
        request = booking.ExchangeRequest(from_account, to_account, amount_minor, source, target)
        prior = _prior_exchange(tx.connection, key, request)
        if prior is not None:
            return prior
        instant = at or tx.clock()
        if rate is None:
            rate = self.rate_on(tx.connection, source, target, instant, max_age)
        elif (rate.base, rate.quote) != (source, target):
            raise CurrencyMismatchError(
                f"the rate given is {rate.base}/{rate.quote}; the exchange is {source}/{target}",
                key=key,
                base=rate.base,
                quote=rate.quote,
            )
        figures = booking.exchange_figures(amount_minor, rate, rounding, spread)
        if figures.customer_minor <= 0:
            raise AmountNotPositiveError(
                f"{amount.amount} {source} is worth less than one minor unit of {target}",
                key=key,
                amount=str(amount.amount),
                currency=source,
                to_currency=target,
            )
        self._ensure_booking_accounts(tx, source, target, figures.spread_minor > 0)
        entry = booking.exchange_entry(
            key,
            request,
            rate,
            figures,
            rounding=rounding,
            effective_at=instant,
            description=description,
            metadata=metadata,
        )
        posted = tx.post_many([entry])[0]
        log.info(
            "fx_exchanged",
            key=key,
            seq=posted.seq,
            pair=f"{source}/{target}",
            rate=str(rate.rate),
            path="/".join(rate.path),
        )
        return posted

    @staticmethod
    def _ensure_booking_accounts(
        tx: Transaction, source: str, target: str, with_spread: bool
    ) -> None:
        tx.ensure_account(booking.position_account(source), source, booking.POSITION_KIND)
        tx.ensure_account(booking.position_account(target), target, booking.POSITION_KIND)
        if with_spread:
            tx.ensure_account(
                booking.spread_income_account(target), target, booking.SPREAD_INCOME_KIND
            )

    # -- revaluation ---------------------------------------------------------------------

    def revalue(
        self,
        at: datetime,
        reporting_currency: str,
        *,
        max_age: timedelta | None = None,
        rounding: str = ROUND_HALF_EVEN,
    ) -> booking.Revaluation:
        """Mark every FX position to market in ``reporting_currency`` as of ``at``.

        Posts the change in unrealised FX result since the previous revaluation (kind
        ``revaluation``, effective ``at``; nothing when it is zero). Running it again for the
        same instant returns the first run's result and posts nothing; an instant before the
        last revaluation in that currency is refused.
        """
        instant = _check_instant(at, "at")
        check_currency(reporting_currency)
        check_rounding(rounding)
        with self.ledger.transaction() as tx:
            earlier = _recorded_revaluation(tx.connection, reporting_currency, instant)
            if earlier is not None:
                return earlier
            lines = self._value_positions(tx, instant, reporting_currency, max_age, rounding)
            unrealised = -sum(line.value_minor for line in lines)
            reserve = tx.lock_accounts([booking.revaluation_account(reporting_currency)]).get(
                booking.revaluation_account(reporting_currency)
            )
            booked = 0 if reserve is None else reserve.debits_posted - reserve.credits_posted
            delta = unrealised - booked
            line_json = tuple(line.to_json(reporting_currency) for line in lines)
            entry_key = None
            if delta != 0:
                tx.ensure_account(
                    booking.revaluation_account(reporting_currency),
                    reporting_currency,
                    booking.REVALUATION_KIND,
                )
                tx.ensure_account(
                    booking.unrealised_account(reporting_currency),
                    reporting_currency,
                    booking.UNREALISED_KIND,
                )
                entry = booking.revaluation_entry(
                    reporting_currency, instant, delta, unrealised, line_json
                )
                entry_key = tx.post_many([entry])[0].key
            tx.connection.execute(
                fx_revaluations.insert(),
                {
                    "reporting_currency": reporting_currency,
                    "at": instant,
                    "entry_key": entry_key,
                    "unrealised_minor": unrealised,
                    "delta_minor": delta,
                    "lines": json.dumps(list(line_json), sort_keys=True, ensure_ascii=False),
                    "recorded_at": tx.clock(),
                },
            )
        log.info(
            "fx_revalued",
            reporting_currency=reporting_currency,
            at=format_timestamp(instant),
            unrealised_minor=unrealised,
            delta_minor=delta,
            entry=entry_key,
        )
        return booking.Revaluation(
            instant, reporting_currency, line_json, unrealised, delta, entry_key
        )

    def _value_positions(
        self,
        tx: Transaction,
        at: datetime,
        reporting_currency: str,
        max_age: timedelta | None,
        rounding: str,
    ) -> list[booking.RevaluationLine]:
        lines = []
        for currency, position_minor in sorted(_positions_as_of(tx.connection, at).items()):
            if position_minor == 0:
                continue
            rate = self.rate_on(tx.connection, currency, reporting_currency, at, max_age)
            lines.append(
                booking.value_position(currency, position_minor, rate, reporting_currency, rounding)
            )
        return lines


def _prior_exchange(
    connection: Connection, key: str, request: booking.ExchangeRequest
) -> PostedEntry | None:
    line = connection.execute(
        select(journal_entries.c.line).where(journal_entries.c.key == key)
    ).scalar()
    if line is None:
        return None
    prior = posted_entry_from_object(json.loads(line))
    if prior.kind == "fx_conversion" and prior.metadata.get("request") == request.to_json():
        log.info("entry_replayed", key=key)
        return prior
    raise IdempotencyConflictError(f"key {key!r} was already used for a different entry", key=key)


def _recorded_revaluation(
    connection: Connection, reporting_currency: str, at: datetime
) -> booking.Revaluation | None:
    """The run at ``at`` if there was one; refuses an instant before the latest run."""
    rows = connection.execute(
        select(fx_revaluations)
        .where(fx_revaluations.c.reporting_currency == reporting_currency)
        .where(fx_revaluations.c.at >= at)
        .order_by(fx_revaluations.c.at.desc())
    ).all()
    for row in rows:
        if row.at == at:
            return booking.Revaluation(
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


def _positions_as_of(connection: Connection, at: datetime) -> dict[str, int]:
    """Posted debits minus credits of every FX position account, by effective time."""
    signed = case((postings.c.is_debit, postings.c.amount_minor), else_=-postings.c.amount_minor)
    query = (
        select(accounts.c.currency, func.sum(signed))
        .select_from(postings)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .join(journal_entries, journal_entries.c.seq == postings.c.entry_seq)
        .where(accounts.c.code.startswith(booking.POSITION_PREFIX, autoescape=True))
        .where(postings.c.is_pending.is_(False))
        .where(journal_entries.c.effective_at <= at)
        .group_by(accounts.c.currency)
    )
    return {row[0]: int(row[1] or 0) for row in connection.execute(query)}

"""The FX book: ``ledger.fx`` (one unit of work per call) and ``tx.fx`` (inside a unit of work)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moneyed import Money

from jiaolong_ledger.errors import (
    AmountNotPositiveError,
    CurrencyMismatchError,
    IdempotencyConflictError,
    InvalidInputError,
    RateNotFoundError,
    RateStaleError,
)
from jiaolong_ledger.fx import booking
from jiaolong_ledger.fx.booking import Revaluation
from jiaolong_ledger.fx.ecb import EcbImport, read_ecb_file
from jiaolong_ledger.fx.rates import (
    FxRate,
    Leg,
    StoredQuote,
    check_rate_currency,
    check_rounding,
    derive,
    identity_rate,
)
from jiaolong_ledger.fx.settings import (
    FxSettings,
    check_instant,
    check_max_age,
    stored_quote,
)
from jiaolong_ledger.fx.store import (
    find_rate,
    record_revaluation,
    recorded_revaluation,
    store_quotes,
)
from jiaolong_ledger.journal import reads
from jiaolong_ledger.journal.books import Book, Scope, operation
from jiaolong_ledger.journal.canonical import format_timestamp
from jiaolong_ledger.journal.entry import PostedEntry
from jiaolong_ledger.journal.validation import check_key, check_timestamp, raise_problems
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import check_currency, positive_minor

if TYPE_CHECKING:
    from jiaolong_ledger.journal.writer import Transaction

log = get_logger("jiaolong_ledger.fx")


class FxBook(Book):
    """Rate store, conversions, exchanges through the FX position accounts, revaluation.

    ``settings.pivot`` (default EUR) is the currency cross rates are triangulated through;
    ``settings.max_age`` (default :data:`~jiaolong_ledger.fx.rates.DEFAULT_MAX_AGE`, 5 days) is
    the oldest rate used when a call does not say. Change both with :meth:`configure`; the
    settings object is shared by every FX book of the ledger, bound or not.
    """

    def __init__(
        self, scope: Scope, tx: Transaction | None = None, *, settings: FxSettings
    ) -> None:
        super().__init__(scope, tx)
        self.settings = settings

    @property
    def pivot(self) -> str:
        return self.settings.pivot

    @property
    def max_age(self) -> timedelta:
        return self.settings.max_age

    def configure(self, *, pivot: str | None = None, max_age: timedelta | None = None) -> None:
        """Set the pivot and/or the default maximum rate age (both checked before either is set)."""
        new_pivot = check_rate_currency(pivot) if pivot is not None else None
        new_max_age = check_max_age(max_age) if max_age is not None else None
        if new_pivot is not None:
            self.settings.pivot = new_pivot
        if new_max_age is not None:
            self.settings.max_age = new_max_age

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
        stored = stored_quote(base, quote, rate, as_of, source, bid, ask)
        new = self._store_quotes([stored])
        log.info(
            "fx_rate_set",
            pair=stored.pair,
            rate=str(stored.rate),
            as_of=format_timestamp(stored.as_of),
            source=stored.source,
            new=bool(new),
        )
        return derive(stored.base, stored.quote, (Leg(stored, inverted=False),))

    @operation
    def _store_quotes(
        self, quotes: Sequence[StoredQuote], line_numbers: Sequence[int] | None = None
    ) -> int:
        """The one write of the rate store; the quotes were checked before the unit began."""
        return store_quotes(self.connection, quotes, self.now(), line_numbers)

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
        oldest leg is older than ``max_age`` (default: the configured one, 5 days). Bound to a
        unit of work, it reads on the unit's connection (rates stored in the unit count).
        """
        check_rate_currency(base)
        check_rate_currency(quote)
        raise_problems(check_timestamp(at, "at"))
        instant = at or self.now()
        limit = check_max_age(max_age) if max_age is not None else self.settings.max_age
        via = check_rate_currency(pivot) if pivot is not None else self.settings.pivot
        if base == quote:
            return identity_rate(base, instant)
        with self.reading() as connection:
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
        return _fresh(found, instant, limit)

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
        """Like :meth:`import_ecb`, with the file's day and currency counts.

        The whole file is read and checked before the unit of work begins (no lock is held
        while parsing); then every new quote is stored in one write.
        """
        parsed = read_ecb_file(path)
        stored = self._store_quotes(parsed.quotes, parsed.line_numbers)
        report = EcbImport(str(path), parsed.days, parsed.currencies, len(parsed.quotes), stored)
        log.info("fx_ecb_imported", **report.to_dict())
        return report

    # -- exchange ------------------------------------------------------------------------

    @operation
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
    ) -> PostedEntry:
        """Exchange ``amount`` out of ``from_account`` into ``to_account``'s currency.

        One ``fx_conversion`` entry through the FX position accounts (see ``fx.booking``),
        effective at ``at`` (default now) and priced at the rate for that instant, or at
        ``rate`` when given (e.g. a clearing cycle's fixing). With a bid on the rate (and
        ``spread=True``) the participant gets the bid and the spread goes to
        ``fx:spread-income:<CCY>``. The key identifies the exchange: a retry with the same
        accounts and amount returns the original entry, whatever rates did since; anything
        else under that key is ``IDEMPOTENCY_CONFLICT``. Inside a unit of work:
        ``tx.fx.exchange(...)``.
        """
        raise_problems(check_key(key) + check_timestamp(at, "at"))
        check_rounding(rounding)
        request = self._exchange_request(key, from_account, to_account, amount)
        prior = self._prior_exchange(key, request)
        if prior is not None:
            return prior
        instant = at or self.now()
        used = self._exchange_rate(key, request, instant, rate, max_age)
        figures = booking.exchange_figures(request.amount_minor, used, rounding, spread)
        if figures.customer_minor <= 0:
            raise AmountNotPositiveError(
                f"{amount.amount} {request.from_currency} is worth less than one minor unit "
                f"of {request.to_currency}",
                key=key,
                amount=str(amount.amount),
                currency=request.from_currency,
                to_currency=request.to_currency,
            )
        self._ensure_booking_accounts(request, figures.spread_minor > 0)
        entry = booking.exchange_entry(
            key,
            request,
            used,
            figures,
            rounding=rounding,
            effective_at=instant,
            description=description,
            metadata=metadata,
        )
        posted = self.tx.post_many([entry])[0]
        log.info(
            "fx_exchanged",
            key=key,
            seq=posted.seq,
            pair=f"{request.from_currency}/{request.to_currency}",
            rate=str(used.rate),
            path="/".join(used.path),
        )
        return posted

    def _exchange_request(
        self, key: str, from_account: str, to_account: str, amount: Money
    ) -> booking.ExchangeRequest:
        amount_minor, source = positive_minor(amount)
        target = self.tx.account(to_account).snapshot.currency
        if target == source:
            raise InvalidInputError(
                f"an exchange needs two currencies; {to_account!r} also holds {source}",
                key=key,
                currency=source,
            )
        return booking.ExchangeRequest(from_account, to_account, amount_minor, source, target)

    def _prior_exchange(self, key: str, request: booking.ExchangeRequest) -> PostedEntry | None:
        prior = reads.entry_or_none(self.connection, key)
        if prior is None:
            return None
        if prior.kind == "fx_conversion" and prior.metadata.get("request") == request.to_json():
            log.info("entry_replayed", key=key)
            return prior
        raise IdempotencyConflictError(
            f"key {key!r} was already used for a different entry", key=key
        )

    def _exchange_rate(
        self,
        key: str,
        request: booking.ExchangeRequest,
        instant: datetime,
        given: FxRate | None,
        max_age: timedelta | None,
    ) -> FxRate:
        source, target = request.from_currency, request.to_currency
        if given is None:
            return self.rate(source, target, instant, max_age)
        if (given.base, given.quote) != (source, target):
            raise CurrencyMismatchError(
                f"the rate given is {given.base}/{given.quote}; the exchange is {source}/{target}",
                key=key,
                base=given.base,
                quote=given.quote,
            )
        return given

    def _ensure_booking_accounts(self, request: booking.ExchangeRequest, with_spread: bool) -> None:
        source, target = request.from_currency, request.to_currency
        self.tx.ensure_account(booking.position_account(source), source, booking.POSITION_KIND)
        self.tx.ensure_account(booking.position_account(target), target, booking.POSITION_KIND)
        if with_spread:
            self.tx.ensure_account(
                booking.spread_income_account(target), target, booking.SPREAD_INCOME_KIND
            )

    # -- revaluation ---------------------------------------------------------------------

    @operation
    def revalue(
        self,
        at: datetime,
        reporting_currency: str,
        *,
        max_age: timedelta | None = None,
        rounding: str = ROUND_HALF_EVEN,
    ) -> Revaluation:
        """Mark every FX position to market in ``reporting_currency`` as of ``at``.

        Posts the change in unrealised FX result since the previous revaluation (kind
        ``revaluation``, effective ``at``; nothing when it is zero). Running it again for the
        same instant returns the first run's result and posts nothing; an instant before the
        last revaluation in that currency is refused.
        """
        instant = check_instant(at, "at")
        check_currency(reporting_currency)
        check_rounding(rounding)
        earlier = recorded_revaluation(self.connection, reporting_currency, instant)
        if earlier is not None:
            return earlier
        lines = self._value_positions(instant, reporting_currency, max_age, rounding)
        unrealised = -sum(line.value_minor for line in lines)
        delta = unrealised - self._booked_unrealised(reporting_currency)
        line_json = tuple(line.to_json(reporting_currency) for line in lines)
        entry_key = None
        if delta != 0:
            entry_key = self._post_revaluation(
                reporting_currency, instant, delta, unrealised, line_json
            )
        result = Revaluation(instant, reporting_currency, line_json, unrealised, delta, entry_key)
        record_revaluation(self.connection, result, self.now())
        log.info(
            "fx_revalued",
            reporting_currency=reporting_currency,
            at=format_timestamp(instant),
            unrealised_minor=unrealised,
            delta_minor=delta,
            entry=entry_key,
        )
        return result

    def _value_positions(
        self,
        at: datetime,
        reporting_currency: str,
        max_age: timedelta | None,
        rounding: str,
    ) -> list[booking.RevaluationLine]:
        positions = reads.posted_net_by_currency(self.connection, booking.POSITION_PREFIX, at)
        lines = []
        for currency, position_minor in sorted(positions.items()):
            if position_minor == 0:
                continue
            rate = self.rate(currency, reporting_currency, at, max_age)
            lines.append(
                booking.value_position(currency, position_minor, rate, reporting_currency, rounding)
            )
        return lines

    def _booked_unrealised(self, reporting_currency: str) -> int:
        """What earlier revaluations moved: the reserve's net debit, as it stands in the unit."""
        code = booking.revaluation_account(reporting_currency)
        reserve = self.tx.lock_accounts([code]).get(code)
        if reserve is None:
            return 0
        balance = reserve.balance()
        return balance.debits_posted_minor - balance.credits_posted_minor

    def _post_revaluation(
        self,
        reporting_currency: str,
        at: datetime,
        delta_minor: int,
        unrealised_minor: int,
        lines: tuple[dict[str, Any], ...],
    ) -> str:
        self.tx.ensure_account(
            booking.revaluation_account(reporting_currency),
            reporting_currency,
            booking.REVALUATION_KIND,
        )
        self.tx.ensure_account(
            booking.unrealised_account(reporting_currency),
            reporting_currency,
            booking.UNREALISED_KIND,
        )
        entry = booking.revaluation_entry(
            reporting_currency, at, delta_minor, unrealised_minor, lines
        )
        return self.tx.post_many([entry])[0].key


def _fresh(found: FxRate, instant: datetime, limit: timedelta) -> FxRate:
    """``found`` unless its oldest leg is more than ``limit`` before ``instant`` (RATE_STALE)."""
    age = instant - found.as_of
    if age > limit:
        raise RateStaleError(
            f"the latest {found.base}/{found.quote} rate is from "
            f"{format_timestamp(found.as_of)}, {age} before {format_timestamp(instant)} "
            f"(max age {limit})",
            base=found.base,
            quote=found.quote,
            at=format_timestamp(instant),
            as_of=format_timestamp(found.as_of),
            age_seconds=int(age.total_seconds()),
            max_age_seconds=int(limit.total_seconds()),
            path=list(found.path),
        )
    return found


FX = FxBook
"""The former name of the FX facade class."""

__all__ = ["FX", "FxBook"]

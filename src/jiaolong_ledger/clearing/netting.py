"""Multilateral netting, aggregated in SQL where the obligations are stored.

Two ``GROUP BY participant, currency`` queries (what each payer pays, what each payee receives)
run as scans of the covering indexes, so netting a million obligations is two index scans and a
few thousand result rows, on SQLite or PostgreSQL. Obligations that settle in another currency
(``settlement_currency != currency``) are grouped per payer, payee and currency pair instead and
converted once per group at the cycle's fixing rate: the payer's debit and the payee's credit
come from the same rounded amount, so positions still sum to zero in every currency.

The obligation unwind needs single obligations only when some net payer is short: then
:func:`load_claims` reads the cycle's same-currency obligations of the short currencies (one
indexed scan), and :func:`without` takes the deferred ones out of the SQL positions and
summaries — exactly, as they are in their own currency.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from jiaolong_ledger.clearing.model import CurrencySummary, FixingRate, Participant, Position
from jiaolong_ledger.clearing.ports import FixingRates
from jiaolong_ledger.clearing.tables import clearing_obligations
from jiaolong_ledger.clearing.unwind import Claim
from jiaolong_ledger.money import round_to_minor

URGENT: Final = "urgent"
"""The ``priority`` value the unwind defers last (once obligations carry a priority)."""

RateLookup = Callable[[str, str], FixingRate]
"""``(base, quote) -> FixingRate`` at the cycle's fixing instant."""


class RateBook:
    """The cycle's fixing: one rate per currency pair, looked up once at ``fixing_at``."""

    def __init__(self, rates: FixingRates, fixing_at: datetime) -> None:
        self.rates = rates
        self.fixing_at = fixing_at
        self.used: dict[tuple[str, str], FixingRate] = {}

    def __call__(self, base: str, quote: str) -> FixingRate:
        key = (base, quote)
        if key not in self.used:
            found = self.rates.rate(base, quote, at=self.fixing_at)
            self.used[key] = FixingRate(base, quote, found.rate, found.as_of, found.source)
        return self.used[key]


@dataclass(frozen=True, slots=True)
class Netting:
    """Net positions of one cycle (without the participants in ``excluded``)."""

    cycle_id: int
    positions: Mapping[tuple[int, str], Position]
    """By (participant id, currency)."""
    summaries: Mapping[str, CurrencySummary]
    excluded: frozenset[int]

    @property
    def obligations(self) -> int:
        return sum(summary.obligations for summary in self.summaries.values())

    def nets(self, currency: str) -> dict[str, int]:
        """Participant name -> net position (minor units) in ``currency``, zeros left out."""
        return {
            position.participant: position.net_minor
            for (_, position_currency), position in self.positions.items()
            if position_currency == currency and position.net_minor != 0
        }


class _Accumulator:
    def __init__(self) -> None:
        self.paid: dict[tuple[int, str], int] = {}
        self.received: dict[tuple[int, str], int] = {}
        self.gross: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    def pay(self, participant_id: int, currency: str, amount_minor: int, count: int) -> None:
        key = (participant_id, currency)
        self.paid[key] = self.paid.get(key, 0) + amount_minor
        self.gross[currency] = self.gross.get(currency, 0) + amount_minor
        self.counts[currency] = self.counts.get(currency, 0) + count

    def receive(self, participant_id: int, currency: str, amount_minor: int) -> None:
        key = (participant_id, currency)
        self.received[key] = self.received.get(key, 0) + amount_minor


def _filters(cycle_id: int, excluded: Collection[int]) -> list[ColumnElement[bool]]:
    o = clearing_obligations
    filters: list[ColumnElement[bool]] = [o.c.cycle_id == cycle_id]
    if excluded:
        ordered = sorted(excluded)
        filters += [o.c.payer_id.not_in(ordered), o.c.payee_id.not_in(ordered)]
    return filters


def _same_currency(connection: Connection, filters: list[Any], acc: _Accumulator) -> bool:
    """Aggregate obligations settling in their own currency; True if others exist.

    Grouping by ``settlement_currency`` rather than filtering ``settlement_currency = currency``
    keeps PostgreSQL's row estimate right (a column-equality filter is guessed at 0.5 %, which
    made it sort a million rows on disk instead of hashing them).
    """
    o = clearing_obligations
    converted = False
    paid = (
        select(
            o.c.payer_id,
            o.c.currency,
            o.c.settlement_currency,
            func.sum(o.c.amount_minor),
            func.count(),
        )
        .where(and_(*filters))
        .group_by(o.c.payer_id, o.c.currency, o.c.settlement_currency)
    )
    for payer_id, currency, settlement_currency, total, count in connection.execute(paid):
        if settlement_currency != currency:
            converted = True
            continue
        acc.pay(int(payer_id), currency, int(total), int(count))
    received = (
        select(o.c.payee_id, o.c.currency, o.c.settlement_currency, func.sum(o.c.amount_minor))
        .where(and_(*filters))
        .group_by(o.c.payee_id, o.c.currency, o.c.settlement_currency)
    )
    for payee_id, currency, settlement_currency, total in connection.execute(received):
        if settlement_currency == currency:
            acc.receive(int(payee_id), currency, int(total))
    return converted


def convert_minor(amount_minor: int, base: str, rate: FixingRate) -> int:
    """``amount_minor`` of ``base`` in ``rate.quote`` minor units, rounded half-even once."""
    from jiaolong_ledger.money import minor_to_decimal

    value: Decimal = minor_to_decimal(amount_minor, base) * rate.rate
    return round_to_minor(value, rate.quote, ROUND_HALF_EVEN)


def _converted(
    connection: Connection, filters: list[Any], acc: _Accumulator, rate_for: RateLookup | None
) -> None:
    o = clearing_obligations
    query = (
        select(
            o.c.payer_id,
            o.c.payee_id,
            o.c.currency,
            o.c.settlement_currency,
            func.sum(o.c.amount_minor),
            func.count(),
        )
        .where(and_(*filters, o.c.settlement_currency != o.c.currency))
        .group_by(o.c.payer_id, o.c.payee_id, o.c.currency, o.c.settlement_currency)
        .order_by(o.c.payer_id, o.c.payee_id, o.c.currency, o.c.settlement_currency)
    )
    for payer_id, payee_id, currency, settlement_currency, total, count in connection.execute(
        query
    ):
        if rate_for is None:
            raise AssertionError("obligations to convert but no rate lookup was given")
        amount = convert_minor(int(total), currency, rate_for(currency, settlement_currency))
        acc.pay(int(payer_id), settlement_currency, amount, int(count))
        acc.receive(int(payee_id), settlement_currency, amount)


def net(
    connection: Connection,
    cycle_id: int,
    names: Mapping[int, str],
    *,
    excluded: Collection[int] = (),
    rate_for: RateLookup | None = None,
) -> Netting:
    """Positions per participant and currency of cycle ``cycle_id``, minus ``excluded``."""
    filters = _filters(cycle_id, excluded)
    acc = _Accumulator()
    if _same_currency(connection, filters, acc):
        _converted(connection, filters, acc, rate_for)
    positions = {
        key: Position(
            participant=names[key[0]],
            currency=key[1],
            paid_minor=acc.paid.get(key, 0),
            received_minor=acc.received.get(key, 0),
        )
        for key in sorted(set(acc.paid) | set(acc.received), key=lambda k: (k[1], names[k[0]]))
    }
    summaries = {}
    for currency in sorted(acc.gross):
        nets = [p.net_minor for (_, c), p in positions.items() if c == currency]
        assert sum(nets) == 0, f"{currency} positions do not sum to zero"
        summaries[currency] = CurrencySummary(
            currency=currency,
            obligations=acc.counts[currency],
            gross_minor=acc.gross[currency],
            net_minor=-sum(n for n in nets if n < 0),
            participants=len(nets),
        )
    return Netting(cycle_id, positions, summaries, frozenset(excluded))


def value_positions(
    positions: Iterable[Position], roster: Mapping[str, Participant], rate_for: RateLookup
) -> list[Position]:
    """Each position also valued in its participant's settlement currency at the fixing."""
    valued = []
    for position in positions:
        target = roster[position.participant].settlement_currency
        value = (
            position.net_minor
            if target == position.currency
            else convert_minor(
                position.net_minor, position.currency, rate_for(position.currency, target)
            )
        )
        valued.append(replace(position, settlement_currency=target, settlement_value_minor=value))
    return valued


def _urgent() -> ColumnElement[bool] | None:
    """Hook for obligation priority: ``priority = 'urgent'`` once the column exists (until
    then every obligation is normal priority)."""
    column = clearing_obligations.c.get("priority")
    return None if column is None else (column == URGENT)


def load_claims(
    connection: Connection, cycle_id: int, currencies: Collection[str]
) -> dict[str, list[Claim]]:
    """The cycle's obligations in ``currencies`` that settle in their own currency, as unwind
    claims per currency (by id: deterministic). Converted obligations are left out: the unwind
    never defers them."""
    o = clearing_obligations
    urgent = _urgent()
    columns: list[Any] = [o.c.id, o.c.reference, o.c.payer_id, o.c.payee_id, o.c.currency]
    columns += [o.c.amount_minor] if urgent is None else [o.c.amount_minor, urgent]
    query = (
        select(*columns)
        .where(
            o.c.cycle_id == cycle_id,
            o.c.currency.in_(sorted(currencies)),
            o.c.settlement_currency == o.c.currency,
        )
        .order_by(o.c.id)
    )
    claims: dict[str, list[Claim]] = {currency: [] for currency in sorted(currencies)}
    for row in connection.execute(query):
        claims[row[4]].append(
            Claim(
                int(row[0]),
                row[1],
                int(row[2]),
                int(row[3]),
                int(row[5]),
                bool(row[6]) if len(row) > 6 else False,
            )
        )
    return claims


def involving(
    connection: Connection, cycle_id: int, participant_ids: Collection[int]
) -> list[tuple[int, str, int, int, str, int]]:
    """(id, reference, payer id, payee id, currency, amount) of the cycle's obligations with a
    participant of ``participant_ids`` on either side (the whole-participant carry)."""
    if not participant_ids:
        return []
    o = clearing_obligations
    ordered = sorted(participant_ids)
    query = (
        select(o.c.id, o.c.reference, o.c.payer_id, o.c.payee_id, o.c.currency, o.c.amount_minor)
        .where(o.c.cycle_id == cycle_id, or_(o.c.payer_id.in_(ordered), o.c.payee_id.in_(ordered)))
        .order_by(o.c.id)
    )
    return [
        (int(i), reference, int(payer), int(payee), currency, int(amount))
        for i, reference, payer, payee, currency, amount in connection.execute(query)
    ]


def without(
    netting: Netting, claims: Mapping[str, Sequence[Claim]], deferred: Collection[int]
) -> Netting:
    """``netting`` less the ``deferred`` claims (ids) — same-currency, so exact.

    ``claims`` are every same-currency obligation ``netting`` holds in those currencies; a
    position whose obligations were all deferred disappears, as does a currency left with no
    obligation, so the result equals netting the remaining obligations in SQL."""
    paid = {key: p.paid_minor for key, p in netting.positions.items()}
    received = {key: p.received_minor for key, p in netting.positions.items()}
    own = {key: 0 for key in netting.positions}  # same-currency obligations per position
    left = dict(own)
    gross = {c: s.gross_minor for c, s in netting.summaries.items()}
    count = {c: s.obligations for c, s in netting.summaries.items()}
    for currency, in_currency in claims.items():
        for claim in in_currency:
            payer, payee = (claim.payer, currency), (claim.payee, currency)
            own[payer] += 1
            own[payee] += 1
            if claim.obligation_id not in deferred:
                left[payer] += 1
                left[payee] += 1
                continue
            paid[payer] -= claim.amount_minor
            received[payee] -= claim.amount_minor
            gross[currency] -= claim.amount_minor
            count[currency] -= 1
    positions = {
        key: replace(position, paid_minor=paid[key], received_minor=received[key])
        for key, position in netting.positions.items()
        # kept: obligations remain, or it holds converted ones (never deferred)
        if left[key] or own[key] == 0 or paid[key] or received[key]
    }
    summaries = {}
    for currency, summary in netting.summaries.items():
        if count[currency] == 0:
            continue
        nets = [p.net_minor for (_, c), p in positions.items() if c == currency]
        assert sum(nets) == 0, f"{currency} positions do not sum to zero"
        summaries[currency] = replace(
            summary,
            obligations=count[currency],
            gross_minor=gross[currency],
            net_minor=-sum(n for n in nets if n < 0),
            participants=len(nets),
        )
    return Netting(netting.cycle_id, positions, summaries, netting.excluded)

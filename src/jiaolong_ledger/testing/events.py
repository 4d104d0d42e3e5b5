"""Hypothesis strategies for adapter event streams (SPEC §2): escrow orders from placement on.

Design. :func:`order_event_streams` first draws what *happens* to one to a few escrow orders:
each is placed, usually funded, rides a shipment whose train reaches a prefix of the rail
milestones in rail order, and may be disputed (once or twice), have its dispute resolved
(release, refund or split) and be cancelled. Every event carries the time it happened. Then it
draws the order in which the events *arrive*: shuffled (a later milestone before an earlier
one, funding after the goods have moved, a resolution before its dispute), with duplicates
(retries) mixed in. The only order kept is that an order's ``OrderPlaced`` arrives before any
event naming the order or its shipment (orders are booked before their train moves).

A small model of the escrow rules of docs/escrow.md replays the arrival order as the ledger
will. It knows nothing of SQL or entries, only each order's status, dispute, milestones seen and
integer totals, and decides for each event whether the ledger accepts it and what it changes.
So every :class:`EventStream` carries:

- ``events``: pydantic event models for ``ledger.ingest``, in arrival order;
- ``refusals``: event index -> the error code the ledger raises for that event. By default it
  is empty: an event the ledger would refuse is left out (a refused event changes nothing, so
  leaving it out changes nothing after it either). With ``refusals=True`` such events stay,
  and the codes to expect are those of :data:`REFUSAL_CODES`: ``ESCROW_CLOSED`` (funding a
  cancelled order; a new dispute, another resolution or a cancellation after the order closed
  — the order's own dispute or resolution reported again is a retry that changes nothing),
  ``ESCROW_DISPUTED`` (cancelling a disputed order; a second dispute with another id) and
  ``INVALID_INPUT`` (resolving an order with no open dispute or with another dispute id; a
  split larger than what the order still holds);
- ``outcomes``: each order's predicted end state (status and integer totals), to compare with
  ``ledger.escrow.state(order_id)``;
- ``setup(ledger)``: opens the bank and cash accounts the stream names and deposits into every
  buyer's cash what all its orders cost, so ``CONSTRAINT_VIOLATED`` never happens.

Only escrow orders (``settlement_terms: "escrow"``) are drawn; deferred-net orders belong to
clearing, and financing events to the financing tests. A stream with no refusals can be
ingested in one ``ingest_many`` batch (or one ``jiaolong events ingest`` file); a stream with
refusals is meant for ``ledger.ingest`` one event at a time, since a refused event rolls back
its whole batch. Ids are ``ORD-<n>``, ``TRAIN-<n>`` and ``D-<n>``: use
:meth:`EventStream.renamed` to run several streams in one ledger.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from jiaolong_ledger.accounts.chart import participant_cash, platform_bank
from jiaolong_ledger.adapters import Transactional
from jiaolong_ledger.adapters.events import (
    IDENTIFIER_RE,
    PARTICIPANT_RE,
    DisputeOpened,
    DisputeResolved,
    EscrowFunded,
    MilestoneReached,
    OrderCancelled,
    OrderPlaced,
    ReleasePlanItem,
)
from jiaolong_ledger.escrow import INCOTERMS
from jiaolong_ledger.escrow.plan import MILESTONES, PLAN_ITEMS_MAX, SHARE_DECIMALS_MAX
from jiaolong_ledger.escrow.state import CANCELLED, COMPLETED, FUNDED, PLACED, RESOLVED
from jiaolong_ledger.journal.entry import Entry, credit, debit
from jiaolong_ledger.money import decimal_to_minor, minor_to_decimal, minor_to_money
from jiaolong_ledger.testing.strategies import amounts_minor, currencies

StreamEvent = (
    OrderPlaced | EscrowFunded | MilestoneReached | DisputeOpened | DisputeResolved | OrderCancelled
)
"""The six escrow events a stream is made of."""

PARTICIPANTS_DEFAULT: Final = (
    "shu-brocade",
    "lodz-gallery",
    "almaty-prints",
    "vientiane-silk",
    "duisburg-prints",
    "chongqing-lacquer",
)
STATIONS: Final = ("Chengdu", "Xi'an", "Khorgos", "Dostyk", "Brest", "Małaszewicze", "Duisburg")
REFUSAL_CODES: Final = ("ESCROW_CLOSED", "ESCROW_DISPUTED", "INVALID_INPUT")
"""What the ledger raises for the refused events a ``refusals=True`` stream keeps."""

AMOUNT_MINOR_DEFAULT_MAX: Final = 10**10
ORDERS_PER_STREAM_MAX: Final = 20
DUPLICATES_PER_STREAM_MAX: Final = 8
DISPUTES_PER_ORDER_MAX: Final = 2
FEE_RATE_PER_MILLE_MAX: Final = 100
"""Fee rates are drawn in [0, 10%] in steps of 0.1%."""
GAP_SECONDS_MAX: Final = 3 * 86_400
"""Longest gap between an order's placement and its funding, dispute or cancellation."""
LEG_SECONDS_MAX: Final = 4 * 86_400
"""Longest time between two milestones of a journey."""
STREAM_EPOCH_MIN: Final = datetime(2024, 1, 1)
STREAM_EPOCH_MAX: Final = datetime(2030, 12, 31)


# -- single events ---------------------------------------------------------------------------


def _chance(numerator: int, denominator: int) -> st.SearchStrategy[bool]:
    """True with probability numerator/denominator; shrinks toward the likelier value."""
    if 2 * numerator > denominator:
        return st.integers(1, denominator).map(lambda value: value <= numerator)
    return st.integers(1, denominator).map(lambda value: value > denominator - numerator)


def _instants() -> st.SearchStrategy[datetime]:
    return st.datetimes(STREAM_EPOCH_MIN, STREAM_EPOCH_MAX, timezones=st.just(UTC)).map(
        lambda instant: instant.replace(microsecond=0)
    )


def _seconds(low: int, high: int) -> st.SearchStrategy[timedelta]:
    return st.integers(low, high).map(lambda seconds: timedelta(seconds=seconds))


def release_plans(
    milestones: Sequence[str] = MILESTONES,
    *,
    items_min: int = 1,
    items_max: int | None = None,
    share_decimals_max: int = 2,
    rail_order: bool = True,
) -> st.SearchStrategy[list[ReleasePlanItem]]:
    """Release plans: distinct milestones from ``milestones``, positive shares summing to
    exactly 100 with up to ``share_decimals_max`` decimals (``"30"``, ``"33.33"``).

    With ``rail_order`` the items follow the rail order of ``MILESTONES``; otherwise any order
    (the plan's order is the order of release).
    """
    pool = tuple(dict.fromkeys(milestones))
    unknown = [name for name in pool if name not in MILESTONES]
    size_max = min(len(pool), PLAN_ITEMS_MAX) if items_max is None else items_max
    if unknown or not 1 <= items_min <= size_max <= min(len(pool), PLAN_ITEMS_MAX):
        raise InvalidArgument(
            f"release_plans() needs known milestones (unknown: {unknown}) and "
            f"1 <= items_min <= items_max <= {min(len(pool), PLAN_ITEMS_MAX)}"
        )
    if not 0 <= share_decimals_max <= SHARE_DECIMALS_MAX:
        raise InvalidArgument(f"share_decimals_max must be in [0, {SHARE_DECIMALS_MAX}]")

    @st.composite
    def build(draw: st.DrawFn) -> list[ReleasePlanItem]:
        chosen = draw(
            st.lists(st.sampled_from(pool), min_size=items_min, max_size=size_max, unique=True)
        )
        if rail_order:
            chosen.sort(key=MILESTONES.index)
        decimals = draw(st.integers(0, share_decimals_max))
        total = 100 * 10**decimals
        cuts = draw(
            st.lists(
                st.integers(1, total - 1),
                min_size=len(chosen) - 1,
                max_size=len(chosen) - 1,
                unique=True,
            )
        )
        edges = [0, *sorted(cuts), total]
        return [
            ReleasePlanItem(milestone=name, share=Decimal(high - low) / 10**decimals)
            for name, low, high in zip(chosen, edges, edges[1:], strict=False)
        ]

    return build()


def _check_participants(participants: Sequence[str]) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(participants))
    bad = [name for name in names if not PARTICIPANT_RE.match(name)]
    if bad or len(names) < 2:
        raise InvalidArgument(
            f"need at least two distinct participant names (lowercase account-code segments); "
            f"got {list(participants)}"
        )
    return names


def _currency_strategy(currency: str | st.SearchStrategy[str] | None) -> st.SearchStrategy[str]:
    if currency is None:
        return currencies()
    if isinstance(currency, str):
        return currencies((currency,))
    return currency


def _fee_terms(draw: st.DrawFn, amount_minor: int, currency: str) -> dict[str, Decimal]:
    """No fee, a rate (a fraction such as ``0.015``), or a fixed fee of at most the amount."""
    choice = draw(st.sampled_from(("none", "rate", "fixed")))
    if choice == "rate":
        per_mille = draw(st.integers(0, FEE_RATE_PER_MILLE_MAX))
        return {"platform_fee_rate": Decimal(per_mille) / 1000}
    if choice == "fixed":
        fee_minor = draw(st.integers(0, amount_minor))
        return {"platform_fee": minor_to_decimal(fee_minor, currency)}
    return {}


def order_placed(
    participants: Sequence[str] = PARTICIPANTS_DEFAULT,
    currency: str | st.SearchStrategy[str] | None = None,
    *,
    order_ids: st.SearchStrategy[str] | None = None,
    shipment_ids: st.SearchStrategy[str | None] | None = None,
    plans: st.SearchStrategy[list[ReleasePlanItem]] | None = None,
    amount_minor_max: int = AMOUNT_MINOR_DEFAULT_MAX,
    fees: bool = True,
    placed_at: st.SearchStrategy[datetime] | None = None,
) -> st.SearchStrategy[OrderPlaced]:
    """``OrderPlaced`` events on escrow terms that ``ledger.ingest`` accepts.

    Buyer and seller are two different ``participants``; ``currency`` is a code, a strategy of
    codes or ``None`` for :func:`~jiaolong_ledger.testing.strategies.currencies`. The amount has
    exactly the currency's decimals; the fee is none, a rate in [0, 10%] or a fixed amount of at
    most the order amount (``fees=False``: none). The buyer's cash must hold the amount before
    the order is funded (see :meth:`EventStream.setup`).
    """
    names = _check_participants(participants)
    currency_codes = _currency_strategy(currency)
    amounts = amounts_minor(1, amount_minor_max)
    ids = order_ids if order_ids is not None else st.integers(1, 9999).map(lambda n: f"ORD-{n}")
    shipments = (
        shipment_ids
        if shipment_ids is not None
        else st.one_of(st.none(), st.integers(1, 99).map(lambda n: f"TRAIN-{n}"))
    )
    plan_items = plans if plans is not None else release_plans()
    times = placed_at if placed_at is not None else _instants()

    @st.composite
    def build(draw: st.DrawFn) -> OrderPlaced:
        buyer, seller = draw(st.permutations(names))[:2]
        code = draw(currency_codes)
        amount_minor = draw(amounts)
        return OrderPlaced(
            order_id=draw(ids),
            buyer=buyer,
            seller=seller,
            currency=code,
            amount=minor_to_decimal(amount_minor, code),
            incoterm=draw(st.sampled_from(INCOTERMS)),
            shipment_id=draw(shipments),
            release_plan=draw(plan_items),
            placed_at=draw(times),
            settlement_terms="escrow",
            **(_fee_terms(draw, amount_minor, code) if fees else {}),
        )

    return build()


# -- the model of the escrow rules -----------------------------------------------------------


class _Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _parts_minor(amount_minor: int, plan: Sequence[ReleasePlanItem]) -> tuple[int, ...]:
    """Gross release per plan item: the floor of each share, the last takes the remainder
    (computed with exact fractions, independently of the escrow service's arithmetic)."""
    parts = [math.floor(Fraction(amount_minor) * Fraction(item.share) / 100) for item in plan[:-1]]
    return (*parts, amount_minor - sum(parts))


@dataclass(slots=True)
class _OrderModel:
    order_id: str
    currency: str
    shipment_id: str | None
    amount_minor: int
    plan: tuple[str, ...]
    parts_minor: tuple[int, ...]
    status: str = PLACED
    funded_minor: int = 0
    released_minor: int = 0
    refunded_minor: int = 0
    disputed: bool = False
    dispute_id: str | None = None
    outcome: str | None = None
    resolution_seller_minor: int | None = None
    """What the dispute's resolution paid the seller (gross), once resolved."""
    seen: set[str] = field(default_factory=set)
    released: list[bool] = field(default_factory=list)

    @classmethod
    def placed(cls, event: OrderPlaced) -> _OrderModel:
        amount_minor = decimal_to_minor(event.amount, event.currency)
        return cls(
            order_id=event.order_id,
            currency=event.currency,
            shipment_id=event.shipment_id,
            amount_minor=amount_minor,
            plan=tuple(item.milestone for item in event.release_plan),
            parts_minor=_parts_minor(amount_minor, event.release_plan),
            released=[False] * len(event.release_plan),
        )

    @property
    def remaining_minor(self) -> int:
        return self.funded_minor - self.released_minor - self.refunded_minor

    @property
    def is_open(self) -> bool:
        return self.status in (PLACED, FUNDED)

    def release_due(self) -> None:
        """Release, in plan order, every unreleased item up to the last milestone seen."""
        if self.status != FUNDED or self.disputed:
            return
        due = max((i for i, name in enumerate(self.plan) if name in self.seen), default=-1)
        for index in range(due + 1):
            if not self.released[index]:
                self.released[index] = True
                self.released_minor += self.parts_minor[index]
        if all(self.released):
            self.status = COMPLETED


class _EscrowModel:
    """Predicts, event by event, what ``ledger.ingest`` does: a refusal code or the effect."""

    def __init__(self) -> None:
        self.orders: dict[str, _OrderModel] = {}

    def apply(self, event: StreamEvent) -> str | None:
        """The code the ledger refuses ``event`` with, or None (and the effect is applied)."""
        handlers: dict[type[Any], Callable[[Any], None]] = {
            OrderPlaced: self._placed,
            EscrowFunded: self._funded,
            MilestoneReached: self._milestone,
            DisputeOpened: self._dispute_opened,
            DisputeResolved: self._dispute_resolved,
            OrderCancelled: self._cancelled,
        }
        try:
            handlers[type(event)](event)
        except _Refused as refusal:
            return refusal.code
        return None

    def _order(self, order_id: str) -> _OrderModel:
        order = self.orders.get(order_id)
        if order is None:
            raise _Refused("ORDER_NOT_FOUND")
        return order

    def _placed(self, event: OrderPlaced) -> None:
        # Streams place an order again only as an exact duplicate, which changes nothing.
        self.orders.setdefault(event.order_id, _OrderModel.placed(event))

    def _funded(self, event: EscrowFunded) -> None:
        order = self._order(event.order_id)
        if order.funded_minor > 0:
            return
        if order.status != PLACED:
            raise _Refused("ESCROW_CLOSED")
        order.funded_minor = order.amount_minor
        order.status = FUNDED
        order.release_due()

    def _milestone(self, event: MilestoneReached) -> None:
        if event.order_id is not None:
            order = self.orders.get(event.order_id)
            if order is None or event.shipment_id not in (None, order.shipment_id):
                raise _Refused("SHIPMENT_NOT_FOUND")
            targets = [order]
        else:
            targets = [o for o in self.orders.values() if o.shipment_id == event.shipment_id]
            if not targets:
                raise _Refused("SHIPMENT_NOT_FOUND")
        for order in targets:
            if event.milestone not in order.seen:
                order.seen.add(event.milestone)
                order.release_due()

    def _dispute_opened(self, event: DisputeOpened) -> None:
        order = self._order(event.order_id)
        had_it = order.disputed or order.outcome is not None
        if had_it and order.dispute_id == event.dispute_id:
            return  # the order's dispute (open or resolved) reported again: a retry
        if order.disputed:
            raise _Refused("ESCROW_DISPUTED")
        if not order.is_open:
            raise _Refused("ESCROW_CLOSED")
        order.disputed = True
        order.dispute_id = event.dispute_id

    def _dispute_resolved(self, event: DisputeResolved) -> None:
        order = self._order(event.order_id)
        if order.status == RESOLVED:
            self._resolved_again(order, event)
            return
        if not order.is_open:
            raise _Refused("ESCROW_CLOSED")
        if not order.disputed or event.dispute_id not in (None, order.dispute_id):
            raise _Refused("INVALID_INPUT")
        remaining = order.remaining_minor
        to_seller = {"release": remaining, "refund": 0}.get(event.outcome)
        if to_seller is None:
            assert event.seller_amount is not None
            to_seller = decimal_to_minor(event.seller_amount, order.currency)
            if to_seller > remaining:
                raise _Refused("INVALID_INPUT")
        order.released_minor += to_seller
        order.refunded_minor += remaining - to_seller
        order.disputed = False
        order.outcome = event.outcome
        order.resolution_seller_minor = to_seller
        order.status = RESOLVED

    @staticmethod
    def _resolved_again(order: _OrderModel, event: DisputeResolved) -> None:
        """The recorded resolution asked again is a retry; any other is ``ESCROW_CLOSED``."""
        asked_minor = None
        if event.seller_amount is not None:
            asked_minor = decimal_to_minor(event.seller_amount, order.currency)
        same = (
            event.outcome == order.outcome
            and event.dispute_id in (None, order.dispute_id)
            and asked_minor in (None, order.resolution_seller_minor)
        )
        if not same:
            raise _Refused("ESCROW_CLOSED")

    def _cancelled(self, event: OrderCancelled) -> None:
        order = self._order(event.order_id)
        if order.status == CANCELLED:
            return
        if not order.is_open:
            raise _Refused("ESCROW_CLOSED")
        if order.disputed:
            raise _Refused("ESCROW_DISPUTED")
        order.refunded_minor += order.remaining_minor
        order.status = CANCELLED


# -- streams ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """An order's predicted state once its stream is ingested (compare with
    ``ledger.escrow.state(order_id)``). ``funded = released + refunded + remaining``."""

    order_id: str
    status: str
    funded_minor: int
    released_minor: int
    refunded_minor: int
    disputed: bool

    @property
    def remaining_minor(self) -> int:
        return self.funded_minor - self.released_minor - self.refunded_minor


def _renamed(event: StreamEvent, rename: Callable[[str], str]) -> StreamEvent:
    """``event`` with its order and shipment ids renamed (validated again)."""
    data = event.model_dump()
    for name in ("order_id", "shipment_id"):
        if data.get(name) is not None:
            data[name] = rename(data[name])
    return type(event).model_validate(data)


@dataclass(frozen=True, slots=True)
class EventStream:
    """Escrow events in arrival order, what the ledger will make of them, and their setup."""

    events: tuple[StreamEvent, ...]
    refusals: Mapping[int, str]
    """Index in ``events`` -> the error code ``ledger.ingest`` raises for it."""
    outcomes: Mapping[str, OrderOutcome]
    """Order id -> its state after the whole stream."""
    deposits_minor: Mapping[tuple[str, str], int]
    """(buyer, currency) -> what :meth:`setup` deposits into its cash account."""
    participants: frozenset[tuple[str, str]]
    """Every (participant, currency) whose cash account the stream touches."""
    starts_at: datetime

    @property
    def accepted(self) -> tuple[StreamEvent, ...]:
        """The events the ledger accepts (all of them when ``refusals`` is empty)."""
        return tuple(e for i, e in enumerate(self.events) if i not in self.refusals)

    def digest(self) -> str:
        """A short fingerprint of the events (it names the setup's deposits)."""
        text = "\n".join(
            json.dumps(event.model_dump(mode="json"), sort_keys=True) for event in self.events
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def setup(self, ledger: Transactional) -> None:
        """Open ``platform:bank:<CCY>`` and the cash accounts of every participant in the
        stream (liability, ``debits_must_not_exceed_credits``), and deposit into each buyer's
        cash what all its orders cost, effective a day before the stream starts. Idempotent:
        the deposits' keys derive from :meth:`digest`."""
        effective_at = self.starts_at - timedelta(days=1)
        digest = self.digest()
        entries = []
        for (buyer, currency), amount_minor in sorted(self.deposits_minor.items()):
            amount = minor_to_money(amount_minor, currency)
            entries.append(
                Entry(
                    key=f"testing/deposit/{digest}/{buyer}/{currency}",
                    postings=[
                        debit(platform_bank(currency), amount),
                        credit(participant_cash(buyer, currency), amount),
                    ],
                    effective_at=effective_at,
                    description=f"deposit of {buyer} for an event stream",
                )
            )
        with ledger.transaction() as tx:
            for currency in sorted({currency for _, currency in self.participants}):
                tx.ensure_account(platform_bank(currency), currency, "asset")
            for name, currency in sorted(self.participants):
                tx.ensure_account(
                    participant_cash(name, currency),
                    currency,
                    "liability",
                    "debits_must_not_exceed_credits",
                )
            tx.post_many(entries)

    def renamed(self, prefix: str) -> EventStream:
        """The same stream with ``prefix`` before every order and shipment id, so several
        streams can run in one ledger (``stream.renamed("run7-")``)."""

        def rename(identifier: str) -> str:
            renamed = prefix + identifier
            if not IDENTIFIER_RE.match(renamed):
                raise ValueError(f"prefix {prefix!r} makes the invalid id {renamed!r}")
            return renamed

        events = tuple(_renamed(event, rename) for event in self.events)
        outcomes = {
            rename(order_id): OrderOutcome(
                rename(order_id),
                outcome.status,
                outcome.funded_minor,
                outcome.released_minor,
                outcome.refunded_minor,
                outcome.disputed,
            )
            for order_id, outcome in self.outcomes.items()
        }
        return EventStream(
            events,
            dict(self.refusals),
            outcomes,
            dict(self.deposits_minor),
            self.participants,
            self.starts_at,
        )


@dataclass(frozen=True, slots=True)
class _Intent:
    """One event of the stream before it arrives; ``build`` makes the event on arrival."""

    serial: int
    at: datetime
    needs: tuple[str, ...]
    """Orders that must be placed before this event arrives."""
    build: Callable[[_EscrowModel], StreamEvent]
    places: str | None = None


def _fixed(event: StreamEvent) -> Callable[[_EscrowModel], StreamEvent]:
    return lambda _model: event


def _resolution(
    order: OrderPlaced, outcome: str, dispute_id: str | None, per_mille: int, at: datetime
) -> Callable[[_EscrowModel], StreamEvent]:
    """A ``DisputeResolved``; a split gives the seller ``per_mille`` of what the order holds
    when the event first arrives (so the split fits, if the dispute is open by then)."""

    def build(model: _EscrowModel) -> StreamEvent:
        seller_amount = None
        if outcome == "split":
            held = model.orders[order.order_id].remaining_minor
            seller_amount = minor_to_decimal(held * per_mille // 1000, order.currency)
        return DisputeResolved(
            order_id=order.order_id,
            dispute_id=dispute_id,
            outcome=outcome,
            seller_amount=seller_amount,
            resolved_at=at,
        )

    return build


@dataclass(frozen=True, slots=True)
class _Options:
    disputes: bool
    cancellations: bool


def _order_intents(
    draw: st.DrawFn, order: OrderPlaced, options: _Options, serial: Iterator[int]
) -> list[_Intent]:
    """Funding, disputes, a resolution and a cancellation of one order, as they happen."""
    assert order.placed_at is not None
    start, needs, order_id = order.placed_at, (order.order_id,), order.order_id

    def intent(at: datetime, build: Callable[[_EscrowModel], StreamEvent]) -> _Intent:
        return _Intent(next(serial), at, needs, build)

    gap = _seconds(60, GAP_SECONDS_MAX)
    intents = [_Intent(next(serial), start, (), _fixed(order), places=order_id)]
    if draw(_chance(4, 5)):
        check = draw(st.booleans())
        funded = EscrowFunded(
            order_id=order_id,
            currency=order.currency if check else None,
            amount=order.amount if check else None,
            funded_at=start + draw(gap),
        )
        intents.append(intent(funded.funded_at or start, _fixed(funded)))
    if options.disputes and draw(_chance(1, 3)):
        ids = draw(
            st.lists(
                st.sampled_from((None, "D-1", "D-2")), min_size=1, max_size=DISPUTES_PER_ORDER_MAX
            )
        )
        opened_last = start
        for dispute_id in ids:
            opened_at = start + draw(gap)
            opened_last = max(opened_last, opened_at)
            reason = draw(st.sampled_from(("", "damaged in transit", "late delivery")))
            opened = DisputeOpened(
                order_id=order_id, dispute_id=dispute_id, reason=reason, opened_at=opened_at
            )
            intents.append(intent(opened_at, _fixed(opened)))
        if draw(_chance(3, 4)):
            outcome = draw(st.sampled_from(("release", "refund", "split")))
            named = draw(st.sampled_from((None, *ids)))
            at = opened_last + draw(gap)
            per_mille = draw(st.integers(0, 1000))
            intents.append(intent(at, _resolution(order, outcome, named, per_mille, at)))
    if options.cancellations and draw(_chance(1, 4)):
        at = start + draw(gap)
        reason = draw(st.sampled_from(("", "buyer withdrew", "goods unavailable")))
        cancelled = OrderCancelled(order_id=order_id, reason=reason, cancelled_at=at)
        intents.append(intent(at, _fixed(cancelled)))
    return intents


def _journey_intents(
    draw: st.DrawFn, riders: Sequence[OrderPlaced], serial: Iterator[int]
) -> list[_Intent]:
    """The milestones a train reaches, in rail order: by shipment id for a shipment, by order
    id for an order that travels alone (``riders`` is then that one order)."""
    shipment_id = riders[0].shipment_id
    order_id = None if shipment_id is not None else riders[0].order_id
    # Most trains arrive; the rest stop somewhere along the line (or never leave).
    reached = draw(st.one_of(st.just(len(MILESTONES)), st.integers(0, len(MILESTONES))))
    legs = draw(st.lists(_seconds(60, LEG_SECONDS_MAX), min_size=reached, max_size=reached))
    at = max(order.placed_at for order in riders if order.placed_at is not None)
    needs = tuple(order.order_id for order in riders)
    intents = []
    for milestone, leg in zip(MILESTONES, legs, strict=False):
        at += leg
        event = MilestoneReached(
            shipment_id=shipment_id,
            order_id=order_id,
            milestone=milestone,
            reached_at=at,
            location=draw(st.one_of(st.none(), st.sampled_from(STATIONS))),
        )
        intents.append(_Intent(next(serial), at, needs, _fixed(event)))
    return intents


def _placements_first(
    arrival: Sequence[_Intent], placements: Mapping[str, _Intent]
) -> list[_Intent]:
    """Move each ``OrderPlaced`` up to just before the first event that needs it."""
    ordered: list[_Intent] = []
    placed: set[str] = set()
    for intent in arrival:
        for order_id in (*intent.needs, *([intent.places] if intent.places else [])):
            if order_id not in placed:
                placed.add(order_id)
                ordered.append(placements[order_id])
        if intent.places is None:
            ordered.append(intent)
    return ordered


def _with_duplicates(draw: st.DrawFn, arrival: list[_Intent]) -> list[_Intent]:
    """Insert copies of some events after their originals (retries, redeliveries)."""
    stream = list(arrival)
    count = draw(st.integers(0, min(len(stream), DUPLICATES_PER_STREAM_MAX)))
    for _ in range(count):
        source = draw(st.integers(0, len(stream) - 1))
        stream.insert(draw(st.integers(source + 1, len(stream))), stream[source])
    return stream


def _replay(
    arrival: Sequence[_Intent], keep_refusals: bool
) -> tuple[tuple[StreamEvent, ...], dict[int, str], dict[str, OrderOutcome]]:
    """Run the model over the arrival order; keep or drop the events the ledger refuses."""
    model = _EscrowModel()
    built: dict[int, StreamEvent] = {}
    events: list[StreamEvent] = []
    refusals: dict[int, str] = {}
    for intent in arrival:
        # A duplicate is the very event that arrived first, not one rebuilt later.
        if intent.serial not in built:
            built[intent.serial] = intent.build(model)
        event = built[intent.serial]
        code = model.apply(event)
        if code is not None:
            if not keep_refusals:
                continue
            refusals[len(events)] = code
        events.append(event)
    return tuple(events), refusals, _outcomes(model)


def _outcomes(model: _EscrowModel) -> dict[str, OrderOutcome]:
    return {
        order.order_id: OrderOutcome(
            order.order_id,
            order.status,
            order.funded_minor,
            order.released_minor,
            order.refunded_minor,
            order.disputed,
        )
        for order in model.orders.values()
    }


def _draw_orders(
    draw: st.DrawFn,
    participants: tuple[str, ...],
    currency: st.SearchStrategy[str],
    count: int,
    starts_at: datetime,
    amount_minor_max: int,
) -> list[OrderPlaced]:
    orders = []
    for number in range(1, count + 1):
        train = draw(st.integers(0, count))  # 0: the order travels alone, milestones by order
        orders.append(
            draw(
                order_placed(
                    participants,
                    currency,
                    order_ids=st.just(f"ORD-{number}"),
                    shipment_ids=st.just(f"TRAIN-{train}" if train else None),
                    amount_minor_max=amount_minor_max,
                    placed_at=_seconds(0, 86_400).map(lambda gap: starts_at + gap),
                )
            )
        )
    return orders


def order_event_streams(
    participants: Sequence[str] = PARTICIPANTS_DEFAULT,
    currency: str | st.SearchStrategy[str] | None = None,
    *,
    orders_min: int = 1,
    orders_max: int = 3,
    disputes: bool = True,
    cancellations: bool = True,
    duplicates: bool = True,
    refusals: bool = False,
    amount_minor_max: int = AMOUNT_MINOR_DEFAULT_MAX,
) -> st.SearchStrategy[EventStream]:
    """Realistic escrow event streams for ``orders_min`` to ``orders_max`` orders (see the
    module docstring): placement, funding, milestones (shuffled, duplicated), maybe disputes,
    resolutions and cancellations. Orders may share a shipment (``TRAIN-<n>``), whose
    milestones then concern all of them.

    Call ``stream.setup(ledger)`` before ingesting. With ``refusals=False`` (the default) every
    event is accepted; with ``refusals=True`` the events in ``stream.refusals`` are refused with
    the code given there, one of :data:`REFUSAL_CODES`.
    """
    names = _check_participants(participants)
    currency_codes = _currency_strategy(currency)
    if not 1 <= orders_min <= orders_max <= ORDERS_PER_STREAM_MAX:
        raise InvalidArgument(f"need 1 <= orders_min <= orders_max <= {ORDERS_PER_STREAM_MAX}")
    options = _Options(disputes, cancellations)

    @st.composite
    def build(draw: st.DrawFn) -> EventStream:
        starts_at = draw(_instants())
        count = draw(st.integers(orders_min, orders_max))
        orders = _draw_orders(draw, names, currency_codes, count, starts_at, amount_minor_max)
        serial = itertools.count()
        intents: list[_Intent] = []
        for order in orders:
            intents += _order_intents(draw, order, options, serial)
        for _, riders in itertools.groupby(sorted(orders, key=_travel_key), key=_travel_key):
            intents += _journey_intents(draw, list(riders), serial)
        # Shrinking a permutation goes toward the order things happened in.
        happened = sorted(intents, key=lambda intent: (intent.at, intent.serial))
        placements = {i.places: i for i in intents if i.places is not None}
        arrival = _placements_first(draw(st.permutations(happened)), placements)
        if duplicates:
            arrival = _with_duplicates(draw, arrival)
        events, refused, outcomes = _replay(arrival, refusals)
        return EventStream(
            events=events,
            refusals=refused,
            outcomes=outcomes,
            deposits_minor=_deposits(orders),
            participants=frozenset(
                (name, order.currency) for order in orders for name in (order.buyer, order.seller)
            ),
            starts_at=starts_at,
        )

    return build()


def _travel_key(order: OrderPlaced) -> str:
    return order.shipment_id or f"alone/{order.order_id}"


def _deposits(orders: Sequence[OrderPlaced]) -> dict[tuple[str, str], int]:
    deposits: dict[tuple[str, str], int] = {}
    for order in orders:
        key = (order.buyer, order.currency)
        deposits[key] = deposits.get(key, 0) + decimal_to_minor(order.amount, order.currency)
    return deposits


__all__ = [
    "PARTICIPANTS_DEFAULT",
    "REFUSAL_CODES",
    "EventStream",
    "OrderOutcome",
    "StreamEvent",
    "order_event_streams",
    "order_placed",
    "release_plans",
]

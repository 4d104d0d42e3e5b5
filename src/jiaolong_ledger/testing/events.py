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

Where the parts live: :mod:`.placements` draws single ``OrderPlaced`` events and release plans,
:mod:`.escrow_model` is the model that predicts the ledger, :mod:`.event_stream` holds the
:class:`EventStream` values; this module draws whole streams and re-exports the public names.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from jiaolong_ledger.adapters.events import (
    DisputeOpened,
    DisputeResolved,
    EscrowFunded,
    MilestoneReached,
    OrderCancelled,
    OrderPlaced,
)
from jiaolong_ledger.escrow.plan import MILESTONES
from jiaolong_ledger.money import decimal_to_minor, minor_to_decimal
from jiaolong_ledger.testing.escrow_model import EscrowModel, Intent, replay_arrival
from jiaolong_ledger.testing.event_stream import EventStream, OrderOutcome, StreamEvent
from jiaolong_ledger.testing.placements import (
    AMOUNT_MINOR_DEFAULT_MAX,
    PARTICIPANTS_DEFAULT,
    check_participants,
    currency_strategy,
    instants,
    order_placed,
    release_plans,
)

STATIONS: Final = ("Chengdu", "Xi'an", "Khorgos", "Dostyk", "Brest", "Małaszewicze", "Duisburg")
REFUSAL_CODES: Final = ("ESCROW_CLOSED", "ESCROW_DISPUTED", "INVALID_INPUT")
"""What the ledger raises for the refused events a ``refusals=True`` stream keeps."""
ORDERS_PER_STREAM_MAX: Final = 20
DUPLICATES_PER_STREAM_MAX: Final = 8
DISPUTES_PER_ORDER_MAX: Final = 2
GAP_SECONDS_MAX: Final = 3 * 86_400
"""Longest gap between an order's placement and its funding, dispute or cancellation."""
LEG_SECONDS_MAX: Final = 4 * 86_400
"""Longest time between two milestones of a journey."""


def _chance(numerator: int, denominator: int) -> st.SearchStrategy[bool]:
    """True with probability numerator/denominator; shrinks toward the likelier value."""
    if 2 * numerator > denominator:
        return st.integers(1, denominator).map(lambda value: value <= numerator)
    return st.integers(1, denominator).map(lambda value: value > denominator - numerator)


def _seconds(low: int, high: int) -> st.SearchStrategy[timedelta]:
    return st.integers(low, high).map(lambda seconds: timedelta(seconds=seconds))


def _fixed(event: StreamEvent) -> Callable[[EscrowModel], StreamEvent]:
    return lambda _model: event


def _resolution(
    order: OrderPlaced, outcome: str, dispute_id: str | None, per_mille: int, at: datetime
) -> Callable[[EscrowModel], StreamEvent]:
    """A ``DisputeResolved``; a split gives the seller ``per_mille`` of what the order holds
    when the event first arrives (so the split fits, if the dispute is open by then)."""

    def build(model: EscrowModel) -> StreamEvent:
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
) -> list[Intent]:
    """Funding, disputes, a resolution and a cancellation of one order, as they happen."""
    assert order.placed_at is not None
    start, needs, order_id = order.placed_at, (order.order_id,), order.order_id

    def intent(at: datetime, build: Callable[[EscrowModel], StreamEvent]) -> Intent:
        return Intent(next(serial), at, needs, build)

    gap = _seconds(60, GAP_SECONDS_MAX)
    intents = [Intent(next(serial), start, (), _fixed(order), places=order_id)]
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
) -> list[Intent]:
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
        intents.append(Intent(next(serial), at, needs, _fixed(event)))
    return intents


def _placements_first(arrival: Sequence[Intent], placements: Mapping[str, Intent]) -> list[Intent]:
    """Move each ``OrderPlaced`` up to just before the first event that needs it."""
    ordered: list[Intent] = []
    placed: set[str] = set()
    for intent in arrival:
        for order_id in (*intent.needs, *([intent.places] if intent.places else [])):
            if order_id not in placed:
                placed.add(order_id)
                ordered.append(placements[order_id])
        if intent.places is None:
            ordered.append(intent)
    return ordered


def _with_duplicates(draw: st.DrawFn, arrival: list[Intent]) -> list[Intent]:
    """Insert copies of some events after their originals (retries, redeliveries)."""
    stream = list(arrival)
    count = draw(st.integers(0, min(len(stream), DUPLICATES_PER_STREAM_MAX)))
    for _ in range(count):
        source = draw(st.integers(0, len(stream) - 1))
        stream.insert(draw(st.integers(source + 1, len(stream))), stream[source])
    return stream


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
    names = check_participants(participants)
    currency_codes = currency_strategy(currency)
    if not 1 <= orders_min <= orders_max <= ORDERS_PER_STREAM_MAX:
        raise InvalidArgument(f"need 1 <= orders_min <= orders_max <= {ORDERS_PER_STREAM_MAX}")
    options = _Options(disputes, cancellations)

    @st.composite
    def build(draw: st.DrawFn) -> EventStream:
        starts_at = draw(instants())
        count = draw(st.integers(orders_min, orders_max))
        orders = _draw_orders(draw, names, currency_codes, count, starts_at, amount_minor_max)
        serial = itertools.count()
        intents: list[Intent] = []
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
        events, refused, outcomes = replay_arrival(arrival, refusals)
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

"""The escrow rules of docs/escrow.md as a small model, and the replay of an arrival order.

:class:`EscrowModel` knows nothing of SQL or entries, only each order's status, dispute,
milestones seen and integer totals; for each event it decides whether ``ledger.ingest``
accepts it (and applies the effect) or which code it refuses it with. :func:`replay_arrival`
runs the model over the events of a stream in the order they arrive and returns the events to
keep, the refusals and each order's predicted :class:`~.event_stream.OrderOutcome`. Kept apart
from the strategies of :mod:`.events` so that the rules the streams are checked against read on
their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from jiaolong_ledger.adapters.events import (
    DisputeOpened,
    DisputeResolved,
    EscrowFunded,
    MilestoneReached,
    OrderCancelled,
    OrderPlaced,
    ReleasePlanItem,
)
from jiaolong_ledger.escrow.state import CANCELLED, COMPLETED, FUNDED, PLACED, RESOLVED
from jiaolong_ledger.money import decimal_to_minor
from jiaolong_ledger.testing.event_stream import OrderOutcome, StreamEvent


class _Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _placed_by(order: _OrderModel, reached_at: datetime | None) -> bool:
    """The event-time rule: a shipment milestone reached at T reaches the orders placed at or
    before T, whichever event arrives first. An event without a time takes the ledger's clock,
    which the model does not know: it is taken to reach the order, as on a fixed clock (the
    streams carry both times)."""
    return order.placed_at is None or reached_at is None or order.placed_at <= reached_at


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
    placed_at: datetime | None = None
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
            placed_at=event.placed_at,
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


class EscrowModel:
    """Predicts, event by event, what ``ledger.ingest`` does: a refusal code or the effect."""

    def __init__(self) -> None:
        self.orders: dict[str, _OrderModel] = {}
        self.shipment_milestones: dict[tuple[str, str], datetime | None] = {}
        """(shipment, milestone) -> the time of its first report (which wins)."""

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
        if event.order_id in self.orders:
            return
        order = self.orders[event.order_id] = _OrderModel.placed(event)
        # A new order sees the milestones of its shipment reported already, reached since it
        # was placed (it is unfunded: nothing is released until it is funded).
        for (shipment_id, milestone), reached_at in self.shipment_milestones.items():
            if shipment_id == order.shipment_id and _placed_by(order, reached_at):
                order.seen.add(milestone)

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
            assert event.shipment_id is not None
            riders = [o for o in self.orders.values() if o.shipment_id == event.shipment_id]
            if not riders:
                raise _Refused("SHIPMENT_NOT_FOUND")
            key = (event.shipment_id, event.milestone)
            if key in self.shipment_milestones:
                return  # reported before: the first report wins, this one changes nothing
            self.shipment_milestones[key] = event.reached_at
            targets = [o for o in riders if _placed_by(o, event.reached_at)]
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


@dataclass(frozen=True, slots=True)
class Intent:
    """One event of the stream before it arrives; ``build`` makes the event on arrival."""

    serial: int
    at: datetime
    needs: tuple[str, ...]
    """Orders that must be placed before this event arrives."""
    build: Callable[[EscrowModel], StreamEvent]
    places: str | None = None


def replay_arrival(
    arrival: Sequence[Intent], keep_refusals: bool
) -> tuple[tuple[StreamEvent, ...], dict[int, str], dict[str, OrderOutcome]]:
    """Run the model over the arrival order; keep or drop the events the ledger refuses."""
    model = EscrowModel()
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


def _outcomes(model: EscrowModel) -> dict[str, OrderOutcome]:
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


__all__ = ["EscrowModel", "Intent", "replay_arrival"]

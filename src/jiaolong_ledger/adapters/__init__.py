"""Adapters: pydantic events -> calls on the sub-domains; no business rules of their own.

``ingest(ledger, event)`` accepts an event model or a plain mapping (a parsed JSON object),
validates it (``INVALID_EVENT`` naming the field) and makes exactly one sub-domain call, which
is one atomic ledger transaction: a rejected event changes nothing. Escrow events go to
``ledger.escrow``; an ``OrderPlaced`` with ``settlement_terms: "deferred_net"`` goes to
``ledger.clearing.submit_order`` (its fee computed by the escrow fee function). Financing is not
built yet: ``DrawdownRequested`` and ``RepaymentReceived`` parse, then raise
``EVENT_NOT_SUPPORTED``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from moneyed import Money

from jiaolong_ledger.adapters.events import (
    EVENT_TYPES,
    BaseEvent,
    DisputeOpened,
    DisputeResolved,
    DrawdownRequested,
    EscrowFunded,
    Event,
    MilestoneReached,
    OrderCancelled,
    OrderPlaced,
    ReleasePlanItem,
    RepaymentReceived,
    parse_event,
)
from jiaolong_ledger.errors import EventNotSupportedError
from jiaolong_ledger.money import money, money_to_minor

if TYPE_CHECKING:
    from jiaolong_ledger.ledger import Ledger


def _money(amount: Decimal, currency: str) -> Money:
    return money(amount, currency)


def order_placed(ledger: Ledger, event: OrderPlaced) -> Any:
    amount = _money(event.amount, event.currency)
    fee = None if event.platform_fee is None else _money(event.platform_fee, event.currency)
    rate = event.platform_fee_rate
    if event.settlement_terms == "deferred_net":
        return _submit_deferred(
            ledger, event, amount, ledger.escrow.platform_fee(amount, rate, fee)
        )
    return ledger.escrow.place(
        event.order_id,
        buyer=event.buyer,
        seller=event.seller,
        amount=amount,
        incoterm=event.incoterm,
        release_plan=[item.model_dump() for item in event.release_plan],
        fee=fee,
        fee_rate=rate,
        shipment_id=event.shipment_id,
        funding_deadline=event.funding_deadline,
        release_deadline=event.release_deadline,
        at=event.placed_at,
    )


def _submit_deferred(ledger: Ledger, event: OrderPlaced, amount: Money, fee: Money) -> Any:
    submit = getattr(ledger.clearing, "submit_order", None)
    if submit is None:
        raise EventNotSupportedError(
            "deferred_net orders need the clearing sub-domain's submit_order, "
            "which this build does not have",
            event_type=event.type,
            order_id=event.order_id,
        )
    return submit(
        order_id=event.order_id,
        buyer=event.buyer,
        seller=event.seller,
        amount=amount,
        fee=None if money_to_minor(fee)[0] == 0 else fee,
        at=event.placed_at,
    )


def escrow_funded(ledger: Ledger, event: EscrowFunded) -> Any:
    amount = None
    if event.amount is not None and event.currency is not None:
        amount = _money(event.amount, event.currency)
    return ledger.escrow.fund(event.order_id, amount, event.funded_at)


def milestone_reached(ledger: Ledger, event: MilestoneReached) -> Any:
    return ledger.escrow.milestone(
        event.milestone,
        shipment_id=event.shipment_id,
        order_id=event.order_id,
        at=event.reached_at,
        location=event.location,
    )


def order_cancelled(ledger: Ledger, event: OrderCancelled) -> Any:
    return ledger.escrow.cancel(event.order_id, event.reason, event.cancelled_at)


def dispute_opened(ledger: Ledger, event: DisputeOpened) -> Any:
    return ledger.escrow.open_dispute(
        event.order_id, dispute_id=event.dispute_id, reason=event.reason, at=event.opened_at
    )


def dispute_resolved(ledger: Ledger, event: DisputeResolved) -> Any:
    seller_amount = None
    if event.seller_amount is not None:
        currency = ledger.escrow.state(event.order_id).currency
        seller_amount = _money(event.seller_amount, currency)
    return ledger.escrow.resolve_dispute(
        event.order_id,
        event.outcome,
        seller_amount=seller_amount,
        dispute_id=event.dispute_id,
        at=event.resolved_at,
    )


def financing_event(ledger: Ledger, event: DrawdownRequested | RepaymentReceived) -> Any:
    raise EventNotSupportedError(
        f"{event.type}: the financing sub-domain is not available in this build; "
        "the event is valid but cannot be ingested",
        event_type=event.type,
        facility_id=event.facility_id,
    )


HANDLERS: Final[dict[type[BaseEvent], Callable[[Ledger, Any], Any]]] = {
    OrderPlaced: order_placed,
    OrderCancelled: order_cancelled,
    EscrowFunded: escrow_funded,
    MilestoneReached: milestone_reached,
    DisputeOpened: dispute_opened,
    DisputeResolved: dispute_resolved,
    DrawdownRequested: financing_event,
    RepaymentReceived: financing_event,
}
assert set(HANDLERS) == set(EVENT_TYPES), "every event type has a handler"


def ingest(ledger: Ledger, event: Any) -> Any:
    """Validate ``event`` (a model or a mapping) and apply it; returns the sub-domain's result
    (an ``EscrowState``, or a list of them for a shipment milestone)."""
    parsed = parse_event(event)
    return HANDLERS[type(parsed)](ledger, parsed)


__all__ = [
    "BaseEvent",
    "DisputeOpened",
    "DisputeResolved",
    "DrawdownRequested",
    "EscrowFunded",
    "Event",
    "MilestoneReached",
    "OrderCancelled",
    "OrderPlaced",
    "ReleasePlanItem",
    "RepaymentReceived",
    "ingest",
    "parse_event",
]

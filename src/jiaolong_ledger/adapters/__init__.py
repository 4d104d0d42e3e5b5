"""Adapters: pydantic events -> calls on the sub-domains; no business rules of their own.

``ingest(ledger, event)`` accepts an event model or a plain mapping (a parsed JSON object),
validates it (``INVALID_EVENT`` naming the field) and makes exactly one sub-domain call, which
is one atomic ledger transaction: a rejected event changes nothing. Escrow events go to
``ledger.escrow``; an ``OrderPlaced`` with ``settlement_terms: "deferred_net"`` goes to
``ledger.clearing.submit_order`` (its fee computed by the escrow fee function).
``DrawdownRequested`` and ``RepaymentReceived`` go to ``ledger.financing`` (``draw`` / ``repay``)
on a facility opened beforehand, under a reference derived from the event's content.

``ingest_many(ledger, events)`` applies a batch in one transaction (all or none), which is
also much faster than one commit per event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
from jiaolong_ledger.errors import (
    EventNotSupportedError,
    InvalidEventError,
    LedgerError,
    LimitExceededError,
)
from jiaolong_ledger.escrow.plan import platform_fee
from jiaolong_ledger.financing.service import FinancingBook
from jiaolong_ledger.journal.engine import request_digest
from jiaolong_ledger.money import money, money_to_minor

INGEST_BATCH_MAX: Final = 10_000

if TYPE_CHECKING:
    from jiaolong_ledger.escrow import Escrow, EscrowBook
    from jiaolong_ledger.journal.engine import Transaction
    from jiaolong_ledger.ledger import Ledger


@dataclass(frozen=True, slots=True)
class Sink:
    """Where events land: the ledger, and its escrow either per call or inside one batch."""

    ledger: Ledger
    escrow: Escrow | EscrowBook
    tx: Transaction | None = None


def _money(amount: Decimal, currency: str) -> Money:
    return money(amount, currency)


def order_placed(sink: Sink, event: OrderPlaced) -> Any:
    amount = _money(event.amount, event.currency)
    fee = None if event.platform_fee is None else _money(event.platform_fee, event.currency)
    rate = event.platform_fee_rate
    if event.settlement_terms == "deferred_net":
        return _submit_deferred(sink, event, amount, platform_fee(amount, rate, fee))
    return sink.escrow.place(
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


def _submit_deferred(sink: Sink, event: OrderPlaced, amount: Money, fee: Money) -> Any:
    submit = getattr(sink.ledger.clearing, "submit_order", None)
    if submit is None:
        raise EventNotSupportedError(
            "deferred_net orders need the clearing sub-domain's submit_order, "
            "which this build does not have",
            event_type=event.type,
            order_id=event.order_id,
        )
    batch = {} if sink.tx is None else {"tx": sink.tx}
    return submit(
        order_id=event.order_id,
        buyer=event.buyer,
        seller=event.seller,
        amount=amount,
        fee=None if money_to_minor(fee)[0] == 0 else fee,
        at=event.placed_at,
        **batch,
    )


def escrow_funded(sink: Sink, event: EscrowFunded) -> Any:
    amount = None
    if event.amount is not None and event.currency is not None:
        amount = _money(event.amount, event.currency)
    return sink.escrow.fund(event.order_id, amount, event.funded_at)


def milestone_reached(sink: Sink, event: MilestoneReached) -> Any:
    return sink.escrow.milestone(
        event.milestone,
        shipment_id=event.shipment_id,
        order_id=event.order_id,
        at=event.reached_at,
        location=event.location,
    )


def order_cancelled(sink: Sink, event: OrderCancelled) -> Any:
    return sink.escrow.cancel(event.order_id, event.reason, event.cancelled_at)


def dispute_opened(sink: Sink, event: DisputeOpened) -> Any:
    return sink.escrow.open_dispute(
        event.order_id, dispute_id=event.dispute_id, reason=event.reason, at=event.opened_at
    )


def dispute_resolved(sink: Sink, event: DisputeResolved) -> Any:
    seller_amount = None
    if event.seller_amount is not None:
        currency = sink.escrow.state(event.order_id).currency
        seller_amount = _money(event.seller_amount, currency)
    return sink.escrow.resolve_dispute(
        event.order_id,
        event.outcome,
        seller_amount=seller_amount,
        dispute_id=event.dispute_id,
        at=event.resolved_at,
    )


def financing_event(sink: Sink, event: DrawdownRequested | RepaymentReceived) -> Any:
    """A drawdown or repayment on the event's facility, whose borrower it must name. The
    reference (idempotency key) is a digest of the event: the same event twice books once."""
    if sink.tx is not None:
        return _financing_call(FinancingBook(sink.tx), event)
    with sink.ledger.financing.transaction() as book:
        return _financing_call(book, event)


def _financing_call(book: FinancingBook, event: DrawdownRequested | RepaymentReceived) -> Any:
    facility = book.state(event.facility_id)
    if facility.borrower != event.borrower:
        raise InvalidEventError(
            f"{event.type}: facility {event.facility_id!r} lends to {facility.borrower!r}, "
            f"not {event.borrower!r}",
            field="borrower",
            event_type=event.type,
            facility_id=event.facility_id,
        )
    amount = _money(event.amount, event.currency)
    reference = "ev-" + request_digest(event.model_dump(mode="json"))[:32]
    if isinstance(event, DrawdownRequested):
        return book.draw(event.facility_id, amount, reference=reference, at=event.requested_at)
    return book.repay(event.facility_id, amount, reference=reference, at=event.received_at)


HANDLERS: Final[dict[type[BaseEvent], Callable[[Sink, Any], Any]]] = {
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
    """Validate ``event`` (a model or a mapping) and apply it in its own transaction; returns
    the sub-domain's result (an ``EscrowState``, or a list of them for a shipment milestone)."""
    parsed = parse_event(event)
    return HANDLERS[type(parsed)](Sink(ledger, ledger.escrow), parsed)


def ingest_many(ledger: Ledger, events: Sequence[Any]) -> list[Any]:
    """Validate every event first, then apply them in order in ONE transaction: all or none.

    A refused event raises its error with ``details["index"]`` (0-based) and nothing of the
    batch is kept. Batches are bounded by ``INGEST_BATCH_MAX``.
    """
    if len(events) > INGEST_BATCH_MAX:
        raise LimitExceededError(
            f"{len(events)} events in one batch; the limit is {INGEST_BATCH_MAX}",
            limit="ingest_batch_max",
            limit_value=INGEST_BATCH_MAX,
        )
    parsed = []
    for index, event in enumerate(events):
        parsed.append(_indexed(index, parse_event, event))
    with ledger.escrow.transaction() as book:
        sink = Sink(ledger, book, book.tx)
        return [
            _indexed(index, HANDLERS[type(event)], sink, event)
            for index, event in enumerate(parsed)
        ]


def _indexed(index: int, function: Callable[..., Any], *args: Any) -> Any:
    try:
        return function(*args)
    except LedgerError as error:
        error.details.setdefault("index", index)
        raise


__all__ = [
    "INGEST_BATCH_MAX",
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
    "Sink",
    "ingest",
    "ingest_many",
    "parse_event",
]

"""Adapters: pydantic events -> calls on the books of a unit of work; parsing and dispatch only.

``ingest(units, event)`` accepts an event model or a plain mapping (a parsed JSON object),
validates it (``INVALID_EVENT`` naming the field) and applies it in one unit of work
(``units.transaction()``, e.g. a :class:`~jiaolong_ledger.ledger.Ledger`): a rejected event
changes nothing. Escrow events go to ``tx.escrow``; an ``OrderPlaced`` with
``settlement_terms: "deferred_net"`` goes to ``tx.clearing.submit_order`` (which computes the
fee from the same terms escrow takes). ``DrawdownRequested`` and ``RepaymentReceived`` go to
``tx.financing`` (``draw`` / ``repay``, which check the borrower the event names) on a facility
opened beforehand, under a reference derived from the event's content.

Every rule lives in the books; this module only turns fields into arguments.

Replays: every event is idempotent on its own identity, so a stream applied again (a file run
again after an interruption) finishes the work and changes nothing already done. An order is
its ``order_id`` (placed again with other terms: ``IDEMPOTENCY_CONFLICT``); funding, a
milestone, a cancellation are steps of their order, done once; a dispute is its order's (and
``dispute_id``'s), a resolution other than the recorded one is ``ESCROW_CLOSED``; a deferred-net
order is its obligations' references ``order:<id>``; a financing event is its content (the
reference derived from it), so the same event books once.

``ingest_many(units, events)`` validates the whole batch, then applies it in ONE unit of work
(all or none), which is also much faster than one commit per event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any, Final, Protocol

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
from jiaolong_ledger.errors import LedgerError, LimitExceededError
from jiaolong_ledger.journal.drafts import request_digest
from jiaolong_ledger.limits import INGEST_BATCH_MAX
from jiaolong_ledger.money import money
from jiaolong_ledger.unit_of_work import UnitOfWork


class Transactional(Protocol):
    """What the adapters need from a ledger: units of work."""

    def transaction(self) -> AbstractContextManager[UnitOfWork]:
        """One unit of work: everything done through it commits together or not at all."""
        ...


Handler = Callable[[UnitOfWork, Any], Any]


def _money(amount: Decimal, currency: str) -> Money:
    return money(amount, currency)


def order_placed(tx: UnitOfWork, event: OrderPlaced) -> Any:
    amount = _money(event.amount, event.currency)
    fee = None if event.platform_fee is None else _money(event.platform_fee, event.currency)
    if event.settlement_terms == "deferred_net":
        return tx.clearing.submit_order(
            order_id=event.order_id,
            buyer=event.buyer,
            seller=event.seller,
            amount=amount,
            fee=fee,
            fee_rate=event.platform_fee_rate,
            at=event.placed_at,
        )
    return tx.escrow.place(
        event.order_id,
        buyer=event.buyer,
        seller=event.seller,
        amount=amount,
        incoterm=event.incoterm,
        release_plan=[item.model_dump() for item in event.release_plan],
        fee=fee,
        fee_rate=event.platform_fee_rate,
        shipment_id=event.shipment_id,
        funding_deadline=event.funding_deadline,
        release_deadline=event.release_deadline,
        at=event.placed_at,
    )


def escrow_funded(tx: UnitOfWork, event: EscrowFunded) -> Any:
    amount = None
    if event.amount is not None and event.currency is not None:
        amount = _money(event.amount, event.currency)
    return tx.escrow.fund(event.order_id, amount, event.funded_at)


def milestone_reached(tx: UnitOfWork, event: MilestoneReached) -> Any:
    return tx.escrow.milestone(
        event.milestone,
        shipment_id=event.shipment_id,
        order_id=event.order_id,
        at=event.reached_at,
        location=event.location,
    )


def order_cancelled(tx: UnitOfWork, event: OrderCancelled) -> Any:
    return tx.escrow.cancel(event.order_id, event.reason, event.cancelled_at)


def dispute_opened(tx: UnitOfWork, event: DisputeOpened) -> Any:
    return tx.escrow.open_dispute(
        event.order_id, dispute_id=event.dispute_id, reason=event.reason, at=event.opened_at
    )


def dispute_resolved(tx: UnitOfWork, event: DisputeResolved) -> Any:
    seller_amount = None
    if event.seller_amount is not None:
        # The event carries a bare amount: it is in the order's currency.
        currency = tx.escrow.state(event.order_id).currency
        seller_amount = _money(event.seller_amount, currency)
    return tx.escrow.resolve_dispute(
        event.order_id,
        event.outcome,
        seller_amount=seller_amount,
        dispute_id=event.dispute_id,
        at=event.resolved_at,
    )


def drawdown_requested(tx: UnitOfWork, event: DrawdownRequested) -> Any:
    return tx.financing.draw(
        event.facility_id,
        _money(event.amount, event.currency),
        reference=_reference(event),
        at=event.requested_at,
        borrower=event.borrower,
    )


def repayment_received(tx: UnitOfWork, event: RepaymentReceived) -> Any:
    return tx.financing.repay(
        event.facility_id,
        _money(event.amount, event.currency),
        reference=_reference(event),
        at=event.received_at,
        borrower=event.borrower,
    )


def _reference(event: BaseEvent) -> str:
    """The idempotency reference of a financing event: a digest of its content, so the same
    event twice books once."""
    return "ev-" + request_digest(event.model_dump(mode="json"))[:32]


HANDLERS: Final[dict[type[BaseEvent], Handler]] = {
    OrderPlaced: order_placed,
    OrderCancelled: order_cancelled,
    EscrowFunded: escrow_funded,
    MilestoneReached: milestone_reached,
    DisputeOpened: dispute_opened,
    DisputeResolved: dispute_resolved,
    DrawdownRequested: drawdown_requested,
    RepaymentReceived: repayment_received,
}
assert set(HANDLERS) == set(EVENT_TYPES), "every event type has a handler"


def ingest(units: Transactional, event: Any) -> Any:
    """Validate ``event`` (a model or a mapping) and apply it in a unit of work of its own;
    returns the book's result (an ``EscrowState``, a list of them for a shipment milestone,
    the clearing obligations of a deferred-net order, a ``FacilityState``)."""
    parsed = parse_event(event)
    with units.transaction() as tx:
        return HANDLERS[type(parsed)](tx, parsed)


def ingest_many(units: Transactional, events: Sequence[Any]) -> list[Any]:
    """Validate every event first, then apply them in order in ONE unit of work: all or none.

    A refused event raises its error with ``details["index"]`` (0-based) and nothing of the
    batch is kept. Batches are bounded by ``INGEST_BATCH_MAX``.
    """
    if len(events) > INGEST_BATCH_MAX:
        raise LimitExceededError(
            f"{len(events)} events in one batch; the limit is {INGEST_BATCH_MAX}",
            limit="ingest_batch_max",
            limit_value=INGEST_BATCH_MAX,
        )
    parsed = [_indexed(index, parse_event, event) for index, event in enumerate(events)]
    with units.transaction() as tx:
        return [
            _indexed(index, HANDLERS[type(event)], tx, event) for index, event in enumerate(parsed)
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
    "Handler",
    "MilestoneReached",
    "OrderCancelled",
    "OrderPlaced",
    "ReleasePlanItem",
    "RepaymentReceived",
    "Transactional",
    "ingest",
    "ingest_many",
    "parse_event",
]

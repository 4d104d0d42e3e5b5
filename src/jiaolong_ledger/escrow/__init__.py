"""Escrow sub-domain: buyers' money held per order and released by rail milestones.

Design. An order (``place``) is an agreement between a buyer and a seller with a release plan
(milestone -> share, shares summing to exactly 100%) and a platform fee; it opens the liability
account ``platform:escrow:<order>``. ``fund`` moves the buyer's money from
``participant:<buyer>:cash:<CCY>`` into it (the buyer's no-overdraft constraint applies).
Each ``milestone`` of the order's shipment releases, in plan order, every unreleased share up to
that milestone: one ``escrow_release`` entry per share, debiting escrow with the gross share and
crediting the seller's cash with the net and ``platform:fees:<CCY>`` with the fee part.
``cancel`` refunds the unreleased remainder (``escrow_refund``); ``open_dispute`` freezes
releases until ``resolve_dispute`` pays the remainder to the seller, back to the buyer, or
splits it; ``expire_due`` closes orders past their deadlines. A closed order's escrow account
is closed too (its balance is zero by then).

Amounts are integer minor units throughout (see ``plan`` for the release and fee arithmetic:
the parts of an order always sum exactly to its amount). The sub-domain never writes balances:
it builds entries and hands them to the posting engine in the same database transaction as its
own rows (``tables``, ``records``). Keys are derived from the order id and the step, so replayed
events are idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from moneyed import Money
from sqlalchemy import select

from jiaolong_ledger.errors import OrderNotFoundError
from jiaolong_ledger.escrow import records
from jiaolong_ledger.escrow.plan import (
    MILESTONES,
    PlanInput,
    PlanItem,
    ReleasePlan,
    platform_fee,
    release_amounts_minor,
)
from jiaolong_ledger.escrow.service import (
    DISPUTE_OUTCOMES,
    EXPIRE_BATCH_MAX,
    INCOTERMS,
    EscrowBook,
    escrow_account,
)
from jiaolong_ledger.escrow.state import STATUSES, EscrowState, MilestoneSeen, PlanItemState
from jiaolong_ledger.escrow.tables import escrow_orders
from jiaolong_ledger.journal.validation import check_timestamp, raise_problems

if TYPE_CHECKING:
    from jiaolong_ledger.ledger import Ledger


class Escrow:
    """``ledger.escrow``: each call is one atomic ledger transaction.

    To do several operations atomically (or faster, in one commit), use
    ``with ledger.escrow.transaction() as book: book.place(...); book.fund(...)``.
    """

    platform_fee = staticmethod(platform_fee)

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @contextmanager
    def transaction(self) -> Iterator[EscrowBook]:
        with self.ledger.transaction() as tx:
            yield EscrowBook(tx)

    def place(
        self,
        order_id: str,
        *,
        buyer: str,
        seller: str,
        amount: Money,
        incoterm: str,
        release_plan: ReleasePlan | Iterable[PlanInput],
        fee: Money | None = None,
        fee_rate: str | int | Decimal | None = None,
        shipment_id: str | None = None,
        funding_deadline: datetime | None = None,
        release_deadline: datetime | None = None,
        at: datetime | None = None,
    ) -> EscrowState:
        """Open an escrow agreement (see :meth:`EscrowBook.place`)."""
        with self.transaction() as book:
            return book.place(
                order_id,
                buyer=buyer,
                seller=seller,
                amount=amount,
                incoterm=incoterm,
                release_plan=release_plan,
                fee=fee,
                fee_rate=fee_rate,
                shipment_id=shipment_id,
                funding_deadline=funding_deadline,
                release_deadline=release_deadline,
                at=at,
            )

    def fund(
        self, order_id: str, amount: Money | None = None, at: datetime | None = None
    ) -> EscrowState:
        with self.transaction() as book:
            return book.fund(order_id, amount, at)

    def milestone(
        self,
        milestone: str,
        *,
        shipment_id: str | None = None,
        order_id: str | None = None,
        at: datetime | None = None,
        location: str | None = None,
    ) -> list[EscrowState]:
        with self.transaction() as book:
            return book.milestone(
                milestone, shipment_id=shipment_id, order_id=order_id, at=at, location=location
            )

    def cancel(self, order_id: str, reason: str = "", at: datetime | None = None) -> EscrowState:
        with self.transaction() as book:
            return book.cancel(order_id, reason, at)

    def open_dispute(
        self,
        order_id: str,
        *,
        dispute_id: str | None = None,
        reason: str = "",
        at: datetime | None = None,
    ) -> EscrowState:
        with self.transaction() as book:
            return book.open_dispute(order_id, dispute_id=dispute_id, reason=reason, at=at)

    def resolve_dispute(
        self,
        order_id: str,
        outcome: str,
        *,
        seller_amount: Money | None = None,
        dispute_id: str | None = None,
        at: datetime | None = None,
    ) -> EscrowState:
        with self.transaction() as book:
            return book.resolve_dispute(
                order_id, outcome, seller_amount=seller_amount, dispute_id=dispute_id, at=at
            )

    def expire_due(self, now: datetime | None = None) -> list[EscrowState]:
        """Close every order past its deadline, in transactions of ``EXPIRE_BATCH_MAX``."""
        raise_problems(check_timestamp(now, "now"))
        instant = now or self.ledger.clock()
        expired: list[EscrowState] = []
        while True:
            with self.transaction() as book:
                batch = book.expire_due(instant, EXPIRE_BATCH_MAX)
            expired += batch
            if len(batch) < EXPIRE_BATCH_MAX:
                return expired

    # -- reading -------------------------------------------------------------------------

    def state(self, order_id: str) -> EscrowState:
        """The order's escrow: funded, released, refunded, remaining, milestones seen."""
        with self.ledger.engine.connect() as connection:
            record = records.load(connection, order_id)
        if record is None:
            raise OrderNotFoundError(f"no escrow order {order_id!r}", order_id=order_id)
        return record.snapshot()

    def orders(
        self, *, status: str | None = None, shipment_id: str | None = None
    ) -> list[EscrowState]:
        """Orders, by id, optionally only those with ``status`` or on ``shipment_id``."""
        query = select(escrow_orders)
        if status is not None:
            query = query.where(escrow_orders.c.status == status)
        if shipment_id is not None:
            query = query.where(escrow_orders.c.shipment_id == shipment_id)
        with self.ledger.engine.connect() as connection:
            return [record.snapshot() for record in records.load_where(connection, query)]


def service_for(ledger: Ledger) -> Escrow:
    return Escrow(ledger)


__all__ = [
    "DISPUTE_OUTCOMES",
    "INCOTERMS",
    "MILESTONES",
    "STATUSES",
    "Escrow",
    "EscrowBook",
    "EscrowState",
    "MilestoneSeen",
    "PlanItem",
    "PlanItemState",
    "ReleasePlan",
    "escrow_account",
    "platform_fee",
    "release_amounts_minor",
    "service_for",
]

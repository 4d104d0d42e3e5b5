"""The escrow book (:class:`EscrowBook`): every escrow operation, declared once.

Every write loads the order rows, decides, posts its entries through the unit of work's journal
writer (the single writer of the journal) and saves the rows on the same connection, so an
order's agreement, its running totals and its entries commit together or not at all. Entry keys
are derived from the order id and the step (``escrow/<order>/fund``,
``escrow/<order>/release/<milestone>``, ``escrow/<order>/release/dispute``,
``escrow/<order>/refund``), so a replayed event can never move money twice even if the state
check before it were wrong: the journal's idempotency is the second line of defence.

Event time decides which orders a shipment milestone reaches: one reached at T applies to the
orders on the shipment placed at or before T (``placed_at <= T``). Its first report is recorded
for the shipment (``jl_escrow_shipment_milestones``): the orders placed by T that are known then
see it at once, an order placed by T whose ``OrderPlaced`` arrives later sees it when it is
placed, and any later report of it changes nothing. So replaying an events file (whole, or
after an interrupted run), or receiving its events in another order, ends in the same state.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from moneyed import Money
from sqlalchemy import and_, or_, select

from jiaolong_ledger.accounts.chart import check_identifier
from jiaolong_ledger.accounts.model import AccountStatus
from jiaolong_ledger.errors import (
    AccountExistsError,
    IdempotencyConflictError,
    InvalidInputError,
    OrderNotFoundError,
    ShipmentNotFoundError,
)
from jiaolong_ledger.escrow import moves, records
from jiaolong_ledger.escrow.plan import (
    MILESTONES,
    PlanInput,
    ReleasePlan,
    platform_fee,
)
from jiaolong_ledger.escrow.records import ItemRecord, OrderRecord
from jiaolong_ledger.escrow.state import (
    CANCELLED,
    COMPLETED,
    EXPIRED,
    OPEN_STATUSES,
    PLACED,
    RESOLVED,
    EscrowState,
    MilestoneSeen,
)
from jiaolong_ledger.escrow.tables import LOCATION_LENGTH_MAX, REASON_LENGTH_MAX, escrow_orders
from jiaolong_ledger.escrow.terms import (
    DISPUTE_OUTCOMES,
    EXPIRE_BATCH_MAX,
    FRESH_ORDER,
    INCOTERMS,
    check_amount,
    check_outcome,
    check_same_resolution,
    check_text,
    check_times,
    closed,
    disputed,
    entry_key,
    escrow_account,
    floor,
    had_dispute,
    order_terms,
)
from jiaolong_ledger.journal.books import Book, operation
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import format_minor

log = get_logger("jiaolong_ledger.escrow")


class EscrowBook(Book):
    """Escrow per order: ``ledger.escrow`` (each write one transaction) or ``tx.escrow`` (bound
    to a unit of work). ``with ledger.escrow.transaction() as book:`` groups several writes."""

    platform_fee = staticmethod(platform_fee)

    # -- placing and funding -------------------------------------------------------------

    @operation
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
        """Open the escrow agreement and its ``platform:escrow:<order>`` liability account.
        Placing the same order again with the same terms returns it; other terms conflict.

        The order sees every milestone recorded for its shipment reached at or after ``at``
        (its placement), as if it had been placed before their events arrived."""
        terms, plan = order_terms(
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
        )
        check_times(at=at)
        existing = records.load(self.connection, order_id)
        if existing is not None:
            if existing.request_digest != terms["request_digest"]:
                raise IdempotencyConflictError(
                    f"order {order_id!r} was already placed with different terms",
                    order_id=order_id,
                    key=order_id,
                )
            return existing.snapshot()
        account = escrow_account(order_id)
        owner = records.order_id_for_account(self.connection, account)
        if owner is not None:
            raise AccountExistsError(
                f"escrow account {account!r} already belongs to order {owner!r} "
                "(order ids are compared without case)",
                account=account,
                order_id=order_id,
            )
        self.tx.open_account(
            account, terms["currency"], "liability", "debits_must_not_exceed_credits"
        )
        record = OrderRecord(
            **terms, **FRESH_ORDER, escrow_account=account, placed_at=at or self.now(), is_new=True
        )
        amounts = plan.amounts_minor(record.amount_minor)
        record.items = [
            ItemRecord(position, item.milestone, item.share, part)
            for position, (item, part) in enumerate(zip(plan.items, amounts, strict=True))
        ]
        self._see_shipment_milestones(record)
        log.info(
            "escrow_placed",
            order_id=order_id,
            amount=format_minor(record.amount_minor, record.currency),
            currency=record.currency,
        )
        return self._finish(record)

    def _see_shipment_milestones(self, record: OrderRecord) -> None:
        """A new order sees its shipment's milestones reached since its placement."""
        if record.shipment_id is None:
            return
        for seen in records.shipment_milestones_since(
            self.connection, record.shipment_id, record.placed_at
        ):
            record.milestones[seen.milestone] = seen
            record.new_milestones.append((seen, self.now()))
            log.info(
                "milestone_seen_at_placement", order_id=record.order_id, milestone=seen.milestone
            )

    @operation
    def fund(
        self, order_id: str, amount: Money | None = None, at: datetime | None = None
    ) -> EscrowState:
        """Move the buyer's money into escrow (the buyer's cash constraint applies).

        Milestones already seen are released at once, each release dated at its milestone's
        time or the funding time, whichever is later. Funding twice is a no-op.
        """
        check_times(at=at)
        record = self._get(order_id)
        if amount is not None:
            check_amount(record, amount, "amount", exact=True)
        if record.funded_minor > 0:
            log.info("escrow_fund_replayed", order_id=order_id)
            return record.snapshot()
        if record.status != PLACED:
            raise closed(record)
        moves.fund(record, at or self.now())
        moves.release_due(self.tx, record)
        return self._finish(record)

    # -- milestones ----------------------------------------------------------------------

    @operation
    def milestone(
        self,
        milestone: str,
        *,
        shipment_id: str | None = None,
        order_id: str | None = None,
        at: datetime | None = None,
        location: str | None = None,
    ) -> list[EscrowState]:
        """Record a rail milestone reached at ``at`` (default: now) for one order or for a
        shipment, and release what is due; the orders it applies to, as they are after it.

        A shipment milestone reached at T applies to the orders on the shipment placed at or
        before T (``placed_at <= T``): those placed already, and those placed later with a time
        at or before T, which see it at placement. Its first report is recorded for the
        shipment and wins: reported again, whatever its time or location, it changes nothing.
        A known shipment with no order placed by T records it and returns nothing; a shipment
        no order travels on is ``SHIPMENT_NOT_FOUND``. A milestone naming an ``order_id``
        applies to that order whenever it was placed, and is not recorded for the shipment.
        An order keeps the first report of each milestone; a milestone later in the plan
        releases every earlier unreleased share too, in plan order."""
        if milestone not in MILESTONES:
            raise InvalidInputError(
                f"milestone {milestone!r} is not one of {', '.join(MILESTONES)}",
                field="milestone",
            )
        check_text(location, "location", LOCATION_LENGTH_MAX)
        check_times(at=at)
        when = at or self.now()
        if order_id is not None:
            found = [self._named_order(order_id, shipment_id)]
        elif shipment_id is None:
            raise InvalidInputError("a milestone names a shipment_id or an order_id")
        else:
            recorded = records.shipment_milestone(self.connection, shipment_id, milestone)
            if recorded is not None:
                log.info("milestone_replayed", shipment_id=shipment_id, milestone=milestone)
                placed_by = recorded.reached_at
                found = records.load_by_shipment(self.connection, shipment_id, placed_by=placed_by)
                return [record.snapshot() for record in found]
            found = self._shipment_orders(MilestoneSeen(milestone, when, location, shipment_id))
        changed = []
        for record in found:
            if milestone in record.milestones:
                log.info("milestone_replayed", order_id=record.order_id, milestone=milestone)
                continue
            seen = MilestoneSeen(milestone, when, location, shipment_id or record.shipment_id)
            record.milestones[milestone] = seen
            record.new_milestones.append((seen, self.now()))
            log.info("milestone_reached", order_id=record.order_id, milestone=milestone)
            moves.release_due(self.tx, record)
            changed.append(record)
        # Every release of a shipment goes to the journal in one batch.
        finished = dict(zip((r.order_id for r in changed), self._finish_all(changed), strict=True))
        return [
            finished[record.order_id] if record.order_id in finished else record.snapshot()
            for record in found
        ]

    def _named_order(self, order_id: str, shipment_id: str | None) -> OrderRecord:
        """The order a milestone names (on ``shipment_id`` if that is given too)."""
        record = records.load(self.connection, order_id)
        if record is None or (shipment_id is not None and record.shipment_id != shipment_id):
            raise ShipmentNotFoundError(
                f"no escrow order {order_id!r}"
                + (f" on shipment {shipment_id!r}" if shipment_id else ""),
                order_id=order_id,
                shipment_id=shipment_id,
            )
        return record

    def _shipment_orders(self, reached: MilestoneSeen) -> list[OrderRecord]:
        """Record the first report of a shipment milestone; the orders on the shipment placed
        by its time (the event-time rule), to which it applies now."""
        shipment_id = reached.shipment_id
        assert shipment_id is not None
        found = records.load_by_shipment(self.connection, shipment_id, placed_by=reached.reached_at)
        if not found:
            if not records.shipment_known(self.connection, shipment_id):
                raise ShipmentNotFoundError(
                    f"no escrow order travels on shipment {shipment_id!r}", shipment_id=shipment_id
                )
            log.info(
                "milestone_before_orders", shipment_id=shipment_id, milestone=reached.milestone
            )
        records.record_shipment_milestone(self.connection, reached, self.now())
        return found

    # -- cancellation, disputes, deadlines -----------------------------------------------

    @operation
    def cancel(self, order_id: str, reason: str = "", at: datetime | None = None) -> EscrowState:
        """Refund whatever is unreleased to the buyer and close the order."""
        check_text(reason, "reason", REASON_LENGTH_MAX)
        check_times(at=at)
        record = self._get(order_id)
        if record.status == CANCELLED:
            return record.snapshot()
        if record.status not in OPEN_STATUSES:
            raise closed(record)
        if record.disputed:
            raise disputed(record)
        when = at or self.now()
        moves.refund(record, record.remaining_minor, when, reason or "order cancelled")
        moves.close(record, CANCELLED, when, reason or "order cancelled")
        return self._finish(record)

    @operation
    def open_dispute(
        self,
        order_id: str,
        *,
        dispute_id: str | None = None,
        reason: str = "",
        at: datetime | None = None,
    ) -> EscrowState:
        """Freeze releases until the dispute is resolved (milestones are still recorded).

        Opening the order's dispute again (the same ``dispute_id``), while it is open or after
        it was resolved, is a retry and changes nothing."""
        if dispute_id is not None:
            check_identifier(dispute_id, "dispute_id")
        check_text(reason, "reason", REASON_LENGTH_MAX)
        check_times(at=at)
        record = self._get(order_id)
        if had_dispute(record, dispute_id):
            log.info("escrow_dispute_replayed", order_id=order_id, dispute_id=dispute_id)
            return record.snapshot()
        if record.disputed:
            raise disputed(record)
        if record.status not in OPEN_STATUSES:
            raise closed(record)
        record.disputed = True
        record.dispute_id = dispute_id
        record.dispute_reason = reason or None
        log.info("escrow_disputed", order_id=order_id, dispute_id=dispute_id)
        return self._finish(record)

    @operation
    def resolve_dispute(
        self,
        order_id: str,
        outcome: str,
        *,
        seller_amount: Money | None = None,
        dispute_id: str | None = None,
        at: datetime | None = None,
    ) -> EscrowState:
        """Settle the whole unreleased remainder and close the order: ``release`` pays it to the
        seller (net of its share of the fee), ``refund`` returns it to the buyer, ``split`` pays
        ``seller_amount`` to the seller and refunds the rest. The recorded resolution asked
        again is a retry and changes nothing; any other is ``ESCROW_CLOSED``."""
        check_outcome(outcome, seller_amount)
        check_times(at=at)
        record = self._get(order_id)
        if record.status == RESOLVED:
            check_same_resolution(record, outcome, seller_amount, dispute_id)
            log.info("escrow_resolution_replayed", order_id=order_id, outcome=outcome)
            return record.snapshot()
        if record.status not in OPEN_STATUSES:
            raise closed(record)
        if not record.disputed or (dispute_id is not None and dispute_id != record.dispute_id):
            raise InvalidInputError(
                f"order {order_id!r} has no open dispute"
                + (f" {dispute_id!r}" if dispute_id else ""),
                order_id=order_id,
                field="dispute_id",
                dispute_id=dispute_id,
            )
        remaining = record.remaining_minor
        to_seller = {"release": remaining, "refund": 0}.get(outcome)
        if to_seller is None:
            assert seller_amount is not None
            to_seller = check_amount(record, seller_amount, "seller_amount", exact=False)
        when = max(at or self.now(), floor(record))
        if to_seller > 0:
            label = f"dispute resolved ({outcome})"
            metadata = {"dispute": outcome}
            moves.pay_seller(self.tx, record, "release/dispute", to_seller, when, metadata, label)
        moves.refund(record, remaining - to_seller, when, f"dispute resolved: {outcome}")
        record.disputed = False
        record.dispute_outcome = outcome
        moves.close(record, RESOLVED, when, f"dispute resolved: {outcome}")
        return self._finish(record)

    def expire_due(self, now: datetime | None = None) -> list[EscrowState]:
        """Close orders past their deadlines (disputed orders wait for their resolution):
        unfunded at ``funding_deadline`` -> expired, nothing to refund; not fully released at
        ``release_deadline`` -> the unreleased remainder is refunded to the buyer.

        Per call, in transactions of ``EXPIRE_BATCH_MAX`` orders each (a failure keeps the
        batches before it); bound to a unit of work, everything due, in that unit."""
        expired: list[EscrowState] = []
        batch: list[EscrowState] | None = None
        while batch is None or len(batch) == EXPIRE_BATCH_MAX:
            with self.transaction() as book:
                # Checked inside the unit of work, so a refusal is logged like any other.
                check_times(now=now)
                now = now or book.now()
                batch = book._expire_batch(now)
            expired += batch
        return expired

    def _expire_batch(self, now: datetime) -> list[EscrowState]:
        """Close up to ``EXPIRE_BATCH_MAX`` of the orders due at ``now``, by order id."""
        orders = escrow_orders.c
        query = (
            select(escrow_orders)
            .where(orders.status.in_(OPEN_STATUSES), orders.disputed.is_(False))
            .where(
                or_(
                    and_(orders.status == PLACED, orders.funding_deadline <= now),
                    orders.release_deadline <= now,
                )
            )
            .order_by(orders.order_id)
            .limit(EXPIRE_BATCH_MAX)
        )
        due = records.load_where(self.connection, query)
        for record in due:
            unfunded = record.status == PLACED
            due_funding = record.funding_deadline is not None and record.funding_deadline <= now
            reason = (
                "not funded by its funding deadline"
                if unfunded and due_funding
                else "not released by its release deadline"
            )
            when = max(now, floor(record))
            moves.refund(record, record.remaining_minor, when, reason)
            moves.close(record, EXPIRED, when, reason)
        return self._finish_all(due)

    # -- reading -------------------------------------------------------------------------

    def state(self, order_id: str) -> EscrowState:
        """The order's escrow: funded, released, refunded, remaining, milestones seen."""
        return self._get(order_id).snapshot()

    def orders(
        self, *, status: str | None = None, shipment_id: str | None = None
    ) -> list[EscrowState]:
        """Orders, by id, optionally only those with ``status`` or on ``shipment_id``."""
        query = select(escrow_orders)
        if status is not None:
            query = query.where(escrow_orders.c.status == status)
        if shipment_id is not None:
            query = query.where(escrow_orders.c.shipment_id == shipment_id)
        with self.reading() as connection:
            return [record.snapshot() for record in records.load_where(connection, query)]

    def _get(self, order_id: str) -> OrderRecord:
        """The order's rows: in the unit of work when bound (its own writes seen)."""
        record = None
        if isinstance(order_id, str):
            with self.reading() as connection:
                record = records.load(connection, order_id)
        if record is None:
            raise OrderNotFoundError(f"no escrow order {order_id!r}", order_id=order_id)
        return record

    # -- finishing -----------------------------------------------------------------------

    def _finish(self, record: OrderRecord) -> EscrowState:
        return self._finish_all([record])[0]

    def _finish_all(self, changed: list[OrderRecord]) -> list[EscrowState]:
        """Post the orders' queued entries in one batch, close finished escrow accounts, save
        the rows; then check every order against the journal."""
        queued = [entry for record in changed for entry in record.queued]
        if queued:
            self.tx.post_many(queued)
        for record in changed:
            record.queued = []
            if record.closing:
                self.tx.set_account_status(record.escrow_account, AccountStatus.CLOSED)
                record.closing = False
        records.save(self.connection, changed)
        return [self._check(record) for record in changed]

    def _check(self, record: OrderRecord) -> EscrowState:
        balance = self.tx.account(record.escrow_account).balance()
        # Pair assertions: the order's totals and the journal's escrow account agree.
        assert balance.posted_minor == record.remaining_minor >= 0, "escrow totals drifted"
        assert balance.debits_pending_minor == balance.credits_pending_minor == 0
        assert record.funded_minor in (0, record.amount_minor)
        assert 0 <= record.fee_charged_minor <= min(record.fee_minor, record.released_minor)
        if record.status == COMPLETED:
            assert record.released_minor == record.amount_minor
            assert record.fee_charged_minor == record.fee_minor
        return record.snapshot()


__all__ = [
    "DISPUTE_OUTCOMES",
    "EXPIRE_BATCH_MAX",
    "INCOTERMS",
    "EscrowBook",
    "entry_key",
    "escrow_account",
]

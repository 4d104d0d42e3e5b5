"""Escrow operations inside one ledger transaction (:class:`EscrowBook`).

Every operation loads the order rows, decides, posts its entries through the transaction's
posting engine (the single writer of the journal) and saves the rows on the same connection,
so an order's agreement, its running totals and its entries commit together or not at all.
Entry keys are derived from the order id and the step (``escrow/<order>/fund``,
``escrow/<order>/release/<milestone>``, ``escrow/<order>/release/dispute``,
``escrow/<order>/refund``), so a replayed event can never move money twice even if the state
check before it were wrong: the journal's idempotency is the second line of defence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from moneyed import Money

from jiaolong_ledger.accounts.chart import (
    check_identifier,
    check_participant_name,
    participant_cash,
    platform_fees,
)
from jiaolong_ledger.accounts.model import AccountStatus
from jiaolong_ledger.errors import (
    AccountExistsError,
    CurrencyMismatchError,
    EscrowClosedError,
    EscrowDisputedError,
    IdempotencyConflictError,
    InvalidInputError,
    OrderNotFoundError,
    ShipmentNotFoundError,
)
from jiaolong_ledger.escrow import records
from jiaolong_ledger.escrow.plan import (
    MILESTONES,
    PlanInput,
    ReleasePlan,
    fee_part_minor,
    format_share,
    platform_fee,
)
from jiaolong_ledger.escrow.records import ItemRecord, OrderRecord
from jiaolong_ledger.escrow.state import (
    CANCELLED,
    COMPLETED,
    EXPIRED,
    FUNDED,
    OPEN_STATUSES,
    PLACED,
    RESOLVED,
    EscrowState,
    MilestoneSeen,
)
from jiaolong_ledger.escrow.tables import (
    LOCATION_LENGTH_MAX,
    REASON_LENGTH_MAX,
    escrow_orders,
)
from jiaolong_ledger.journal.canonical import format_timestamp
from jiaolong_ledger.journal.engine import Transaction, request_digest
from jiaolong_ledger.journal.entry import Entry, credit, debit
from jiaolong_ledger.journal.validation import check_timestamp, raise_problems
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import format_minor, minor_to_money, money_to_minor, positive_minor

log = get_logger("jiaolong_ledger.escrow")

INCOTERMS: Final = ("FCA", "CPT", "CIP", "DAP", "DPU", "DDP")
"""Incoterms 2020 usable for rail (any-mode rules); FOB/CIF/FAS/CFR are sea-only."""
DISPUTE_OUTCOMES: Final = ("release", "refund", "split")
EXPIRE_BATCH_MAX: Final = 1_000
"""Orders expired per transaction by ``expire_due`` (it loops until none is due)."""


def escrow_account(order_id: str) -> str:
    return f"platform:escrow:{order_id.lower()}"


cash_account = participant_cash
fee_account = platform_fees


def entry_key(order_id: str, step: str) -> str:
    return f"escrow/{order_id}/{step}"


def _check_text(value: str | None, field: str, length_max: int) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > length_max):
        raise InvalidInputError(
            f"{field} must be a string of at most {length_max} characters", field=field
        )


def _check_times(**values: datetime | None) -> None:
    problems = []
    for name, value in values.items():
        problems += check_timestamp(value, name)
    raise_problems(problems)


FRESH_ORDER: Final[dict[str, Any]] = {
    "status": PLACED,
    "funded_at": None,
    "closed_at": None,
    "funded_minor": 0,
    "released_minor": 0,
    "fee_charged_minor": 0,
    "refunded_minor": 0,
    "disputed": False,
    "dispute_id": None,
    "dispute_reason": None,
    "dispute_outcome": None,
    "close_reason": None,
}
"""The running state of an order that has just been placed."""


def _order_terms(
    order_id: str,
    *,
    buyer: str,
    seller: str,
    amount: Money,
    incoterm: str,
    release_plan: ReleasePlan | Iterable[PlanInput],
    fee: Money | None,
    fee_rate: str | int | Decimal | None,
    shipment_id: str | None,
    funding_deadline: datetime | None,
    release_deadline: datetime | None,
) -> tuple[dict[str, Any], ReleasePlan]:
    """Validate an order's terms; the row values that never change, and the plan."""
    check_identifier(order_id, "order_id")
    if shipment_id is not None:
        check_identifier(shipment_id, "shipment_id")
    amount_minor, currency = positive_minor(amount)
    check_participant_name(buyer, "buyer")
    check_participant_name(seller, "seller")
    if buyer == seller:
        raise InvalidInputError("buyer and seller must differ", field="seller")
    if incoterm not in INCOTERMS:
        raise InvalidInputError(
            f"incoterm {incoterm!r} is not a rail incoterm ({', '.join(INCOTERMS)})",
            field="incoterm",
        )
    _check_times(funding_deadline=funding_deadline, release_deadline=release_deadline)
    if not isinstance(release_plan, ReleasePlan):
        release_plan = ReleasePlan.parse(release_plan)
    terms: dict[str, Any] = {
        "order_id": order_id,
        "buyer": buyer,
        "seller": seller,
        "currency": currency,
        "amount_minor": amount_minor,
        "fee_minor": money_to_minor(platform_fee(amount, fee_rate, fee))[0],
        "fee_rate": None if fee_rate is None else str(fee_rate),
        "incoterm": incoterm,
        "shipment_id": shipment_id,
        "funding_deadline": funding_deadline,
        "release_deadline": release_deadline,
    }
    fingerprint = {
        **terms,
        "plan": release_plan.to_list(),
        "funding_deadline": _stamp(funding_deadline),
        "release_deadline": _stamp(release_deadline),
    }
    del fingerprint["order_id"]
    terms["request_digest"] = request_digest(fingerprint)
    return terms, release_plan


class EscrowBook:
    """Escrow operations bound to one open ledger :class:`Transaction`."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.connection = tx.connection
        self._queued: list[Entry] = []
        self._closing: list[str] = []

    # -- placing and funding -------------------------------------------------------------

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
        """Open the escrow agreement and its ``platform:escrow:<order>`` liability account."""
        terms, plan = _order_terms(
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
        _check_times(at=at)
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
            **terms,
            **FRESH_ORDER,
            escrow_account=account,
            placed_at=at or self.tx.clock(),
            is_new=True,
        )
        amounts = plan.amounts_minor(record.amount_minor)
        record.items = [
            ItemRecord(position, item.milestone, item.share, part)
            for position, (item, part) in enumerate(zip(plan.items, amounts, strict=True))
        ]
        log.info(
            "escrow_placed",
            order_id=order_id,
            amount=format_minor(record.amount_minor, record.currency),
            currency=record.currency,
        )
        return self._finish(record)

    def fund(
        self, order_id: str, amount: Money | None = None, at: datetime | None = None
    ) -> EscrowState:
        """Move the buyer's money into escrow (the buyer's cash constraint applies).

        Milestones already seen are released at once. Funding twice is a no-op.
        """
        _check_times(at=at)
        record = self._get(order_id)
        if amount is not None:
            self._check_amount(record, amount, "amount", exact=True)
        if record.funded_minor > 0:
            log.info("escrow_fund_replayed", order_id=order_id)
            return record.snapshot()
        if record.status != PLACED:
            raise self._closed(record)
        when = at or self.tx.clock()
        money = minor_to_money(record.amount_minor, record.currency)
        self._post(
            record,
            "fund",
            "escrow_fund",
            [
                debit(cash_account(record.buyer, record.currency), money),
                credit(record.escrow_account, money),
            ],
            when,
            f"escrow funding of order {order_id} by {record.buyer}",
            {},
        )
        record.funded_minor = record.amount_minor
        record.funded_at = when
        record.status = FUNDED
        self._release_due(record, when)
        return self._finish(record)

    # -- milestones ----------------------------------------------------------------------

    def milestone(
        self,
        milestone: str,
        *,
        shipment_id: str | None = None,
        order_id: str | None = None,
        at: datetime | None = None,
        location: str | None = None,
    ) -> list[EscrowState]:
        """Record a rail milestone for a shipment (all its orders) or one order; release what
        is due. A milestone reported twice does nothing the second time; a milestone later in
        the plan releases every earlier unreleased share too, in plan order."""
        if milestone not in MILESTONES:
            raise InvalidInputError(
                f"milestone {milestone!r} is not one of {', '.join(MILESTONES)}",
                field="milestone",
            )
        _check_text(location, "location", LOCATION_LENGTH_MAX)
        _check_times(at=at)
        found = self._targets(shipment_id, order_id)
        when = at or self.tx.clock()
        changed = []
        for record in found:
            if milestone in record.milestones:
                log.info("milestone_replayed", order_id=record.order_id, milestone=milestone)
                continue
            seen = MilestoneSeen(milestone, when, location, shipment_id or record.shipment_id)
            record.milestones[milestone] = seen
            record.new_milestones.append((seen, self.tx.clock()))
            log.info("milestone_reached", order_id=record.order_id, milestone=milestone)
            self._release_due(record, when)
            changed.append(record)
        # Every release of a shipment goes to the posting engine in one batch.
        finished = dict(zip((r.order_id for r in changed), self._finish_all(changed), strict=True))
        return [
            finished[record.order_id] if record.order_id in finished else record.snapshot()
            for record in found
        ]

    def _targets(self, shipment_id: str | None, order_id: str | None) -> list[OrderRecord]:
        if shipment_id is None and order_id is None:
            raise InvalidInputError("a milestone names a shipment_id or an order_id")
        if order_id is not None:
            record = records.load(self.connection, order_id)
            if record is None or (shipment_id is not None and record.shipment_id != shipment_id):
                raise ShipmentNotFoundError(
                    f"no escrow order {order_id!r}"
                    + (f" on shipment {shipment_id!r}" if shipment_id else ""),
                    order_id=order_id,
                    shipment_id=shipment_id,
                )
            return [record]
        assert shipment_id is not None
        found = records.load_by_shipment(self.connection, shipment_id)
        if not found:
            raise ShipmentNotFoundError(
                f"no escrow order travels on shipment {shipment_id!r}", shipment_id=shipment_id
            )
        return found

    # -- cancellation, disputes, deadlines -----------------------------------------------

    def cancel(self, order_id: str, reason: str = "", at: datetime | None = None) -> EscrowState:
        """Refund whatever is unreleased to the buyer and close the order."""
        _check_text(reason, "reason", REASON_LENGTH_MAX)
        _check_times(at=at)
        record = self._get(order_id)
        if record.status == CANCELLED:
            return record.snapshot()
        if record.status not in OPEN_STATUSES:
            raise self._closed(record)
        if record.disputed:
            raise self._disputed(record)
        when = at or self.tx.clock()
        self._refund(record, record.remaining_minor, when, reason or "order cancelled")
        self._close(record, CANCELLED, when, reason or "order cancelled")
        return self._finish(record)

    def open_dispute(
        self,
        order_id: str,
        *,
        dispute_id: str | None = None,
        reason: str = "",
        at: datetime | None = None,
    ) -> EscrowState:
        """Freeze releases until the dispute is resolved (milestones are still recorded)."""
        if dispute_id is not None:
            check_identifier(dispute_id, "dispute_id")
        _check_text(reason, "reason", REASON_LENGTH_MAX)
        _check_times(at=at)
        record = self._get(order_id)
        if record.disputed:
            if record.dispute_id == dispute_id:
                return record.snapshot()
            raise self._disputed(record)
        if record.status not in OPEN_STATUSES:
            raise self._closed(record)
        record.disputed = True
        record.dispute_id = dispute_id
        record.dispute_reason = reason or None
        log.info("escrow_disputed", order_id=order_id, dispute_id=dispute_id)
        return self._finish(record)

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
        ``seller_amount`` to the seller and refunds the rest."""
        _check_outcome(outcome, seller_amount)
        _check_times(at=at)
        record = self._get(order_id)
        if record.status == RESOLVED and record.dispute_outcome == outcome:
            return record.snapshot()
        if record.status not in OPEN_STATUSES:
            raise self._closed(record)
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
            to_seller = self._check_amount(record, seller_amount, "seller_amount", exact=False)
        when = max(at or self.tx.clock(), self._floor(record))
        if to_seller > 0:
            label = f"dispute resolved ({outcome})"
            self._pay_seller(
                record, "release/dispute", to_seller, when, {"dispute": outcome}, label
            )
        self._refund(record, remaining - to_seller, when, f"dispute resolved: {outcome}")
        record.disputed = False
        record.dispute_outcome = outcome
        self._close(record, RESOLVED, when, f"dispute resolved: {outcome}")
        return self._finish(record)

    def expire_due(self, now: datetime, limit: int = EXPIRE_BATCH_MAX) -> list[EscrowState]:
        """Close orders past their deadlines (disputed orders wait for their resolution):
        unfunded at ``funding_deadline`` -> expired, nothing to refund; not fully released at
        ``release_deadline`` -> the unreleased remainder is refunded to the buyer."""
        from sqlalchemy import and_, or_, select

        _check_times(now=now)
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
            .limit(limit)
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
            when = max(now, self._floor(record))
            self._refund(record, record.remaining_minor, when, reason)
            self._close(record, EXPIRED, when, reason)
        return self._finish_all(due)

    def state(self, order_id: str) -> EscrowState:
        return self._get(order_id).snapshot()

    # -- moving money --------------------------------------------------------------------

    def _release_due(self, record: OrderRecord, at: datetime) -> None:
        """Release, in plan order, every unreleased item up to the last milestone seen."""
        if record.status != FUNDED or record.disputed:
            return
        due = max(
            (i for i, item in enumerate(record.items) if item.milestone in record.milestones),
            default=-1,
        )
        when = max(at, self._floor(record))
        for item in record.items[: due + 1]:
            if not item.released:
                self._release_item(record, item, when)
        if all(item.released for item in record.items):
            self._close(record, COMPLETED, when, "every share released")

    def _release_item(self, record: OrderRecord, item: ItemRecord, when: datetime) -> None:
        step = f"release/{item.milestone}"
        metadata = {"milestone": item.milestone, "share": format_share(item.share)}
        seen = record.milestones.get(item.milestone)
        if seen is not None and seen.location:
            metadata["location"] = seen.location
        label = item.milestone + (f" at {seen.location}" if seen and seen.location else "")
        fee = self._pay_seller(record, step, item.amount_minor, when, metadata, label)
        item.released = True
        item.fee_minor = fee
        item.released_at = when
        item.entry_key = entry_key(record.order_id, step) if item.amount_minor > 0 else None
        item.dirty = True

    def _pay_seller(
        self,
        record: OrderRecord,
        step: str,
        gross_minor: int,
        when: datetime,
        metadata: dict[str, str],
        label: str,
    ) -> int:
        """One entry: escrow -> seller cash (net) and platform fees (the fee part)."""
        fee = fee_part_minor(
            record.fee_minor, record.amount_minor, record.released_minor, gross_minor
        )
        if gross_minor == 0:
            return 0
        ccy = record.currency
        net = gross_minor - fee
        postings = [debit(record.escrow_account, minor_to_money(gross_minor, ccy))]
        if net > 0:
            seller_cash = cash_account(record.seller, ccy)
            self.tx.ensure_account(seller_cash, ccy, "liability", "debits_must_not_exceed_credits")
            postings.append(credit(seller_cash, minor_to_money(net, ccy)))
        if fee > 0:
            self.tx.ensure_account(fee_account(ccy), ccy, "income")
            postings.append(credit(fee_account(ccy), minor_to_money(fee, ccy)))
        metadata = {**metadata, "fee": format_minor(fee, ccy)}
        description = f"escrow release of order {record.order_id} to {record.seller}: {label}"
        self._post(record, step, "escrow_release", postings, when, description, metadata)
        record.released_minor += gross_minor
        record.fee_charged_minor += fee
        return fee

    def _refund(self, record: OrderRecord, amount_minor: int, when: datetime, reason: str) -> None:
        if amount_minor <= 0:
            return
        assert record.refunded_minor == 0, "an order is refunded at most once"
        money = minor_to_money(amount_minor, record.currency)
        self._post(
            record,
            "refund",
            "escrow_refund",
            [
                debit(record.escrow_account, money),
                credit(cash_account(record.buyer, record.currency), money),
            ],
            when,
            f"escrow refund of order {record.order_id} to {record.buyer}: {reason}",
            {"reason": reason},
        )
        record.refunded_minor += amount_minor

    def _post(
        self,
        record: OrderRecord,
        step: str,
        kind: str,
        postings: list[Any],
        when: datetime,
        description: str,
        metadata: Mapping[str, str],
    ) -> None:
        entry = Entry(
            key=entry_key(record.order_id, step),
            postings=postings,
            kind=kind,
            effective_at=when,
            description=description,
            metadata={
                "order_id": record.order_id,
                "buyer": record.buyer,
                "seller": record.seller,
                **metadata,
            },
        )
        self._queued.append(entry)

    def _close(self, record: OrderRecord, status: str, when: datetime, reason: str) -> None:
        assert record.remaining_minor == 0, "closing an escrow that still holds money"
        record.status = status
        record.closed_at = when
        record.close_reason = reason
        self._closing.append(record.escrow_account)
        log.info("escrow_closed", order_id=record.order_id, status=status)

    # -- helpers -------------------------------------------------------------------------

    def _get(self, order_id: str) -> OrderRecord:
        record = records.load(self.connection, order_id) if isinstance(order_id, str) else None
        if record is None:
            raise OrderNotFoundError(f"no escrow order {order_id!r}", order_id=order_id)
        return record

    def _finish(self, record: OrderRecord) -> EscrowState:
        return self._finish_all([record])[0]

    def _finish_all(self, changed: list[OrderRecord]) -> list[EscrowState]:
        """Post the queued entries in one batch, close finished escrow accounts, save rows."""
        if self._queued:
            self.tx.post_many(self._queued)
            self._queued = []
        for account in self._closing:
            self.tx.set_account_status(account, AccountStatus.CLOSED)
        self._closing = []
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

    @staticmethod
    def _floor(record: OrderRecord) -> datetime:
        """No entry of an order is effective before an earlier one (as-of balances stay >= 0)."""
        times = [record.placed_at]
        times += [t for t in (record.funded_at,) if t is not None]
        times += [item.released_at for item in record.items if item.released_at is not None]
        return max(times)

    @staticmethod
    def _check_amount(record: OrderRecord, amount: Money, field: str, *, exact: bool) -> int:
        minor, currency = money_to_minor(amount)
        if currency != record.currency:
            raise CurrencyMismatchError(
                f"{field} is in {currency}, order {record.order_id!r} is in {record.currency}",
                field=field,
                account_currency=record.currency,
                posting_currency=currency,
            )
        limit = record.amount_minor if exact else record.remaining_minor
        if (exact and minor != limit) or not 0 <= minor <= limit:
            expected = "exactly" if exact else "at most"
            raise InvalidInputError(
                f"{field} {format_minor(minor, currency)} {currency}: order "
                f"{record.order_id!r} needs {expected} {format_minor(limit, currency)}",
                field=field,
                order_id=record.order_id,
            )
        return minor

    @staticmethod
    def _closed(record: OrderRecord) -> EscrowClosedError:
        return EscrowClosedError(
            f"order {record.order_id!r} is {record.status}"
            + (f" ({record.close_reason})" if record.close_reason else ""),
            order_id=record.order_id,
            status=record.status,
        )

    @staticmethod
    def _disputed(record: OrderRecord) -> EscrowDisputedError:
        return EscrowDisputedError(
            f"order {record.order_id!r} is under dispute"
            + (f" {record.dispute_id!r}" if record.dispute_id else "")
            + "; releases and cancellation wait for its resolution",
            order_id=record.order_id,
            dispute_id=record.dispute_id,
        )


def _check_outcome(outcome: str, seller_amount: Money | None) -> None:
    if outcome not in DISPUTE_OUTCOMES:
        raise InvalidInputError(
            f"dispute outcome must be one of {', '.join(DISPUTE_OUTCOMES)}, got {outcome!r}",
            field="outcome",
        )
    if (outcome == "split") != (seller_amount is not None):
        raise InvalidInputError(
            "seller_amount is required for a split and only for a split", field="seller_amount"
        )


def _stamp(value: datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None


__all__ = [
    "DISPUTE_OUTCOMES",
    "INCOTERMS",
    "EscrowBook",
    "cash_account",
    "check_identifier",
    "entry_key",
    "escrow_account",
    "fee_account",
]

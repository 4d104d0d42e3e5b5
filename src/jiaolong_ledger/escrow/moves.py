"""How escrow money moves: the entries of funding, releases and refunds, built on an order.

Each function changes an order's record (its totals, plan items, status) and queues on it the
entry that moves the money (``record.queued``); the book posts every queued entry of an
operation in one batch through the journal writer when the operation finishes, and asserts
afterwards that the record and the journal's escrow account agree. The writer is passed in only
to make sure the accounts a release pays into exist (a seller's cash, the platform's fee income).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from jiaolong_ledger.accounts.chart import participant_cash, platform_fees
from jiaolong_ledger.escrow.plan import fee_part_minor, format_share
from jiaolong_ledger.escrow.records import ItemRecord, OrderRecord
from jiaolong_ledger.escrow.state import COMPLETED, FUNDED
from jiaolong_ledger.escrow.terms import entry_key, floor
from jiaolong_ledger.journal.entry import Entry, credit, debit
from jiaolong_ledger.journal.writer import Transaction
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import format_minor, minor_to_money

log = get_logger("jiaolong_ledger.escrow")


def fund(record: OrderRecord, when: datetime) -> None:
    """The buyer's cash -> escrow, the order's whole amount."""
    money = minor_to_money(record.amount_minor, record.currency)
    queue(
        record,
        "fund",
        "escrow_fund",
        [
            debit(participant_cash(record.buyer, record.currency), money),
            credit(record.escrow_account, money),
        ],
        when,
        f"escrow funding of order {record.order_id} by {record.buyer}",
        {},
    )
    record.funded_minor = record.amount_minor
    record.funded_at = when
    record.status = FUNDED


def release_due(tx: Transaction, record: OrderRecord) -> None:
    """Release what the milestones seen make due, as if each had arrived at its own time: the
    milestones in order of time, each releasing, in plan order, every unreleased item up to its
    own place in the plan, dated at its time or the order's latest movement if that is later
    (so funding after the milestones' events arrived dates each release as if it had come
    first, whatever the arrival order)."""
    if record.status != FUNDED or record.disputed:
        return
    places = {item.milestone: position for position, item in enumerate(record.items)}
    seen = sorted(
        (m for m in record.milestones.values() if m.milestone in places),
        key=lambda m: (m.reached_at, places[m.milestone]),
    )
    for milestone in seen:
        when = max(milestone.reached_at, floor(record))
        for item in record.items[: places[milestone.milestone] + 1]:
            if not item.released:
                _release_item(tx, record, item, when)
    if all(item.released for item in record.items):
        close(record, COMPLETED, floor(record), "every share released")


def _release_item(tx: Transaction, record: OrderRecord, item: ItemRecord, when: datetime) -> None:
    step = f"release/{item.milestone}"
    metadata = {"milestone": item.milestone, "share": format_share(item.share)}
    seen = record.milestones.get(item.milestone)
    if seen is not None and seen.location:
        metadata["location"] = seen.location
    label = item.milestone + (f" at {seen.location}" if seen and seen.location else "")
    fee = pay_seller(tx, record, step, item.amount_minor, when, metadata, label)
    item.released = True
    item.fee_minor = fee
    item.released_at = when
    item.entry_key = entry_key(record.order_id, step) if item.amount_minor > 0 else None
    item.dirty = True


def pay_seller(
    tx: Transaction,
    record: OrderRecord,
    step: str,
    gross_minor: int,
    when: datetime,
    metadata: dict[str, str],
    label: str,
) -> int:
    """One entry: escrow -> seller cash (net) and platform fees (the fee part); the fee."""
    fee = fee_part_minor(record.fee_minor, record.amount_minor, record.released_minor, gross_minor)
    if gross_minor == 0:
        return 0
    ccy = record.currency
    net = gross_minor - fee
    postings = [debit(record.escrow_account, minor_to_money(gross_minor, ccy))]
    if net > 0:
        seller_cash = participant_cash(record.seller, ccy)
        tx.ensure_account(seller_cash, ccy, "liability", "debits_must_not_exceed_credits")
        postings.append(credit(seller_cash, minor_to_money(net, ccy)))
    if fee > 0:
        tx.ensure_account(platform_fees(ccy), ccy, "income")
        postings.append(credit(platform_fees(ccy), minor_to_money(fee, ccy)))
    metadata = {**metadata, "fee": format_minor(fee, ccy)}
    description = f"escrow release of order {record.order_id} to {record.seller}: {label}"
    queue(record, step, "escrow_release", postings, when, description, metadata)
    record.released_minor += gross_minor
    record.fee_charged_minor += fee
    return fee


def refund(record: OrderRecord, amount_minor: int, when: datetime, reason: str) -> None:
    """Escrow -> the buyer's cash (nothing when ``amount_minor`` is zero)."""
    if amount_minor <= 0:
        return
    assert record.refunded_minor == 0, "an order is refunded at most once"
    money = minor_to_money(amount_minor, record.currency)
    queue(
        record,
        "refund",
        "escrow_refund",
        [
            debit(record.escrow_account, money),
            credit(participant_cash(record.buyer, record.currency), money),
        ],
        when,
        f"escrow refund of order {record.order_id} to {record.buyer}: {reason}",
        {"reason": reason},
    )
    record.refunded_minor += amount_minor


def close(record: OrderRecord, status: str, when: datetime, reason: str) -> None:
    """Close the order (its escrow account is closed when the operation finishes)."""
    assert record.remaining_minor == 0, "closing an escrow that still holds money"
    record.status = status
    record.closed_at = when
    record.close_reason = reason
    record.closing = True
    log.info("escrow_closed", order_id=record.order_id, status=status)


def queue(
    record: OrderRecord,
    step: str,
    kind: str,
    postings: list[Any],
    when: datetime,
    description: str,
    metadata: Mapping[str, str],
) -> None:
    """Build the order's entry for ``step``; it is posted when the operation finishes."""
    record.queued.append(
        Entry(
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
    )


__all__ = ["close", "fund", "pay_seller", "queue", "refund", "release_due"]

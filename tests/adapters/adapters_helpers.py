"""Adapter test helpers: a funded buyer and an order's events as JSON objects."""

from __future__ import annotations

from typing import Any

from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit

BUYER_CASH = "participant:lodz-gallery:cash:EUR"
SELLER_CASH = "participant:shu-brocade:cash:EUR"


def open_buyer(ledger: Ledger, deposit: str = "50000.00") -> None:
    with ledger.transaction() as tx:
        tx.ensure_account("platform:bank:EUR", "EUR", "asset")
        tx.ensure_account(BUYER_CASH, "EUR", "liability", "debits_must_not_exceed_credits")
    ledger.post(
        Entry(
            key="test/deposit",
            postings=[
                debit("platform:bank:EUR", Money(deposit, "EUR")),
                credit(BUYER_CASH, Money(deposit, "EUR")),
            ],
        )
    )


def order_placed(order_id: str = "ORD-7", **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "OrderPlaced",
        "order_id": order_id,
        "buyer": "lodz-gallery",
        "seller": "shu-brocade",
        "amount": "1200.00",
        "currency": "EUR",
        "incoterm": "CIP",
        "shipment_id": "X8001",
        "release_plan": [
            {"milestone": "departed", "share": "30"},
            {"milestone": "border_crossed", "share": "20"},
            {"milestone": "customs_cleared", "share": "40"},
            {"milestone": "delivered", "share": "10"},
        ],
        "platform_fee_rate": "0.015",
        "placed_at": "2026-11-20T09:00:00Z",
    }
    event.update(overrides)
    return event


def journey(order_id: str = "ORD-7") -> list[dict[str, Any]]:
    """An order from placement to delivery on the Chengdu–Duisburg line."""
    stops = [
        ("departed", "Chengdu", "2026-11-21T06:00:00Z"),
        ("border_crossed", "Khorgos", "2026-11-25T12:00:00Z"),
        ("customs_cleared", "Małaszewicze", "2026-12-03T08:00:00Z"),
        ("delivered", "Duisburg", "2026-12-06T15:00:00Z"),
    ]
    return [
        order_placed(order_id),
        {"type": "EscrowFunded", "order_id": order_id, "funded_at": "2026-11-20T10:00:00Z"},
        *(
            {
                "type": "MilestoneReached",
                "shipment_id": "X8001",
                "milestone": milestone,
                "location": location,
                "reached_at": when,
            }
            for milestone, location, when in stops
        ),
    ]


FACILITY = "F-1"
SPLIT_PLAN = [{"milestone": "departed", "share": "30"}, {"milestone": "delivered", "share": "70"}]


def open_facility(ledger: Ledger) -> None:
    """Facility F-1: shu-brocade borrows CNY from the platform (for the financing events)."""
    ledger.financing.open_facility(
        FACILITY, "shu-brocade", "platform", Money("1000.00", "CNY"), "0.05", "ACT/365F"
    )


def every_kind() -> list[dict[str, Any]]:
    """Every event kind, each with its timestamp: escrow orders that complete, are resolved
    (a split, and a refund of a dispute without id), are cancelled; a deferred-net order; a
    drawdown and a repayment. Needs :func:`open_buyer` and :func:`open_facility`."""
    return [
        order_placed("ORD-1", shipment_id="X1", release_plan=SPLIT_PLAN),
        {"type": "EscrowFunded", "order_id": "ORD-1", "funded_at": "2026-11-20T10:00:00Z"},
        {
            "type": "MilestoneReached",
            "shipment_id": "X1",
            "milestone": "departed",
            "reached_at": "2026-11-21T06:00:00+08:00",
            "location": "Chengdu",
        },
        order_placed("ORD-2", shipment_id="X2", release_plan=SPLIT_PLAN),
        {
            "type": "EscrowFunded",
            "order_id": "ORD-2",
            "amount": "1200.00",
            "currency": "EUR",
            "funded_at": "2026-11-20T11:00:00Z",
        },
        {
            "type": "DisputeOpened",
            "order_id": "ORD-2",
            "dispute_id": "D-1",
            "reason": "torn brocade",
            "opened_at": "2026-11-22T00:00:00Z",
        },
        {
            "type": "DisputeResolved",
            "order_id": "ORD-2",
            "dispute_id": "D-1",
            "outcome": "split",
            "seller_amount": "100.00",
            "resolved_at": "2026-11-23T00:00:00Z",
        },
        order_placed("ORD-3", shipment_id="X3", release_plan=SPLIT_PLAN),
        {"type": "EscrowFunded", "order_id": "ORD-3", "funded_at": "2026-11-20T12:00:00Z"},
        {
            "type": "OrderCancelled",
            "order_id": "ORD-3",
            "reason": "buyer withdrew",
            "cancelled_at": "2026-11-21T00:00:00Z",
        },
        order_placed("ORD-5", shipment_id="X5", release_plan=SPLIT_PLAN),
        {"type": "EscrowFunded", "order_id": "ORD-5", "funded_at": "2026-11-20T12:00:00Z"},
        {"type": "DisputeOpened", "order_id": "ORD-5", "opened_at": "2026-11-22T00:00:00Z"},
        {
            "type": "DisputeResolved",
            "order_id": "ORD-5",
            "outcome": "refund",
            "resolved_at": "2026-11-23T00:00:00Z",
        },
        order_placed("ORD-4", settlement_terms="deferred_net", release_plan=[], shipment_id=None),
        {
            "type": "DrawdownRequested",
            "facility_id": FACILITY,
            "borrower": "shu-brocade",
            "amount": "500.00",
            "currency": "CNY",
            "requested_at": "2026-01-01T09:00:00Z",
        },
        {
            "type": "RepaymentReceived",
            "facility_id": FACILITY,
            "borrower": "shu-brocade",
            "amount": "100.00",
            "currency": "CNY",
            "received_at": "2026-01-11T00:00:00Z",
        },
        {
            "type": "MilestoneReached",
            "shipment_id": "X1",
            "milestone": "delivered",
            "reached_at": "2026-12-06T15:00:00Z",
        },
    ]

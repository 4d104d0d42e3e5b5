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

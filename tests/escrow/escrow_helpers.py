"""Escrow test helpers: a small market of funded participants, and escrow events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit

BUYERS = ("lodz-gallery", "duisburg-prints")
SELLERS = ("shu-brocade", "chongqing-lacquer")
DEPOSITS = {"EUR": "1000000.00", "JPY": "100000000", "KWD": "1000000.000"}
PLAN = [
    {"milestone": "departed", "share": "30"},
    {"milestone": "customs_cleared", "share": "60"},
    {"milestone": "delivered", "share": "10"},
]
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FIXED_NOW = datetime(2026, 12, 31, tzinfo=UTC)
"""The clock of the ledgers compared entry for entry (``recorded_at`` and every hash)."""


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def cash(name: str, currency: str) -> str:
    return f"participant:{name}:cash:{currency}"


def open_market(ledger: Ledger, deposits: dict[str, str] = DEPOSITS) -> None:
    """Bank and cash accounts for every participant; buyers get an opening deposit."""
    with ledger.transaction() as tx:
        for currency in deposits:
            tx.ensure_account(f"platform:bank:{currency}", currency, "asset")
            for name in BUYERS + SELLERS:
                tx.ensure_account(
                    cash(name, currency), currency, "liability", "debits_must_not_exceed_credits"
                )
    ledger.post_many(
        [
            Entry(
                key=f"test/deposit/{name}/{currency}",
                postings=[
                    debit(f"platform:bank:{currency}", Money(amount, currency)),
                    credit(cash(name, currency), Money(amount, currency)),
                ],
            )
            for currency, amount in deposits.items()
            for name in BUYERS
        ]
    )


# -- events on shipment X1 -------------------------------------------------------------------


def order_placed(order_id: str, placed_at: str) -> dict[str, Any]:
    return {
        "type": "OrderPlaced",
        "order_id": order_id,
        "buyer": "lodz-gallery",
        "seller": "shu-brocade",
        "amount": "1200.00",
        "currency": "EUR",
        "incoterm": "CIP",
        "shipment_id": "X1",
        "release_plan": [
            {"milestone": "departed", "share": "30"},
            {"milestone": "delivered", "share": "70"},
        ],
        "platform_fee_rate": "0.015",
        "placed_at": placed_at,
    }


def funded(order_id: str, funded_at: str) -> dict[str, Any]:
    return {"type": "EscrowFunded", "order_id": order_id, "funded_at": funded_at}


def reached(milestone: str, reached_at: str, location: str | None = None) -> dict[str, Any]:
    event = {
        "type": "MilestoneReached",
        "shipment_id": "X1",
        "milestone": milestone,
        "reached_at": reached_at,
    }
    return event if location is None else {**event, "location": location}


def full_state(ledger: Ledger) -> tuple[list[str], list[dict[str, Any]]]:
    return list(ledger.journal_lines()), [order.to_dict() for order in ledger.escrow.orders()]


def entries_by_key(ledger: Ledger) -> dict[str, tuple[Any, ...]]:
    """Each escrow entry's content, whatever its place in the journal (arrival order changes
    seq, and with it the keys of account records)."""
    found = {}
    for line in ledger.journal_lines():
        entry = json.loads(line)
        if str(entry.get("key")).startswith("escrow/"):
            postings = entry.get("postings")
            found[entry["key"]] = (entry.get("kind"), entry.get("effective_at"), postings)
    return found

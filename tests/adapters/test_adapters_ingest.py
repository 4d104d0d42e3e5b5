"""``ledger.ingest(event)`` end to end on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from adapters_helpers import BUYER_CASH, SELLER_CASH, journey, open_buyer, order_placed
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.adapters import EscrowFunded, OrderCancelled, parse_event
from jiaolong_ledger.errors import (
    EscrowDisputedError,
    EventNotSupportedError,
    InvalidEventError,
    LedgerError,
    ReleasePlanInvalidError,
    ShipmentNotFoundError,
)


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def journal_size(ledger: Ledger) -> int:
    return sum(1 for _ in ledger.journal_lines())


def test_an_order_journey_through_ingest(ledger: Ledger) -> None:
    open_buyer(ledger)
    results = [ledger.ingest(event) for event in journey()]
    state = ledger.escrow.state("ORD-7")
    assert results[0].status == "placed"
    assert results[1].status == "funded"
    assert isinstance(results[2], list) and results[2][0].released == eur("360.00")
    assert state.status == "completed"
    assert state.released == eur("1200.00")
    assert state.fee_charged == eur("18.00")
    assert ledger.balance(SELLER_CASH).posted == eur("1182.00")
    assert ledger.balance(BUYER_CASH).posted == eur("48800.00")
    assert [seen.location for seen in state.milestones] == [
        "Chengdu",
        "Khorgos",
        "Małaszewicze",
        "Duisburg",
    ]
    # Replaying the whole stream changes nothing.
    size = journal_size(ledger)
    for event in journey():
        ledger.ingest(event)
    assert journal_size(ledger) == size
    assert ledger.verify().ok


def test_ingest_accepts_models_as_well_as_mappings(ledger: Ledger) -> None:
    open_buyer(ledger)
    ledger.ingest(parse_event(order_placed()))
    ledger.ingest(EscrowFunded(order_id="ORD-7"))
    state = ledger.ingest(OrderCancelled(order_id="ORD-7", reason="buyer withdrew"))
    assert state.status == "cancelled" and state.refunded == eur("1200.00")
    assert ledger.balance(BUYER_CASH).posted == eur("50000.00")


def test_fixed_fee_and_split_resolution(ledger: Ledger) -> None:
    open_buyer(ledger)
    ledger.ingest(order_placed(platform_fee_rate=None, platform_fee="12.00"))
    ledger.ingest(
        {"type": "EscrowFunded", "order_id": "ORD-7", "amount": "1200.00", "currency": "EUR"}
    )
    ledger.ingest({"type": "DisputeOpened", "order_id": "ORD-7", "dispute_id": "D-9"})
    with pytest.raises(EscrowDisputedError):
        ledger.ingest({"type": "OrderCancelled", "order_id": "ORD-7"})
    state = ledger.ingest(
        {
            "type": "DisputeResolved",
            "order_id": "ORD-7",
            "dispute_id": "D-9",
            "outcome": "split",
            "seller_amount": "600.00",
        }
    )
    assert (state.released, state.refunded, state.fee_charged) == (
        eur("600.00"),
        eur("600.00"),
        eur("6.00"),
    )


def test_rejected_events_change_nothing(ledger: Ledger) -> None:
    open_buyer(ledger)
    size = journal_size(ledger)
    with pytest.raises(ReleasePlanInvalidError):
        ledger.ingest(order_placed(release_plan=[{"milestone": "departed", "share": "99"}]))
    with pytest.raises(InvalidEventError):
        ledger.ingest(order_placed(amount=99.5))
    with pytest.raises(ShipmentNotFoundError):
        ledger.ingest({"type": "MilestoneReached", "shipment_id": "X1", "milestone": "departed"})
    assert journal_size(ledger) == size
    assert ledger.escrow.orders() == []


@pytest.mark.parametrize("kind", ["DrawdownRequested", "RepaymentReceived"])
def test_financing_events_are_not_supported_yet(ledger: Ledger, kind: str) -> None:
    event = {
        "type": kind,
        "facility_id": "F-1",
        "borrower": "shu-brocade",
        "amount": "100.00",
        "currency": "CNY",
    }
    with pytest.raises(EventNotSupportedError) as caught:
        ledger.ingest(event)
    assert caught.value.code == "EVENT_NOT_SUPPORTED"
    assert kind in caught.value.message


class RecordingClearing:
    """Stands in for the clearing service to see what the adapter hands it (no storage)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def submit_order(self, **kwargs: Any) -> str:
        self.calls.append(kwargs)
        return "submitted"


def test_deferred_net_orders_go_to_clearing_with_the_escrow_fee(ledger: Ledger) -> None:
    clearing = RecordingClearing()
    ledger._subdomains["clearing"] = clearing
    result = ledger.ingest(order_placed(settlement_terms="deferred_net", release_plan=[]))
    assert result == "submitted"
    (call,) = clearing.calls
    assert call["order_id"] == "ORD-7"
    assert (call["buyer"], call["seller"]) == ("lodz-gallery", "shu-brocade")
    assert call["amount"] == eur("1200.00")
    assert call["fee"] == eur("18.00")
    assert call["at"] is not None
    ledger.ingest(order_placed("ORD-8", settlement_terms="deferred_net", platform_fee_rate=None))
    assert clearing.calls[1]["fee"] is None
    assert ledger.escrow.orders() == []


def test_ingest_many_is_one_transaction(ledger: Ledger) -> None:
    from jiaolong_ledger.adapters import ingest_many

    open_buyer(ledger)
    size = journal_size(ledger)
    bad = {"type": "OrderCancelled", "order_id": "ORD-404"}
    with pytest.raises(LedgerError) as caught:
        ingest_many(ledger, [*journey()[:3], bad])
    assert caught.value.code == "ORDER_NOT_FOUND"
    assert caught.value.details["index"] == 3
    assert journal_size(ledger) == size
    results = ingest_many(ledger, journey())
    assert len(results) == 6
    assert ledger.escrow.state("ORD-7").status == "completed"
    with pytest.raises(InvalidEventError) as invalid:
        ingest_many(ledger, [journey()[0], {"type": "EscrowFunded"}])
    assert invalid.value.details["index"] == 1


DOC_ENTRIES = {
    "escrow/ORD-7/fund": [
        ("debit", BUYER_CASH, "1200.00"),
        ("credit", "platform:escrow:ord-7", "1200.00"),
    ],
    "escrow/ORD-7/release/departed": [
        ("debit", "platform:escrow:ord-7", "360.00"),
        ("credit", SELLER_CASH, "354.60"),
        ("credit", "platform:fees:EUR", "5.40"),
    ],
    "escrow/ORD-7/release/border_crossed": [
        ("debit", "platform:escrow:ord-7", "240.00"),
        ("credit", SELLER_CASH, "236.40"),
        ("credit", "platform:fees:EUR", "3.60"),
    ],
    "escrow/ORD-7/release/customs_cleared": [
        ("debit", "platform:escrow:ord-7", "480.00"),
        ("credit", SELLER_CASH, "472.80"),
        ("credit", "platform:fees:EUR", "7.20"),
    ],
    "escrow/ORD-7/release/delivered": [
        ("debit", "platform:escrow:ord-7", "120.00"),
        ("credit", SELLER_CASH, "118.20"),
        ("credit", "platform:fees:EUR", "1.80"),
    ],
}


def test_docs_walkthrough(ledger: Ledger) -> None:
    """docs/escrow.md shows exactly these entries for the ORD-7 journey."""
    open_buyer(ledger)
    for event in journey():
        ledger.ingest(event)
    escrow_entries = [entry for entry in ledger.entries() if entry.kind.startswith("escrow_")]
    assert [entry.key for entry in escrow_entries] == list(DOC_ENTRIES)
    for entry in escrow_entries:
        legs = [(p.side, p.account, str(p.amount.amount)) for p in entry.postings]
        assert legs == DOC_ENTRIES[entry.key], entry.key
    release = ledger.entry("escrow/ORD-7/release/customs_cleared")
    assert release.metadata["location"] == "Małaszewicze"
    assert release.metadata["fee"] == "7.20"
    assert ledger.account("platform:escrow:ord-7").status == "closed"
    state = ledger.escrow.state("ORD-7")
    assert (state.seller_received_minor, state.fee_charged_minor) == (118_200, 1_800)

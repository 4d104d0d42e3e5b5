"""``ledger.ingest(event)`` end to end on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from adapters_helpers import BUYER_CASH, SELLER_CASH, journey, open_buyer, order_placed
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.adapters import EscrowFunded, OrderCancelled, ingest_many, parse_event
from jiaolong_ledger.errors import (
    EscrowDisputedError,
    FacilityLimitExceededError,
    FacilityNotFoundError,
    InvalidEventError,
    InvalidInputError,
    LedgerError,
    ReleasePlanInvalidError,
    ShipmentNotFoundError,
)
from jiaolong_ledger.testing import assert_unchanged, snapshot


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


def financing_event(kind: str, amount: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "facility_id": "F-1",
        "borrower": "shu-brocade",
        "amount": amount,
        "currency": "CNY",
        **extra,
    }


def test_financing_events_draw_and_repay(ledger: Ledger) -> None:
    ledger.financing.open_facility(
        "F-1", "shu-brocade", "platform", Money("100000.00", "CNY"), "0.036", "ACT/360"
    )
    draw = financing_event("DrawdownRequested", "36000.00", requested_at="2026-01-01T09:00:00Z")
    state = ledger.ingest(draw)
    assert state.principal_minor == 3_600_000
    assert ledger.ingest(draw) == state  # the same event again books nothing
    assert ledger.balance("participant:shu-brocade:cash:CNY").posted == Money("36000.00", "CNY")
    size = journal_size(ledger)
    with pytest.raises(InvalidInputError) as caught:  # names another borrower: the book refuses
        ledger.ingest({**draw, "borrower": "lao-lacquer", "amount": "1.00"})
    assert caught.value.details["field"] == "borrower"
    with pytest.raises(FacilityLimitExceededError):
        ledger.ingest(financing_event("DrawdownRequested", "64000.01"))
    assert journal_size(ledger) == size
    repaid = ledger.ingest(
        financing_event("RepaymentReceived", "1036.00", received_at="2026-01-11T00:00:00Z")
    )
    # Ten days at 3.6%/360 on 36,000 = 36.00 interest, then 1,000.00 principal.
    assert (repaid.interest_paid_minor, repaid.principal_minor) == (3_600, 3_500_000)
    kinds = [e.kind for e in ledger.entries() if e.metadata.get("facility_id") == "F-1"]
    assert kinds == ["drawdown"] + ["interest"] * 10 + ["repayment"]


def test_financing_event_on_an_unknown_facility(ledger: Ledger) -> None:
    with pytest.raises(FacilityNotFoundError):
        ledger.ingest(financing_event("RepaymentReceived", "1.00"))


def test_deferred_net_orders_go_to_clearing_with_the_order_fee(ledger: Ledger) -> None:
    """Clearing gets the order's fee terms and books the same fee escrow would charge."""
    obligations = ledger.ingest(order_placed(settlement_terms="deferred_net", release_plan=[]))
    owed = {(o.reference, o.payer, o.payee): o.amount for o in obligations}
    assert owed == {
        ("order:ORD-7", "lodz-gallery", "shu-brocade"): eur("1182.00"),
        ("order:ORD-7:fee", "lodz-gallery", "platform"): eur("18.00"),  # 1.5% of 1200.00
    }
    (unpaid,) = ledger.ingest(
        order_placed("ORD-8", settlement_terms="deferred_net", platform_fee_rate=None)
    )
    assert (unpaid.reference, unpaid.amount) == ("order:ORD-8", eur("1200.00"))
    fixed = ledger.ingest(
        order_placed(
            "ORD-9", settlement_terms="deferred_net", platform_fee_rate=None, platform_fee="5.00"
        )
    )
    assert {o.reference: o.amount for o in fixed}["order:ORD-9:fee"] == eur("5.00")
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


def test_a_batch_whose_last_event_fails_leaves_nothing(ledger: Ledger) -> None:
    """One unit of work for the whole batch: escrow orders and their accounts, clearing
    obligations, a drawdown and every journal entry go when the last event is refused."""
    open_buyer(ledger)
    ledger.financing.open_facility(
        "F-1", "shu-brocade", "platform", Money("1000.00", "CNY"), "0.05", "ACT/365F"
    )
    before = snapshot(ledger)
    accounts_before = ledger.accounts()
    batch = [
        *journey(),
        order_placed("ORD-8", shipment_id="X8002"),
        {"type": "EscrowFunded", "order_id": "ORD-8"},
        order_placed("ORD-9", settlement_terms="deferred_net", release_plan=[]),
        financing_event("DrawdownRequested", "600.00", requested_at="2026-01-01T00:00:00Z"),
        {"type": "OrderCancelled", "order_id": "ORD-404"},  # refused: no such order
    ]
    with pytest.raises(LedgerError) as caught:
        ingest_many(ledger, batch)
    assert caught.value.code == "ORDER_NOT_FOUND"
    assert caught.value.details["index"] == len(batch) - 1
    assert_unchanged(ledger, before)
    assert ledger.accounts() == accounts_before
    assert ledger.accounts("platform:escrow:") == []
    assert ledger.escrow.orders() == []
    assert all(not ledger.clearing.obligations(cycle.id) for cycle in ledger.clearing.cycles())
    assert ledger.financing.state("F-1").principal_minor == 0
    # The same batch without the refused event goes through, all of it.
    results = ingest_many(ledger, batch[:-1])
    assert len(results) == len(batch) - 1
    assert ledger.escrow.state("ORD-7").status == "completed"
    assert ledger.escrow.state("ORD-8").status == "funded"
    assert ledger.financing.state("F-1").principal_minor == 60_000


def test_financing_events_in_one_batch_are_all_or_none(ledger: Ledger) -> None:
    ledger.financing.open_facility(
        "F-1", "shu-brocade", "platform", Money("1000.00", "CNY"), "0.05", "ACT/365F"
    )
    at = {"requested_at": "2026-01-01T00:00:00Z"}
    events = [
        financing_event("DrawdownRequested", "600.00", **at),
        financing_event("DrawdownRequested", "500.00", **at),  # over the limit: whole batch out
    ]
    with pytest.raises(FacilityLimitExceededError) as caught:
        ingest_many(ledger, events)
    assert caught.value.details["index"] == 1
    assert ledger.financing.state("F-1").principal_minor == 0
    states = ingest_many(ledger, [events[0], {**events[1], "amount": "400.00"}])
    assert [s.principal_minor for s in states] == [60_000, 100_000]

"""The escrow book in a unit of work, its retries, and expiry in batches, on both backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest
from escrow_helpers import PLAN, T0, at, cash
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.adapters import ingest_many
from jiaolong_ledger.errors import (
    EscrowClosedError,
    EscrowDisputedError,
    OrderNotFoundError,
)
from jiaolong_ledger.escrow import Escrow, EscrowBook, EscrowState
from jiaolong_ledger.escrow import service as escrow_service


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def journal_size(ledger: Ledger) -> int:
    return sum(1 for _ in ledger.journal_lines())


def place(book: EscrowBook, order_id: str = "ORD-1", **overrides: Any) -> EscrowState:
    terms: dict[str, Any] = {
        "buyer": "lodz-gallery",
        "seller": "shu-brocade",
        "amount": eur("1000.00"),
        "incoterm": "FCA",
        "release_plan": PLAN,
        "fee_rate": "0.015",
        "shipment_id": "X8001",
        "at": at(0),
    }
    terms.update(overrides)
    return book.place(order_id, **terms)


# -- one book, two ways -------------------------------------------------------------------


def test_the_per_call_book_and_the_bound_book_are_one_class(market: Ledger) -> None:
    assert Escrow is EscrowBook
    assert isinstance(market.escrow, EscrowBook) and not market.escrow.bound
    with market.transaction() as tx:
        assert isinstance(tx.escrow, EscrowBook) and tx.escrow.bound
        assert tx.escrow is tx.escrow  # one book per unit of work
    with market.escrow.transaction() as book:
        assert book.bound
        with book.transaction() as same:
            assert same is book


def test_a_unit_of_work_keeps_nothing_when_its_last_step_fails(market: Ledger) -> None:
    size = journal_size(market)
    buyer_before = market.balance(cash("lodz-gallery", "EUR")).posted
    with pytest.raises(EscrowDisputedError), market.transaction() as tx:
        place(tx.escrow, "ORD-1")
        place(tx.escrow, "ORD-2", buyer="duisburg-prints", seller="chongqing-lacquer")
        tx.escrow.fund("ORD-1", at=at(1))
        tx.escrow.fund("ORD-2", at=at(1))
        released = tx.escrow.milestone("departed", shipment_id="X8001", at=at(24))
        assert [state.released for state in released] == [eur("300.00"), eur("300.00")]
        tx.post(
            Entry(
                key="test/unit/fee-rebate",
                postings=[
                    debit("platform:fees:EUR", eur("1.00")),
                    credit(cash("lodz-gallery", "EUR"), eur("1.00")),
                ],
            )
        )
        tx.escrow.open_dispute("ORD-1", dispute_id="D-1", at=at(30))
        # The bound book reads the unit's own, uncommitted writes.
        assert tx.escrow.state("ORD-1").disputed
        assert [s.order_id for s in tx.escrow.orders(status="funded")] == ["ORD-1", "ORD-2"]
        assert tx.balance("platform:escrow:ord-2").posted == eur("700.00")
        tx.escrow.cancel("ORD-2", at=at(31))
        tx.escrow.cancel("ORD-1", at=at(32))  # disputed: refused, and the whole unit with it
    assert journal_size(market) == size
    assert market.escrow.orders() == []
    with pytest.raises(OrderNotFoundError):
        market.escrow.state("ORD-1")
    assert market.accounts("platform:escrow:") == []
    assert market.balance(cash("lodz-gallery", "EUR")).posted == buyer_before


def test_a_unit_of_work_commits_every_step_together(market: Ledger) -> None:
    with market.transaction() as tx:
        place(tx.escrow, "ORD-1")
        tx.escrow.fund("ORD-1", at=at(1))
        tx.escrow.milestone("departed", order_id="ORD-1", at=at(24))
        tx.escrow.cancel("ORD-1", "buyer withdrew", at=at(30))
    state = market.escrow.state("ORD-1")
    assert (state.status, state.released, state.refunded) == (
        "cancelled",
        eur("300.00"),
        eur("700.00"),
    )
    assert market.account("platform:escrow:ord-1").status == "closed"
    assert market.verify().ok


# -- retries of disputes ------------------------------------------------------------------


def disputed_order(ledger: Ledger, dispute_id: str | None = "D-1") -> None:
    place(ledger.escrow)
    ledger.escrow.fund("ORD-1", at=at(1))
    ledger.escrow.milestone("departed", shipment_id="X8001", at=at(24))
    ledger.escrow.open_dispute("ORD-1", dispute_id=dispute_id, reason="damaged", at=at(30))


@pytest.mark.parametrize("dispute_id", ["D-1", None])
def test_opening_the_same_dispute_again_after_its_resolution_is_a_no_op(
    market: Ledger, dispute_id: str | None
) -> None:
    disputed_order(market, dispute_id)
    resolved = market.escrow.resolve_dispute("ORD-1", "refund", at=at(40))
    size = journal_size(market)
    again = market.escrow.open_dispute("ORD-1", dispute_id=dispute_id, reason="damaged")
    assert again == resolved
    assert journal_size(market) == size
    other = "D-2" if dispute_id is not None else "D-1"
    with pytest.raises(EscrowClosedError):
        market.escrow.open_dispute("ORD-1", dispute_id=other)


def test_a_dispute_on_an_order_closed_without_one_is_refused(market: Ledger) -> None:
    place(market.escrow)
    market.escrow.cancel("ORD-1")
    with pytest.raises(EscrowClosedError):
        market.escrow.open_dispute("ORD-1")
    with pytest.raises(EscrowClosedError):
        market.escrow.open_dispute("ORD-1", dispute_id="D-1")


def test_the_recorded_resolution_again_is_a_no_op(market: Ledger) -> None:
    disputed_order(market)
    split = eur("400.00")
    resolved = market.escrow.resolve_dispute(
        "ORD-1", "split", seller_amount=split, dispute_id="D-1", at=at(40)
    )
    assert (resolved.released, resolved.refunded) == (eur("700.00"), eur("300.00"))
    size = journal_size(market)
    for dispute_id in ("D-1", None):
        again = market.escrow.resolve_dispute(
            "ORD-1", "split", seller_amount=split, dispute_id=dispute_id, at=at(50)
        )
        assert again == resolved
    assert journal_size(market) == size


@pytest.mark.parametrize(
    ("outcome", "seller_amount", "dispute_id"),
    [
        ("split", "400.01", "D-1"),  # another split
        ("release", None, "D-1"),  # another outcome
        ("refund", None, None),
        ("split", "400.00", "D-2"),  # another dispute
    ],
)
def test_a_different_resolution_of_a_resolved_order_is_escrow_closed(
    market: Ledger, outcome: str, seller_amount: str | None, dispute_id: str | None
) -> None:
    disputed_order(market)
    resolved = market.escrow.resolve_dispute(
        "ORD-1", "split", seller_amount=eur("400.00"), dispute_id="D-1", at=at(40)
    )
    size = journal_size(market)
    amount = eur(seller_amount) if seller_amount is not None else None
    with pytest.raises(EscrowClosedError) as caught:
        market.escrow.resolve_dispute("ORD-1", outcome, seller_amount=amount, dispute_id=dispute_id)
    details = caught.value.details
    assert details["order_id"] == "ORD-1"
    assert details["recorded"] == {
        "outcome": "split",
        "dispute_id": "D-1",
        "seller_amount": "400.00",
        "currency": "EUR",
    }
    assert details["asked"]["outcome"] == outcome
    assert journal_size(market) == size
    assert market.escrow.state("ORD-1") == resolved


EVENTS: list[dict[str, Any]] = [
    {
        "type": "OrderPlaced",
        "order_id": "ORD-R",
        "buyer": "lodz-gallery",
        "seller": "shu-brocade",
        "amount": "1000.00",
        "currency": "EUR",
        "incoterm": "DAP",
        "shipment_id": "X8200",
        "release_plan": PLAN,
        "platform_fee_rate": "0.015",
        "placed_at": "2026-11-20T08:00:00Z",
    },
    {"type": "EscrowFunded", "order_id": "ORD-R", "funded_at": "2026-11-20T09:00:00Z"},
    {
        "type": "MilestoneReached",
        "shipment_id": "X8200",
        "milestone": "departed",
        "reached_at": "2026-11-21T08:00:00Z",
    },
    {
        "type": "DisputeOpened",
        "order_id": "ORD-R",
        "dispute_id": "D-7",
        "reason": "damaged lacquer",
        "opened_at": "2026-11-22T08:00:00Z",
    },
    {
        "type": "MilestoneReached",
        "shipment_id": "X8200",
        "milestone": "delivered",
        "reached_at": "2026-11-23T08:00:00Z",
    },
    {
        "type": "DisputeResolved",
        "order_id": "ORD-R",
        "dispute_id": "D-7",
        "outcome": "split",
        "seller_amount": "250.00",
        "resolved_at": "2026-11-24T08:00:00Z",
    },
]
"""An event file: an order placed, funded, disputed while its train rolls on, and split."""


@pytest.mark.parametrize("cut", [2, 4, 6])
def test_an_interrupted_event_file_run_again_completes(market: Ledger, cut: int) -> None:
    ingest_many(market, EVENTS[:cut])  # the run stopped after ``cut`` events were kept
    ingest_many(market, EVENTS)  # the file again, from the top: what was kept is a retry
    state = market.escrow.state("ORD-R")
    assert (state.status, state.dispute_id, state.dispute_outcome) == ("resolved", "D-7", "split")
    assert (state.released, state.refunded) == (eur("550.00"), eur("450.00"))
    assert state.milestones_seen == ("departed", "delivered")
    size = journal_size(market)
    for event in EVENTS:  # and once more, one event per transaction
        market.ingest(event)
    assert market.escrow.state("ORD-R") == state
    assert journal_size(market) == size
    keys = [e.key for e in market.entries() if e.kind.startswith("escrow_")]
    assert sorted(keys) == [
        "escrow/ORD-R/fund",
        "escrow/ORD-R/refund",
        "escrow/ORD-R/release/departed",
        "escrow/ORD-R/release/dispute",
    ]
    assert market.verify().ok


# -- deadlines in batches -----------------------------------------------------------------


def count_units(book: EscrowBook, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record every unit of work the per-call book opens."""
    opened: list[object] = []
    unit_for: Callable[[type[Any]], AbstractContextManager[Any]] = book.scope.unit_for

    def counting(book_type: type[Any]) -> AbstractContextManager[Any]:
        opened.append(book_type)
        return unit_for(book_type)

    monkeypatch.setattr(book.scope, "unit_for", counting)
    return opened


@pytest.fixture
def five_due(market: Ledger, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    monkeypatch.setattr(escrow_service, "EXPIRE_BATCH_MAX", 2)
    for number in range(1, 6):
        place(market.escrow, f"ORD-{number}", funding_deadline=T0 + timedelta(hours=number))
    yield market


def test_expire_due_per_call_runs_one_transaction_per_batch(
    five_due: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = count_units(five_due.escrow, monkeypatch)
    expired = five_due.escrow.expire_due(at(10))
    assert [s.order_id for s in expired] == [f"ORD-{n}" for n in range(1, 6)]
    assert all(s.status == "expired" for s in expired)
    assert len(opened) == 3  # 2 + 2 + 1
    assert five_due.escrow.expire_due(at(10)) == []


def test_expire_due_in_a_unit_of_work_expires_everything_due_in_it(five_due: Ledger) -> None:
    with pytest.raises(OrderNotFoundError), five_due.transaction() as tx:
        assert len(tx.escrow.expire_due(at(3))) == 3
        assert len(tx.escrow.expire_due(at(10))) == 2
        tx.escrow.fund("ORD-404")
    assert five_due.escrow.orders(status="expired") == []
    with five_due.transaction() as tx:
        expired = tx.escrow.expire_due(at(10))
    assert len(expired) == 5
    assert [s.order_id for s in five_due.escrow.orders(status="expired")] == [
        f"ORD-{n}" for n in range(1, 6)
    ]

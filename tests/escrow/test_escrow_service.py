"""Escrow behaviour through ``ledger.escrow`` on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from escrow_helpers import PLAN, at, cash
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.errors import (
    AccountExistsError,
    ConstraintViolatedError,
    CurrencyMismatchError,
    EscrowClosedError,
    EscrowDisputedError,
    IdempotencyConflictError,
    InvalidInputError,
    LedgerError,
    OrderNotFoundError,
    ReleasePlanInvalidError,
    ShipmentNotFoundError,
)
from jiaolong_ledger.escrow import EscrowState

EUR = "EUR"


def eur(amount: str) -> Money:
    return Money(amount, EUR)


def place(ledger: Ledger, order_id: str = "ORD-1", **overrides: Any) -> EscrowState:
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
    return ledger.escrow.place(order_id, **terms)


def posted(ledger: Ledger, code: str) -> Money:
    return ledger.balance(code).posted


def journal_size(ledger: Ledger) -> int:
    return sum(1 for _ in ledger.journal_lines())


def test_place_opens_the_escrow_account_and_moves_no_money(market: Ledger) -> None:
    state = place(market)
    assert state.status == "placed"
    assert state.escrow_account == "platform:escrow:ord-1"
    account = market.account("platform:escrow:ord-1")
    assert (account.kind, account.constraint) == ("liability", "debits_must_not_exceed_credits")
    assert state.fee == eur("15.00")
    assert [item.amount_minor for item in state.plan] == [30_000, 60_000, 10_000]
    assert posted(market, cash("lodz-gallery", EUR)) == eur("1000000.00")


def test_order_walks_from_funding_to_delivery(market: Ledger) -> None:
    place(market)
    funded = market.escrow.fund("ORD-1", at=at(1))
    assert funded.status == "funded" and funded.remaining == eur("1000.00")
    assert posted(market, cash("lodz-gallery", EUR)) == eur("999000.00")

    market.escrow.milestone("departed", shipment_id="X8001", at=at(24), location="Chengdu")
    entry = market.entry("escrow/ORD-1/release/departed")
    assert entry.kind == "escrow_release"
    legs = {(p.account, p.side): p.amount for p in entry.postings}
    # The fee rides in the same entry as the release.
    assert legs == {
        ("platform:escrow:ord-1", "debit"): eur("300.00"),
        ("participant:shu-brocade:cash:EUR", "credit"): eur("295.50"),
        ("platform:fees:EUR", "credit"): eur("4.50"),
    }
    assert entry.effective_at == at(24)
    assert entry.metadata["location"] == "Chengdu"

    market.escrow.milestone("customs_cleared", shipment_id="X8001", at=at(240))
    done = market.escrow.milestone("delivered", order_id="ORD-1", at=at(300))[0]
    assert done.status == "completed"
    assert (done.funded, done.released, done.refunded, done.remaining) == (
        eur("1000.00"),
        eur("1000.00"),
        eur("0.00"),
        eur("0.00"),
    )
    assert done.fee_charged == eur("15.00")
    assert posted(market, cash("shu-brocade", EUR)) == eur("985.00")
    assert posted(market, "platform:fees:EUR") == eur("15.00")
    assert market.account("platform:escrow:ord-1").status == "closed"
    assert done.milestones_seen == ("departed", "customs_cleared", "delivered")
    assert market.trial_balance().is_balanced()
    assert market.verify().ok


def test_duplicate_milestone_does_nothing_the_second_time(market: Ledger) -> None:
    place(market)
    market.escrow.fund("ORD-1", at=at(1))
    first = market.escrow.milestone("departed", shipment_id="X8001", at=at(24))[0]
    size = journal_size(market)
    again = market.escrow.milestone("departed", shipment_id="X8001", at=at(30), location="x")[0]
    assert again == first
    assert journal_size(market) == size
    assert posted(market, cash("shu-brocade", EUR)) == eur("295.50")


def test_later_milestone_first_releases_both_shares_in_plan_order(market: Ledger) -> None:
    place(market)
    market.escrow.fund("ORD-1", at=at(1))
    state = market.escrow.milestone("customs_cleared", shipment_id="X8001", at=at(240))[0]
    assert [item.released for item in state.plan] == [True, True, False]
    first = market.entry("escrow/ORD-1/release/departed")
    second = market.entry("escrow/ORD-1/release/customs_cleared")
    assert first.seq < second.seq
    assert state.remaining == eur("100.00")
    # The earlier milestone arriving late is now a no-op for money, but it is recorded.
    size = journal_size(market)
    late = market.escrow.milestone("departed", shipment_id="X8001", at=at(250))[0]
    assert journal_size(market) == size
    assert set(late.milestones_seen) == {"departed", "customs_cleared"}


def test_milestone_not_in_the_plan_is_recorded_only(market: Ledger) -> None:
    place(market)
    market.escrow.fund("ORD-1", at=at(1))
    state = market.escrow.milestone("border_crossed", shipment_id="X8001", location="Khorgos")[0]
    assert state.released == eur("0.00")
    assert state.milestones_seen == ("border_crossed",)


def test_unknown_shipment_or_order_is_shipment_not_found(market: Ledger) -> None:
    place(market)
    size = journal_size(market)
    with pytest.raises(ShipmentNotFoundError):
        market.escrow.milestone("departed", shipment_id="NOPE")
    with pytest.raises(ShipmentNotFoundError):
        market.escrow.milestone("departed", order_id="ORD-404")
    with pytest.raises(ShipmentNotFoundError):
        market.escrow.milestone("departed", order_id="ORD-1", shipment_id="OTHER")
    with pytest.raises(OrderNotFoundError):
        market.escrow.fund("ORD-404")
    assert journal_size(market) == size


def test_one_shipment_releases_every_order_on_it(market: Ledger) -> None:
    place(market, "ORD-1")
    place(market, "ORD-2", buyer="duisburg-prints", seller="chongqing-lacquer")
    place(market, "ORD-3", shipment_id="X9999")
    for order_id in ("ORD-1", "ORD-2", "ORD-3"):
        market.escrow.fund(order_id, at=at(1))
    states = market.escrow.milestone("departed", shipment_id="X8001", at=at(24))
    assert [s.order_id for s in states] == ["ORD-1", "ORD-2"]
    assert all(s.released == eur("300.00") for s in states)
    assert market.escrow.state("ORD-3").released == eur("0.00")


def test_milestones_before_funding_release_when_funded(market: Ledger) -> None:
    place(market)
    market.escrow.milestone("departed", shipment_id="X8001", at=at(24))
    assert market.escrow.state("ORD-1").released == eur("0.00")
    state = market.escrow.fund("ORD-1", at=at(25))
    assert state.released == eur("300.00")
    assert market.entry("escrow/ORD-1/release/departed").effective_at == at(25)


def test_funding_respects_the_buyers_cash_and_writes_nothing_when_short(market: Ledger) -> None:
    place(market, amount=eur("2000000.00"))
    size = journal_size(market)
    with pytest.raises(ConstraintViolatedError) as caught:
        market.escrow.fund("ORD-1")
    assert caught.value.details["account"] == cash("lodz-gallery", EUR)
    assert journal_size(market) == size
    assert market.escrow.state("ORD-1").status == "placed"


def test_funding_twice_is_a_no_op_and_the_amount_must_match(market: Ledger) -> None:
    place(market)
    market.escrow.fund("ORD-1", eur("1000.00"), at=at(1))
    size = journal_size(market)
    assert market.escrow.fund("ORD-1", eur("1000.00"), at=at(2)).funded == eur("1000.00")
    assert journal_size(market) == size
    with pytest.raises(InvalidInputError):
        market.escrow.fund("ORD-1", eur("999.99"))
    with pytest.raises(CurrencyMismatchError):
        market.escrow.fund("ORD-1", Money("1000.00", "KWD"))
    assert posted(market, cash("lodz-gallery", EUR)) == eur("999000.00")


def test_placing_again_is_idempotent_but_different_terms_conflict(market: Ledger) -> None:
    first = place(market)
    assert place(market) == first
    with pytest.raises(IdempotencyConflictError):
        place(market, amount=eur("1000.01"))
    with pytest.raises(AccountExistsError):
        place(market, "ord-1")  # the same escrow account, ids compared without case


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"release_plan": [{"milestone": "departed", "share": "99.99"}]}, ReleasePlanInvalidError),
        ({"release_plan": []}, ReleasePlanInvalidError),
        ({"incoterm": "FOB"}, InvalidInputError),
        ({"seller": "lodz-gallery"}, InvalidInputError),
        ({"buyer": "lodz:gallery"}, InvalidInputError),
        ({"shipment_id": "X 8001"}, InvalidInputError),
        ({"fee_rate": None, "fee": eur("1000.01")}, InvalidInputError),
    ],
)
def test_invalid_orders_are_refused_and_write_nothing(
    market: Ledger, overrides: dict[str, Any], error: type[LedgerError]
) -> None:
    size = journal_size(market)
    with pytest.raises(error):
        place(market, **overrides)
    assert journal_size(market) == size
    with pytest.raises(OrderNotFoundError):
        market.escrow.state("ORD-1")


def test_cancel_refunds_the_unreleased_remainder(market: Ledger) -> None:
    place(market)
    market.escrow.fund("ORD-1", at=at(1))
    market.escrow.milestone("departed", shipment_id="X8001", at=at(24))
    state = market.escrow.cancel("ORD-1", "buyer withdrew", at=at(30))
    assert state.status == "cancelled"
    assert state.refunded == eur("700.00")
    assert state.released == eur("300.00")
    assert state.remaining == eur("0.00")
    refund = market.entry("escrow/ORD-1/refund")
    assert refund.kind == "escrow_refund"
    assert posted(market, cash("lodz-gallery", EUR)) == eur("999700.00")
    # Cancelling again is a no-op; milestones after cancellation move nothing.
    assert market.escrow.cancel("ORD-1") == state
    after = market.escrow.milestone("delivered", shipment_id="X8001")[0]
    assert after.released == eur("300.00") and after.status == "cancelled"
    # A replayed funding event is a duplicate of the funding already applied: no effect.
    assert market.escrow.fund("ORD-1").refunded == eur("700.00")
    assert posted(market, cash("lodz-gallery", EUR)) == eur("999700.00")


def test_cancel_before_funding_moves_nothing(market: Ledger) -> None:
    place(market)
    state = market.escrow.cancel("ORD-1")
    assert (state.status, state.refunded) == ("cancelled", eur("0.00"))
    with pytest.raises(EscrowClosedError):
        market.escrow.fund("ORD-1")


def test_completed_order_cannot_be_cancelled(market: Ledger) -> None:
    place(market, release_plan=[{"milestone": "departed", "share": "100"}])
    market.escrow.fund("ORD-1")
    market.escrow.milestone("departed", order_id="ORD-1")
    with pytest.raises(EscrowClosedError):
        market.escrow.cancel("ORD-1")


def test_dispute_freezes_releases_until_resolved(market: Ledger) -> None:
    place(market)
    market.escrow.fund("ORD-1", at=at(1))
    market.escrow.milestone("departed", shipment_id="X8001", at=at(24))
    disputed = market.escrow.open_dispute("ORD-1", dispute_id="D-1", reason="damaged lacquer")
    assert disputed.disputed
    held = market.escrow.milestone("customs_cleared", shipment_id="X8001", at=at(240))[0]
    assert held.released == eur("300.00")
    assert "customs_cleared" in held.milestones_seen
    with pytest.raises(EscrowDisputedError):
        market.escrow.cancel("ORD-1")
    with pytest.raises(EscrowDisputedError):
        market.escrow.open_dispute("ORD-1", dispute_id="D-2")
    assert market.escrow.open_dispute("ORD-1", dispute_id="D-1").disputed  # replay: no-op
    resolved = market.escrow.resolve_dispute("ORD-1", "release", dispute_id="D-1", at=at(250))
    assert resolved.status == "resolved" and not resolved.disputed
    assert resolved.released == eur("1000.00")
    assert resolved.fee_charged == eur("15.00")
    assert posted(market, cash("shu-brocade", EUR)) == eur("985.00")
    assert market.escrow.resolve_dispute("ORD-1", "release") == resolved  # replay: no-op


def test_dispute_resolved_by_refund(market: Ledger) -> None:
    place(market)
    market.escrow.fund("ORD-1", at=at(1))
    market.escrow.milestone("departed", shipment_id="X8001", at=at(24))
    market.escrow.open_dispute("ORD-1")
    state = market.escrow.resolve_dispute("ORD-1", "refund")
    assert (state.released, state.refunded) == (eur("300.00"), eur("700.00"))
    assert state.fee_charged == eur("4.50")  # no fee on what went back to the buyer
    assert posted(market, cash("lodz-gallery", EUR)) == eur("999700.00")


def test_dispute_resolved_by_split(market: Ledger) -> None:
    place(market)
    market.escrow.fund("ORD-1", at=at(1))
    market.escrow.open_dispute("ORD-1")
    with pytest.raises(InvalidInputError):
        market.escrow.resolve_dispute("ORD-1", "split", seller_amount=eur("1000.01"))
    state = market.escrow.resolve_dispute("ORD-1", "split", seller_amount=eur("400.00"))
    assert (state.released, state.refunded, state.remaining) == (
        eur("400.00"),
        eur("600.00"),
        eur("0.00"),
    )
    assert state.fee_charged == eur("6.00")
    release = market.entry("escrow/ORD-1/release/dispute")
    legs = {(p.account, p.side): p.amount for p in release.postings}
    assert legs[("participant:shu-brocade:cash:EUR", "credit")] == eur("394.00")
    assert market.trial_balance().is_balanced()


def test_resolving_without_an_open_dispute_is_refused(market: Ledger) -> None:
    place(market)
    with pytest.raises(InvalidInputError):
        market.escrow.resolve_dispute("ORD-1", "refund")


def test_expire_due_closes_unfunded_orders_past_their_funding_deadline(market: Ledger) -> None:
    place(market, "ORD-1", funding_deadline=at(48))
    place(market, "ORD-2", funding_deadline=at(48))
    place(market, "ORD-3", funding_deadline=at(96))
    market.escrow.fund("ORD-2", at=at(2))
    assert market.escrow.expire_due(at(47)) == []
    expired = market.escrow.expire_due(at(48))
    assert [s.order_id for s in expired] == ["ORD-1"]
    assert expired[0].status == "expired" and expired[0].refunded == eur("0.00")
    with pytest.raises(EscrowClosedError):
        market.escrow.fund("ORD-1")
    assert market.escrow.state("ORD-2").status == "funded"
    assert market.escrow.state("ORD-3").status == "placed"


def test_expire_due_refunds_the_remainder_past_the_release_deadline(market: Ledger) -> None:
    place(market, "ORD-1", release_deadline=at(500))
    place(market, "ORD-2", release_deadline=at(500))
    for order_id in ("ORD-1", "ORD-2"):
        market.escrow.fund(order_id, at=at(1))
    market.escrow.milestone("departed", shipment_id="X8001", at=at(24))
    market.escrow.open_dispute("ORD-2")
    expired = market.escrow.expire_due(at(600))
    assert [s.order_id for s in expired] == ["ORD-1"]  # the disputed order waits
    assert (expired[0].refunded, expired[0].released) == (eur("700.00"), eur("300.00"))
    assert market.entry("escrow/ORD-1/refund").effective_at == at(600)
    assert market.escrow.expire_due(at(700)) == []


def test_orders_query_filters_by_status_and_shipment(market: Ledger) -> None:
    place(market, "ORD-1")
    place(market, "ORD-2", shipment_id="X9999")
    market.escrow.fund("ORD-2")
    assert [s.order_id for s in market.escrow.orders()] == ["ORD-1", "ORD-2"]
    assert [s.order_id for s in market.escrow.orders(status="funded")] == ["ORD-2"]
    assert [s.order_id for s in market.escrow.orders(shipment_id="X8001")] == ["ORD-1"]


def test_several_operations_in_one_transaction(market: Ledger) -> None:
    with market.escrow.transaction() as book:
        book.place(
            "ORD-1",
            buyer="lodz-gallery",
            seller="shu-brocade",
            amount=Money("1001", "JPY"),
            incoterm="DAP",
            release_plan=PLAN,
        )
        book.fund("ORD-1")
        book.milestone("delivered", order_id="ORD-1")
    state = market.escrow.state("ORD-1")
    assert state.status == "completed"
    assert [item.amount_minor for item in state.plan] == [300, 600, 101]
    assert posted(market, cash("shu-brocade", "JPY")) == Money("1001", "JPY")


def test_a_failure_inside_a_batch_rolls_back_the_whole_batch(market: Ledger) -> None:
    size = journal_size(market)
    with pytest.raises(ShipmentNotFoundError), market.escrow.transaction() as book:
        book.place(
            "ORD-1",
            buyer="lodz-gallery",
            seller="shu-brocade",
            amount=eur("10.00"),
            incoterm="DAP",
            release_plan=PLAN,
        )
        book.fund("ORD-1")
        book.milestone("delivered", shipment_id="NOPE")
    assert journal_size(market) == size
    with pytest.raises(OrderNotFoundError):
        market.escrow.state("ORD-1")

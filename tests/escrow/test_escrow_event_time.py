"""The event-time rule of shipment milestones, on SQLite and PostgreSQL.

A shipment milestone reached at T applies to the orders on that shipment placed at or before T
(``placed_at <= reached_at``); an order placed after T is not released by it and does not see
it, so the orders a milestone reaches do not depend on when its event arrives or how often it
is replayed. A milestone naming an ``order_id`` applies to that order whenever it was placed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from escrow_helpers import (
    FIXED_NOW,
    PLAN,
    at,
    entries_by_key,
    full_state,
    funded,
    order_placed,
    reached,
)
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.adapters import ingest_many, parse_event
from jiaolong_ledger.errors import EscrowDisputedError, ShipmentNotFoundError
from jiaolong_ledger.escrow import EscrowState
from jiaolong_ledger.testing import assert_unchanged, snapshot
from jiaolong_ledger.testing.escrow_model import EscrowModel


def place(ledger: Ledger, order_id: str, hours: float, **overrides: Any) -> EscrowState:
    terms: dict[str, Any] = {
        "buyer": "lodz-gallery",
        "seller": "shu-brocade",
        "amount": Money("1000.00", "EUR"),
        "incoterm": "FCA",
        "release_plan": PLAN,
        "fee_rate": "0.015",
        "shipment_id": "X1",
        "at": at(hours),
    }
    terms.update(overrides)
    return ledger.escrow.place(order_id, **terms)


def placed_and_funded(ledger: Ledger, order_id: str, hours: float, **terms: Any) -> None:
    place(ledger, order_id, hours, **terms)
    ledger.escrow.fund(order_id, at=at(hours + 1))


def released(ledger: Ledger, order_id: str) -> list[str]:
    return [item.milestone for item in ledger.escrow.state(order_id).plan if item.released]


# -- the rule --------------------------------------------------------------------------------


def test_a_shipment_milestone_reaches_only_orders_placed_by_its_time(market: Ledger) -> None:
    placed_and_funded(market, "A", 0)
    placed_and_funded(market, "B", 30)  # after the train departed (hour 24)
    reached = market.escrow.milestone("departed", shipment_id="X1", at=at(24))
    assert [state.order_id for state in reached] == ["A"]
    assert released(market, "A") == ["departed"]
    assert released(market, "B") == []
    b = market.escrow.state("B")
    assert b.milestones_seen == ()
    assert (b.status, b.released_minor, b.remaining_minor) == ("funded", 0, 100_000)
    # A later milestone still releases, in plan order, every unreleased share up to it.
    market.escrow.milestone("customs_cleared", shipment_id="X1", at=at(240))
    assert released(market, "B") == ["departed", "customs_cleared"]
    assert market.escrow.state("B").milestones_seen == ("customs_cleared",)
    market.escrow.milestone("delivered", shipment_id="X1", at=at(300))
    assert {market.escrow.state(o).status for o in "AB"} == {"completed"}


def test_an_order_placed_at_the_milestone_time_is_reached(market: Ledger) -> None:
    placed_and_funded(market, "A", 24)
    (state,) = market.escrow.milestone("departed", shipment_id="X1", at=at(24))
    assert state.order_id == "A"
    assert released(market, "A") == ["departed"]
    assert state.plan[0].released_at == at(25)  # not before the funding it releases


def test_a_known_shipment_with_no_order_placed_by_then_takes_the_milestone_quietly(
    market: Ledger,
) -> None:
    placed_and_funded(market, "B", 30)
    before = snapshot(market)
    assert market.escrow.milestone("departed", shipment_id="X1", at=at(24)) == []
    assert_unchanged(market, before)
    assert market.escrow.state("B").milestones_seen == ()


def test_an_unknown_shipment_is_still_shipment_not_found(market: Ledger) -> None:
    placed_and_funded(market, "B", 30)
    before = snapshot(market)
    with pytest.raises(ShipmentNotFoundError) as caught:
        market.escrow.milestone("departed", shipment_id="X2", at=at(24))
    assert caught.value.code == "SHIPMENT_NOT_FOUND"
    assert caught.value.details["shipment_id"] == "X2"
    assert_unchanged(market, before)


def test_a_milestone_naming_an_order_applies_whenever_the_order_was_placed(
    market: Ledger,
) -> None:
    placed_and_funded(market, "B", 30)
    (state,) = market.escrow.milestone("departed", order_id="B", at=at(24))
    assert released(market, "B") == ["departed"]
    assert state.milestones_seen == ("departed",)
    assert state.plan[0].released_at == at(31)  # the order's latest movement, its funding
    (named,) = market.escrow.milestone("customs_cleared", order_id="B", shipment_id="X1", at=at(1))
    assert [item.released for item in named.plan] == [True, True, False]


def test_a_milestone_without_a_time_reaches_every_order_placed_so_far(
    fixed_ledgers: Callable[[], Ledger],
) -> None:
    ledger = fixed_ledgers()  # now: FIXED_NOW, after both placements
    placed_and_funded(ledger, "A", 0)
    placed_and_funded(ledger, "B", 30)
    reached = ledger.escrow.milestone("departed", shipment_id="X1")
    assert [state.order_id for state in reached] == ["A", "B"]
    assert ledger.escrow.state("B").milestones[0].reached_at == FIXED_NOW


def test_unfunded_orders_keep_only_the_milestones_that_reached_them(market: Ledger) -> None:
    place(market, "A", 0)
    place(market, "B", 30)
    market.escrow.milestone("departed", shipment_id="X1", at=at(24))
    market.escrow.fund("A", at=at(40))
    market.escrow.fund("B", at=at(40))
    assert released(market, "A") == ["departed"]
    assert released(market, "B") == []


# -- duplicates, disputes, deadlines ---------------------------------------------------------


def test_duplicates_and_a_later_report_of_the_same_milestone(market: Ledger) -> None:
    placed_and_funded(market, "A", 0)
    placed_and_funded(market, "B", 30)
    market.escrow.milestone("departed", shipment_id="X1", at=at(24), location="Chengdu")
    before = snapshot(market)
    market.escrow.milestone("departed", shipment_id="X1", at=at(24), location="Chengdu")
    assert_unchanged(market, before)
    # Reported again with a later time: the shipment's first report wins, so it still applies
    # to A only (placed by hour 24) and changes nothing; B, placed after it, is not reached.
    reached = market.escrow.milestone("departed", shipment_id="X1", at=at(36), location="Dostyk")
    assert [state.order_id for state in reached] == ["A"]
    assert_unchanged(market, before)
    assert released(market, "B") == []
    (seen_by_a,) = market.escrow.state("A").milestones
    assert (seen_by_a.reached_at, seen_by_a.location) == (at(24), "Chengdu")
    (release_a,) = [item for item in market.escrow.state("A").plan if item.released]
    assert release_a.released_at == at(24)


def test_disputed_orders_record_only_the_milestones_that_reach_them(market: Ledger) -> None:
    placed_and_funded(market, "A", 0)
    placed_and_funded(market, "B", 30)
    market.escrow.open_dispute("A", dispute_id="D-A", at=at(20))
    market.escrow.open_dispute("B", dispute_id="D-B", at=at(31))
    market.escrow.milestone("departed", shipment_id="X1", at=at(24))
    a, b = market.escrow.state("A"), market.escrow.state("B")
    assert (a.milestones_seen, a.released_minor) == (("departed",), 0)
    assert (b.milestones_seen, b.released_minor) == ((), 0)
    with pytest.raises(EscrowDisputedError):
        market.escrow.cancel("B")
    market.escrow.resolve_dispute("B", "release", dispute_id="D-B", at=at(50))
    assert market.escrow.state("B").status == "resolved"


def test_the_release_deadline_refunds_what_no_milestone_reached(market: Ledger) -> None:
    placed_and_funded(market, "A", 0, release_deadline=at(100))
    placed_and_funded(market, "B", 30, release_deadline=at(100))
    market.escrow.milestone("departed", shipment_id="X1", at=at(24))
    expired = {state.order_id: state for state in market.escrow.expire_due(at(100))}
    assert (expired["A"].released_minor, expired["A"].refunded_minor) == (30_000, 70_000)
    assert (expired["B"].released_minor, expired["B"].refunded_minor) == (0, 100_000)


# -- through events: replays and arrival order -----------------------------------------------


REPLAYED = [
    order_placed("A", "2026-11-20T09:00:00Z"),
    funded("A", "2026-11-20T10:00:00Z"),
    reached("departed", "2026-11-21T00:00:00Z"),
    order_placed("B", "2026-11-22T09:00:00Z"),  # on the shipment after it departed
    funded("B", "2026-11-22T10:00:00Z"),
    reached("delivered", "2026-12-06T15:00:00Z"),
]
"""The replay scenario of tests/adapters/test_events_replay.py, with the later order placed
after the milestone (its time, not only its line, is later)."""


def test_a_file_replayed_whole_changes_nothing(fixed_ledgers: Callable[[], Ledger]) -> None:
    ledger = fixed_ledgers()
    ingest_many(ledger, REPLAYED[:5])
    before = snapshot(ledger)
    ingest_many(ledger, REPLAYED[:5])
    assert_unchanged(ledger, before)
    assert released(ledger, "A") == ["departed"]
    assert released(ledger, "B") == []


@pytest.mark.parametrize("cut", range(1, len(REPLAYED)))
def test_a_file_cut_short_then_run_whole_ends_as_one_clean_run(
    fixed_ledgers: Callable[[], Ledger], cut: int
) -> None:
    clean, interrupted = fixed_ledgers(), fixed_ledgers()
    ingest_many(clean, REPLAYED)
    for event in REPLAYED[:cut]:
        interrupted.ingest(event)
    ingest_many(interrupted, REPLAYED)
    assert full_state(interrupted) == full_state(clean)
    assert {order["status"] for order in full_state(clean)[1]} == {"completed"}


ARRIVALS = {
    "in-time-order": REPLAYED[:5],
    "milestone-late": [*REPLAYED[:2], *REPLAYED[3:5], REPLAYED[2]],
    "funding-after-the-milestone": [*REPLAYED[:2], REPLAYED[3], REPLAYED[2], REPLAYED[4]],
}


def test_the_arrival_order_does_not_change_what_a_milestone_reaches(
    fixed_ledgers: Callable[[], Ledger],
) -> None:
    outcomes = []
    for events in ARRIVALS.values():
        ledger = fixed_ledgers()
        ingest_many(ledger, events)
        outcomes.append(([o.to_dict() for o in ledger.escrow.orders()], entries_by_key(ledger)))
        assert released(ledger, "A") == ["departed"]
        assert released(ledger, "B") == []
    assert len(outcomes[0][1]) == 3  # both fundings, A's departed share
    assert all(outcome == outcomes[0] for outcome in outcomes[1:])


def model_outcomes(events: Sequence[dict[str, Any]]) -> dict[str, tuple[str, int, int]]:
    model = EscrowModel()
    for event in events:
        assert model.apply(parse_event(event)) is None
    return {
        order.order_id: (order.status, order.released_minor, order.refunded_minor)
        for order in model.orders.values()
    }


@pytest.mark.parametrize("arrival", [*ARRIVALS, "whole"])
def test_the_stream_model_agrees_with_the_ledger(
    fixed_ledgers: Callable[[], Ledger], arrival: str
) -> None:
    events = ARRIVALS.get(arrival, REPLAYED)
    ledger = fixed_ledgers()
    ingest_many(ledger, events)
    expected = model_outcomes(events)
    states = {o.order_id: o for o in ledger.escrow.orders()}
    assert {
        order_id: (state.status, state.released_minor, state.refunded_minor)
        for order_id, state in states.items()
    } == expected

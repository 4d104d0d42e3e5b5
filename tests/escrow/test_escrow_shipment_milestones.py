"""The shipment's record of its milestones, on SQLite and PostgreSQL.

A shipment milestone is recorded for the shipment the first time it is reported, and the first
report wins: reported again it changes nothing. An order placed on the shipment at or before
the milestone's time sees it whether its ``OrderPlaced`` arrives before the milestone's event
(the event-time rule) or after it (it is copied onto the order when the order is placed), and
``fund`` releases it dated at the milestone's time or the funding time, whichever is later. So
an events file ends in the same state whatever the order its events arrive in, and a replay of
it, whole or after an interrupted run, is a no-op.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import pytest
from escrow_helpers import PLAN, at, funded, order_placed, reached
from moneyed import Money
from sqlalchemy import select

from jiaolong_ledger import Ledger
from jiaolong_ledger.adapters import ingest_many, parse_event
from jiaolong_ledger.errors import ShipmentNotFoundError
from jiaolong_ledger.escrow import EscrowState
from jiaolong_ledger.escrow.tables import escrow_shipment_milestones
from jiaolong_ledger.testing import assert_unchanged, snapshot
from jiaolong_ledger.testing.escrow_model import EscrowModel


def place(ledger: Ledger, order_id: str, hours: float, shipment_id: str = "X1") -> EscrowState:
    return ledger.escrow.place(
        order_id,
        buyer="lodz-gallery",
        seller="shu-brocade",
        amount=Money("1000.00", "EUR"),
        incoterm="FCA",
        release_plan=PLAN,
        fee_rate="0.015",
        shipment_id=shipment_id,
        at=at(hours),
    )


def shipment_rows(ledger: Ledger) -> list[tuple[Any, ...]]:
    """The shipment records: (shipment, milestone, reached_at, location, recorded_at)."""
    table = escrow_shipment_milestones
    with ledger.engine.connect() as connection:
        rows = connection.execute(
            select(table).order_by(table.c.shipment_id, table.c.milestone)
        ).all()
    return [tuple(row) for row in rows]


def released_at(ledger: Ledger, order_id: str) -> dict[str, datetime | None]:
    return {item.milestone: item.released_at for item in ledger.escrow.state(order_id).plan}


# -- the record --------------------------------------------------------------------------------


def test_the_first_report_is_recorded_and_a_later_one_changes_nothing(market: Ledger) -> None:
    place(market, "A", 0)
    market.escrow.fund("A", at=at(1))
    market.escrow.milestone("departed", shipment_id="X1", at=at(24), location="Chengdu")
    ((shipment, milestone, reached_at, location, _),) = shipment_rows(market)
    assert (shipment, milestone, reached_at, location) == ("X1", "departed", at(24), "Chengdu")
    before, rows, state = snapshot(market), shipment_rows(market), market.escrow.state("A")
    for hours, where in ((24, "Chengdu"), (36, "Dostyk"), (12, None)):
        again = market.escrow.milestone("departed", shipment_id="X1", at=at(hours), location=where)
        assert again == [state]  # the orders it applies to, as they are
        assert_unchanged(market, before)
        assert shipment_rows(market) == rows


def test_an_order_placed_before_the_milestone_sees_it_when_its_placement_arrives_later(
    market: Ledger,
) -> None:
    place(market, "A", 0)
    market.escrow.fund("A", at=at(1))
    market.escrow.milestone("departed", shipment_id="X1", at=at(24), location="Chengdu")
    late = place(market, "B", 10)  # placed at hour 10, known to the ledger only now
    (seen,) = late.milestones
    assert (seen.milestone, seen.reached_at, seen.location, seen.shipment_id) == (
        "departed",
        at(24),
        "Chengdu",
        "X1",
    )
    assert (late.status, late.released_minor) == ("placed", 0)
    # Funded at hour 12, before the train departed: the release is dated at the milestone.
    state = market.escrow.fund("B", at=at(12))
    assert [item.released for item in state.plan] == [True, False, False]
    assert released_at(market, "B")["departed"] == at(24)
    entry = market.entry("escrow/B/release/departed")
    assert (entry.effective_at, entry.metadata["location"]) == (at(24), "Chengdu")
    # Funded after it: dated at the funding.
    place(market, "C", 10)
    market.escrow.fund("C", at=at(30))
    assert released_at(market, "C")["departed"] == at(30)
    # Placed after the milestone: not seen, whatever the arrival order.
    assert place(market, "D", 25).milestones == ()
    # A replay reaches nobody new and changes nothing.
    before = snapshot(market)
    again = market.escrow.milestone("departed", shipment_id="X1", at=at(24), location="Chengdu")
    assert [s.order_id for s in again] == ["A", "B", "C"]
    assert_unchanged(market, before)


def test_a_milestone_before_every_order_on_the_shipment_waits_for_the_late_ones(
    market: Ledger,
) -> None:
    place(market, "LATER", 30)
    assert market.escrow.milestone("departed", shipment_id="X1", at=at(24)) == []
    assert [row[:3] for row in shipment_rows(market)] == [("X1", "departed", at(24))]
    assert market.escrow.state("LATER").milestones == ()
    assert place(market, "EARLIER", 0).milestones_seen == ("departed",)
    market.escrow.fund("EARLIER", at=at(40))
    assert released_at(market, "EARLIER")["departed"] == at(40)


def test_placing_an_order_again_sees_nothing_twice(market: Ledger) -> None:
    place(market, "A", 30)
    market.escrow.milestone("departed", shipment_id="X1", at=at(24))
    first = place(market, "B", 0)
    before = snapshot(market)
    assert place(market, "B", 0) == first
    assert_unchanged(market, before)


def test_a_later_milestone_copied_at_placement_releases_in_plan_order(market: Ledger) -> None:
    place(market, "A", 0)
    market.escrow.milestone("customs_cleared", shipment_id="X1", at=at(240))
    market.escrow.milestone("departed", shipment_id="X1", at=at(24))
    place(market, "B", 0)
    state = market.escrow.fund("B", at=at(1))
    assert [item.released for item in state.plan] == [True, True, False]
    assert released_at(market, "B") == {
        "departed": at(24),
        "customs_cleared": at(240),
        "delivered": None,
    }


def test_a_milestone_naming_an_order_is_not_recorded_for_the_shipment(market: Ledger) -> None:
    place(market, "A", 0)
    market.escrow.milestone("departed", order_id="A", at=at(24))
    market.escrow.milestone("customs_cleared", order_id="A", shipment_id="X1", at=at(240))
    assert shipment_rows(market) == []
    assert place(market, "B", 0).milestones == ()
    # The shipment's own report: recorded, it reaches B; A keeps its first report.
    reached_orders = market.escrow.milestone("departed", shipment_id="X1", at=at(30))
    assert [state.order_id for state in reached_orders] == ["A", "B"]
    assert market.escrow.state("A").milestones[0].reached_at == at(24)
    assert market.escrow.state("B").milestones[0].reached_at == at(30)
    assert [row[:3] for row in shipment_rows(market)] == [("X1", "departed", at(30))]


def test_an_unknown_shipment_records_nothing(market: Ledger) -> None:
    place(market, "A", 0)
    with pytest.raises(ShipmentNotFoundError):
        market.escrow.milestone("departed", shipment_id="X2", at=at(24))
    assert shipment_rows(market) == []
    # The same report once an order travels on X2 is a first report.
    place(market, "B", 0, shipment_id="X2")
    reached_orders = market.escrow.milestone("departed", shipment_id="X2", at=at(24))
    assert [state.order_id for state in reached_orders] == ["B"]


def test_a_unit_of_work_that_fails_keeps_no_shipment_record(market: Ledger) -> None:
    place(market, "A", 0)
    market.escrow.fund("A", at=at(1))
    before = snapshot(market)
    with pytest.raises(RuntimeError), market.transaction() as tx:
        tx.escrow.milestone("departed", shipment_id="X1", at=at(24))
        place_b = tx.escrow.place(
            "B",
            buyer="lodz-gallery",
            seller="shu-brocade",
            amount=Money("1000.00", "EUR"),
            incoterm="FCA",
            release_plan=PLAN,
            shipment_id="X1",
            at=at(0),
        )
        assert place_b.milestones_seen == ("departed",)  # the unit sees its own record
        raise RuntimeError("the last step fails")
    assert_unchanged(market, before)
    assert shipment_rows(market) == []
    assert market.escrow.orders() == [market.escrow.state("A")]
    assert market.escrow.state("A").milestones == ()
    # Reported again after the rollback, it is a first report.
    (state,) = market.escrow.milestone("departed", shipment_id="X1", at=at(24))
    assert state.released_minor == 30_000


# -- arrival orders and replays, through events ------------------------------------------------

EVENTS = {
    "PA": order_placed("A", "2026-11-20T09:00:00Z"),
    "FA": funded("A", "2026-11-20T10:00:00Z"),
    "PB": order_placed("B", "2026-11-20T12:00:00Z"),
    "M1": reached("departed", "2026-11-21T00:00:00Z", "Chengdu"),
    "FB": funded("B", "2026-11-22T08:00:00Z"),
    "PC": order_placed("C", "2026-11-22T09:00:00Z"),
    "FC": funded("C", "2026-11-22T10:00:00Z"),
    "M2": reached("delivered", "2026-12-06T15:00:00Z", "Duisburg"),
}
"""Three orders on shipment X1, the events in the order they happened: A is funded before the
train departs, B placed before and funded after it, C placed after it."""

PLACEMENTS = ("PA", "PB", "PC")
MILESTONE_EVENTS = ("M1", "M2")


def accepted(arrival: Sequence[str]) -> bool:
    """An arrival order the ledger accepts whole: an order's events come after its placement,
    and a shipment milestone after some order on the shipment (else ``SHIPMENT_NOT_FOUND``)."""
    position = {name: index for index, name in enumerate(arrival)}
    first_placement = min(position[name] for name in PLACEMENTS)
    return all(position["P" + name[1]] < position[name] for name in ("FA", "FB", "FC")) and all(
        position[name] > first_placement for name in MILESTONE_EVENTS
    )


@cache
def arrivals() -> tuple[tuple[str, ...], ...]:
    return tuple(a for a in itertools.permutations(EVENTS) if accepted(a))


def in_rail_order(arrival: Sequence[str]) -> bool:
    """The milestones arrive in the order they happened. (When ``delivered`` arrives first, it
    releases departed's share at its own time; ``departed`` arriving later is only recorded,
    as docs/escrow.md says: the amounts are the same, the dates and locations not.)"""
    return arrival.index("M1") < arrival.index("M2")


def sampled_arrivals() -> dict[str, tuple[str, ...]]:
    """The order things happened, a few that stress the rule, and a seeded sample of the rest."""
    named = {
        "as-it-happened": tuple(EVENTS),
        "milestones-first": ("PC", "M1", "M2", "PA", "PB", "FA", "FB", "FC"),
        "late-placements": ("PA", "FA", "M1", "PC", "FC", "M2", "PB", "FB"),
        "backwards-where-possible": ("PC", "FC", "M1", "M2", "PB", "FB", "PA", "FA"),
        "milestones-swapped": ("PC", "M2", "M1", "FC", "PB", "FB", "PA", "FA"),
    }
    assert all(accepted(arrival) for arrival in named.values())
    sample = random.Random(20261201).sample(arrivals(), 5)
    return {**named, **{f"sample-{n}": arrival for n, arrival in enumerate(sample)}}


def escrow_entries(ledger: Ledger) -> dict[str, tuple[Any, ...]]:
    """Each escrow entry's content by key, wherever it sits in the journal."""
    found = {}
    for line in ledger.journal_lines():
        entry = json.loads(line)
        if str(entry.get("key")).startswith("escrow/"):
            content = ("kind", "effective_at", "postings", "metadata", "description")
            found[entry["key"]] = tuple(json.dumps(entry.get(name)) for name in content)
    return found


def end_state(ledger: Ledger) -> tuple[Any, ...]:
    orders = [order.to_dict() for order in ledger.escrow.orders()]
    return orders, escrow_entries(ledger), shipment_rows(ledger)


def model_outcomes(events: Sequence[Any]) -> dict[str, tuple[str, int, int]]:
    """What the stream model predicts for ``events`` (mappings or parsed events)."""
    model = EscrowModel()
    for event in events:
        assert model.apply(parse_event(event) if isinstance(event, dict) else event) is None
    return {
        order.order_id: (order.status, order.released_minor, order.refunded_minor)
        for order in sorted(model.orders.values(), key=lambda order: order.order_id)
    }


def test_the_model_ends_the_same_for_every_accepted_arrival_order() -> None:
    expected = model_outcomes(list(EVENTS.values()))
    assert expected == {
        "A": ("completed", 120_000, 0),
        "B": ("completed", 120_000, 0),
        "C": ("completed", 120_000, 0),
    }
    parsed = {name: parse_event(event) for name, event in EVENTS.items()}
    assert len(arrivals()) > 1_000
    for arrival in arrivals():
        assert model_outcomes([parsed[name] for name in arrival]) == expected, arrival


def test_every_arrival_order_ends_in_the_same_state(fixed_ledgers: Callable[[], Ledger]) -> None:
    """Every accepted arrival order ends with the same amounts (as the model predicts); with
    the milestones in rail order, with the same entries, dates and rows too."""
    totals, ends = {}, {}
    for label, arrival in sampled_arrivals().items():
        ledger = fixed_ledgers()
        events = [EVENTS[name] for name in arrival]
        ingest_many(ledger, events)
        totals[label] = {
            order.order_id: (order.status, order.released_minor, order.refunded_minor)
            for order in ledger.escrow.orders()
        }
        assert totals[label] == model_outcomes(events), label
        if in_rail_order(arrival):
            ends[label] = end_state(ledger)
    assert len(set(map(str, totals.values()))) == 1
    assert len(ends) >= len(totals) // 2
    reference = ends.pop("as-it-happened")
    for label, end in ends.items():
        assert end == reference, label
    orders = {order["order_id"]: order for order in reference[0]}
    plan_times = {
        order_id: [item["released_at"] for item in order["release_plan"]]
        for order_id, order in orders.items()
    }
    assert plan_times == {
        "A": ["2026-11-21T00:00:00+00:00", "2026-12-06T15:00:00+00:00"],
        "B": ["2026-11-22T08:00:00+00:00", "2026-12-06T15:00:00+00:00"],
        "C": ["2026-12-06T15:00:00+00:00", "2026-12-06T15:00:00+00:00"],
    }
    assert [seen["milestone"] for seen in orders["C"]["milestones_seen"]] == ["delivered"]


LATE_FILE = [EVENTS[name] for name in ("PA", "FA", "M1", "PB", "FB", "PC", "FC", "M2")]
"""A file in which B, placed before the train departed, is booked after the departure."""


def test_the_file_replayed_whole_changes_nothing(fixed_ledgers: Callable[[], Ledger]) -> None:
    ledger = fixed_ledgers()
    ingest_many(ledger, LATE_FILE)
    before, state = snapshot(ledger), end_state(ledger)
    ingest_many(ledger, LATE_FILE)
    for event in LATE_FILE:
        ledger.ingest(event)
    assert_unchanged(ledger, before)
    assert end_state(ledger) == state


@pytest.mark.parametrize("cut", range(1, len(LATE_FILE)))
def test_a_prefix_then_the_whole_file_ends_as_one_clean_run(
    fixed_ledgers: Callable[[], Ledger], cut: int
) -> None:
    clean, interrupted = fixed_ledgers(), fixed_ledgers()
    ingest_many(clean, LATE_FILE)
    for event in LATE_FILE[:cut]:
        interrupted.ingest(event)
    ingest_many(interrupted, LATE_FILE)
    assert list(interrupted.journal_lines()) == list(clean.journal_lines())
    assert end_state(interrupted) == end_state(clean)
    assert {order.status for order in clean.escrow.orders()} == {"completed"}

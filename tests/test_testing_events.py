"""The event-stream strategies of ``jiaolong_ledger.testing``: what they draw is what the adapters
accept, and ingesting it on SQLite and PostgreSQL conserves money.

The property test ingests each stream (one event at a time, or in one ``ingest_many`` batch when
it has no refusals) and checks: the ledger refuses exactly the events the stream says, with the
code it says, and a refusal writes nothing; each order ends as the stream's model predicts; each
order's escrow account holds exactly ``funded - released - refunded``; every participant's cash
and the fee income moved by exactly what the orders say; the trial balance balances per
currency; the journal verifies.
"""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from jiaolong_ledger import Ledger, LedgerError
from jiaolong_ledger.adapters import (
    DrawdownRequested,
    OrderPlaced,
    RepaymentReceived,
    ingest_many,
    parse_event,
)
from jiaolong_ledger.escrow import EscrowState, ReleasePlan
from jiaolong_ledger.money import decimal_to_minor, minor_to_money
from jiaolong_ledger.testing import (
    REFUSAL_CODES,
    EventStream,
    assert_unchanged,
    order_event_streams,
    order_placed,
    release_plans,
    snapshot,
)

RUNS = itertools.count(1)
STORAGE_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
streams = order_event_streams(refusals=True, orders_max=4)


def posted(ledger: Ledger, code: str) -> int:
    """An account's posted balance in minor units; 0 if it does not exist yet."""
    try:
        return ledger.balance(code).posted_minor
    except LedgerError:
        return 0


def movable_accounts(stream: EventStream) -> list[str]:
    currencies = {currency for _, currency in stream.participants}
    return [
        *(f"participant:{name}:cash:{currency}" for name, currency in stream.participants),
        *(f"platform:fees:{currency}" for currency in currencies),
    ]


def ingest_stream(ledger: Ledger, stream: EventStream, batch: bool) -> dict[int, str]:
    """Ingest the stream; the codes of the events the ledger refused, by index.

    ``batch``: only the accepted events, in one ``ingest_many`` transaction (what a
    ``refusals=False`` stream is); otherwise every event on its own, refusals included.
    """
    if batch:
        ingest_many(ledger, list(stream.accepted))
        return {}
    refused: dict[int, str] = {}
    for index, event in enumerate(stream.events):
        before = snapshot(ledger) if index in stream.refusals else None
        try:
            ledger.ingest(event)
        except LedgerError as error:
            refused[index] = error.code
            if before is not None:
                assert_unchanged(ledger, before)
    return refused


def expected_movements(stream: EventStream, states: list[EscrowState]) -> dict[str, int]:
    """What each participant's cash and the fee income must have moved by."""
    moved = dict.fromkeys(movable_accounts(stream), 0)
    for (buyer, currency), amount_minor in stream.deposits_minor.items():
        moved[f"participant:{buyer}:cash:{currency}"] += amount_minor
    for state in states:
        ccy = state.currency
        moved[f"participant:{state.buyer}:cash:{ccy}"] += state.refunded_minor - state.funded_minor
        moved[f"participant:{state.seller}:cash:{ccy}"] += state.seller_received_minor
        moved[f"platform:fees:{ccy}"] += state.fee_charged_minor
    return moved


def check_order(ledger: Ledger, stream: EventStream, state: EscrowState) -> None:
    expected = stream.outcomes[state.order_id]
    held = ledger.balance(state.escrow_account).posted_minor
    assert state.funded_minor == state.released_minor + state.refunded_minor + held
    assert held == expected.remaining_minor >= 0
    assert (
        state.status,
        state.funded_minor,
        state.released_minor,
        state.refunded_minor,
        state.disputed,
    ) == (
        expected.status,
        expected.funded_minor,
        expected.released_minor,
        expected.refunded_minor,
        expected.disputed,
    )
    assert 0 <= state.fee_charged_minor <= min(state.fee_minor, state.released_minor)
    if state.status == "completed":
        assert state.released_minor == state.amount_minor
        assert state.fee_charged_minor == state.fee_minor


@STORAGE_SETTINGS
@given(stream=streams, batch=st.integers(1, 4).map(lambda n: n == 4))
def test_ingested_streams_conserve_money(ledger: Ledger, stream: EventStream, batch: bool) -> None:
    stream = stream.renamed(f"R{next(RUNS)}-")  # examples share the test's ledger
    watched = movable_accounts(stream)
    before = {code: posted(ledger, code) for code in watched}
    stream.setup(ledger)

    assert ingest_stream(ledger, stream, batch) == ({} if batch else dict(stream.refusals))

    states = [ledger.escrow.state(order_id) for order_id in stream.outcomes]
    for state in states:
        check_order(ledger, stream, state)
    moved = {code: posted(ledger, code) - before[code] for code in watched}
    assert moved == expected_movements(stream, states)
    trial = ledger.trial_balance()
    assert trial.totals and all(debits == credits for debits, credits in trial.totals.values())
    assert ledger.verify().ok


@settings(STORAGE_SETTINGS, max_examples=3)
@given(stream=order_event_streams(orders_min=3, orders_max=3))
def test_setup_is_idempotent_and_deposits_what_each_buyer_spends(
    ledger: Ledger, stream: EventStream
) -> None:
    stream = stream.renamed(f"S{next(RUNS)}-")
    stream.setup(ledger)
    head = sum(1 for _ in ledger.journal_lines())
    stream.setup(ledger)
    assert sum(1 for _ in ledger.journal_lines()) == head
    orders = {event.order_id: event for event in stream.events if isinstance(event, OrderPlaced)}
    assert set(orders) == set(stream.outcomes)
    spent: dict[tuple[str, str], int] = {}
    for order in orders.values():
        key = (order.buyer, order.currency)
        spent[key] = spent.get(key, 0) + decimal_to_minor(order.amount, order.currency)
    assert spent == dict(stream.deposits_minor)
    deposited = {
        (entry.postings[1].account, entry.postings[1].amount)
        for entry in ledger.entries()
        if entry.key.startswith(f"testing/deposit/{stream.digest()}/")
    }
    assert deposited == {
        (f"participant:{buyer}:cash:{currency}", minor_to_money(amount_minor, currency))
        for (buyer, currency), amount_minor in stream.deposits_minor.items()
    }


def json_values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in json_values(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in json_values(item)]
    return [value]


@settings(max_examples=60, deadline=None)
@given(stream=order_event_streams(refusals=True, orders_max=4))
def test_every_event_round_trips_through_its_json_form(stream: EventStream) -> None:
    for event in stream.events:
        line = json.dumps(event.model_dump(mode="json"), ensure_ascii=False)
        obj = json.loads(line)
        assert not any(isinstance(leaf, float) for leaf in json_values(obj)), line
        parsed = parse_event(obj)
        assert type(parsed) is type(event)
        assert parsed == event
        assert parsed.model_dump(mode="json") == obj
        assert not isinstance(event, DrawdownRequested | RepaymentReceived)
        if isinstance(event, OrderPlaced):
            assert event.settlement_terms == "escrow"
    assert set(stream.refusals.values()) <= set(REFUSAL_CODES)
    assert all(0 <= index < len(stream.events) for index in stream.refusals)


@settings(max_examples=200)
@given(
    items=release_plans(share_decimals_max=8, rail_order=False)
    | release_plans(["departed", "delivered"], items_min=2)
)
def test_release_plans_sum_to_exactly_100(items: list[Any]) -> None:
    assert sum((item.share for item in items), Decimal(0)) == 100
    assert len({item.milestone for item in items}) == len(items)
    plan = ReleasePlan.parse([item.model_dump() for item in items])
    assert len(plan.items) == len(items)


@settings(max_examples=100)
@given(order=order_placed(["a-1", "b-2", "c-3"], st.sampled_from(["JPY", "KWD"])))
def test_order_placed_is_a_valid_escrow_order(order: OrderPlaced) -> None:
    assert order.buyer != order.seller and {order.buyer, order.seller} <= {"a-1", "b-2", "c-3"}
    assert order.currency in ("JPY", "KWD") and order.amount > 0
    assert order.platform_fee is None or order.platform_fee <= order.amount
    assert parse_event(order.model_dump(mode="json")) == order


@pytest.mark.parametrize(
    "call",
    [
        lambda: order_event_streams(participants=["solo"]),
        lambda: order_event_streams(participants=["Not A Name", "b"]),
        lambda: order_event_streams(orders_min=3, orders_max=2),
        lambda: order_placed(currency="XXX1"),
        lambda: release_plans(["departed", "teleported"]),
        lambda: release_plans(["departed"], items_min=2),
    ],
)
def test_bad_arguments_are_refused_at_once(call: Any) -> None:
    with pytest.raises((InvalidArgument, LedgerError)):
        call()

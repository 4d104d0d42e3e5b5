"""Property: random interleavings of funding, milestone, duplicate, dispute and cancel events
never create or lose money, on SQLite and PostgreSQL.

Each example places a fresh order (random currency among JPY/EUR/KWD, amount, plan, fee) in
the test's ledger and applies a random event sequence. After every event, accepted or refused:
``funded = released + refunded + remaining``, the escrow account holds exactly ``remaining``,
the buyer, seller and fee accounts moved by exactly what the order says, a refused event
changed nothing, and releases are exactly the plan items up to the last milestone seen. At the
end the order is driven to its conclusion and must have paid out every minor unit.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from escrow_helpers import at, cash, open_market
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.errors import (
    EscrowClosedError,
    EscrowDisputedError,
    InvalidInputError,
    LedgerError,
)
from jiaolong_ledger.escrow import MILESTONES, EscrowState
from jiaolong_ledger.money import minor_to_money

BUYER, SELLER = "duisburg-prints", "chongqing-lacquer"
BIG_DEPOSITS = {"EUR": "1000000000.00", "JPY": "100000000000", "KWD": "1000000000.000"}
EXPECTED_REFUSALS = (EscrowClosedError, EscrowDisputedError, InvalidInputError)

events = st.one_of(
    st.tuples(st.just("fund")),
    st.tuples(st.just("milestone"), st.sampled_from(MILESTONES)),
    st.tuples(st.just("duplicate"), st.integers(0, 20)),
    st.tuples(st.just("dispute"), st.sampled_from(["D-1", "D-2"])),
    st.tuples(
        st.just("resolve"), st.sampled_from(["release", "refund", "split"]), st.integers(0, 100)
    ),
    st.tuples(st.just("cancel")),
)


@st.composite
def orders(draw: st.DrawFn) -> dict[str, Any]:
    currency = draw(st.sampled_from(["JPY", "EUR", "KWD"]))
    count = draw(st.integers(1, len(MILESTONES)))
    milestones = draw(st.permutations(MILESTONES))[:count]
    cuts = sorted(draw(st.sets(st.integers(1, 9_999), min_size=count - 1, max_size=count - 1)))
    shares = [Decimal(b - a) / 100 for a, b in itertools.pairwise([0, *cuts, 10_000])]
    return {
        "currency": currency,
        "amount_minor": draw(st.one_of(st.integers(1, 50), st.integers(1, 10**9))),
        "plan": [
            {"milestone": m, "share": str(s)} for m, s in zip(milestones, shares, strict=True)
        ],
        "fee_rate": str(Decimal(draw(st.integers(0, 100))) / 1000),
    }


class Watch:
    """Balances of the accounts an order touches, at the start of the example."""

    def __init__(self, ledger: Ledger, currency: str, escrow: str) -> None:
        self.ledger = ledger
        self.codes = {
            "buyer": cash(BUYER, currency),
            "seller": cash(SELLER, currency),
            "fees": f"platform:fees:{currency}",
            "escrow": escrow,
        }
        self.start = self.now()

    def now(self) -> dict[str, int]:
        out = {}
        for name, code in self.codes.items():
            try:
                out[name] = self.ledger.balance(code).posted_minor
            except LedgerError:
                out[name] = 0
        return out

    def deltas(self) -> dict[str, int]:
        current = self.now()
        return {name: current[name] - self.start[name] for name in current}


def check_money(state: EscrowState, watch: Watch) -> None:
    assert state.funded_minor in (0, state.amount_minor)
    assert state.remaining_minor >= 0
    assert state.funded_minor == state.released_minor + state.refunded_minor + state.remaining_minor
    assert 0 <= state.fee_charged_minor <= min(state.fee_minor, state.released_minor)
    moved = watch.deltas()
    assert moved["escrow"] == state.remaining_minor
    assert moved["buyer"] == state.refunded_minor - state.funded_minor
    assert moved["seller"] == state.released_minor - state.fee_charged_minor
    assert moved["fees"] == state.fee_charged_minor
    assert sum(moved.values()) == 0, "money created or lost"


def check_plan(state: EscrowState, before: EscrowState) -> None:
    """Releases follow the plan: everything up to the last milestone seen, nothing after."""
    released = [item.released for item in state.plan]
    if state.dispute_outcome is not None or state.status in ("cancelled", "expired"):
        return
    if state.status == "placed" or state.disputed:
        assert released == [item.released for item in before.plan]
        return
    seen = set(state.milestones_seen)
    due = max((i for i, item in enumerate(state.plan) if item.milestone in seen), default=-1)
    assert released == [i <= due for i in range(len(state.plan))]
    assert state.released_minor == sum(item.amount_minor for item in state.plan if item.released)


def apply(ledger: Ledger, order_id: str, event: tuple[Any, ...], step: int, sent: list[str]) -> Any:
    escrow = ledger.escrow
    kind = event[0]
    when = at(step)
    if kind == "fund":
        return escrow.fund(order_id, at=when)
    if kind == "milestone" or (kind == "duplicate" and sent):
        milestone = event[1] if kind == "milestone" else sent[event[1] % len(sent)]
        sent.append(milestone)
        return escrow.milestone(milestone, order_id=order_id, at=when)
    if kind == "dispute":
        return escrow.open_dispute(order_id, dispute_id=event[1], at=when)
    if kind == "resolve":
        state = escrow.state(order_id)
        seller = None
        if event[1] == "split":
            seller = minor_to_money(state.remaining_minor * event[2] // 100, state.currency)
        return escrow.resolve_dispute(order_id, event[1], seller_amount=seller, at=when)
    if kind == "cancel":
        return escrow.cancel(order_id, "changed mind", at=when)
    return None


def finish(ledger: Ledger, order_id: str) -> EscrowState:
    """Drive the order to its end: resolve a dispute, or fund and deliver every milestone."""
    state = ledger.escrow.state(order_id)
    if state.disputed:
        return ledger.escrow.resolve_dispute(order_id, "release")
    if state.is_open:
        ledger.escrow.fund(order_id)
        for item in state.plan:
            ledger.escrow.milestone(item.milestone, order_id=order_id)
    return ledger.escrow.state(order_id)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(order=orders(), script=st.lists(events, max_size=12))
def test_interleavings_never_create_or_lose_money(
    ledger: Ledger, order: dict[str, Any], script: list[tuple[Any, ...]]
) -> None:
    if not ledger.accounts("platform:bank:"):
        open_market(ledger, BIG_DEPOSITS)
    order_id = f"ORD-{len(ledger.escrow.orders()) + 1}"
    currency = order["currency"]
    state = ledger.escrow.place(
        order_id,
        buyer=BUYER,
        seller=SELLER,
        amount=minor_to_money(order["amount_minor"], currency),
        incoterm="CPT",
        release_plan=order["plan"],
        fee_rate=order["fee_rate"],
        at=at(0),
    )
    watch = Watch(ledger, currency, state.escrow_account)
    sent: list[str] = []
    for step, event in enumerate(script, start=1):
        before = ledger.escrow.state(order_id)
        head = sum(1 for _ in ledger.journal_lines())
        try:
            apply(ledger, order_id, event, step, sent)
        except EXPECTED_REFUSALS:
            assert ledger.escrow.state(order_id) == before, f"refused {event} changed the order"
            assert sum(1 for _ in ledger.journal_lines()) == head
        state = ledger.escrow.state(order_id)
        check_money(state, watch)
        check_plan(state, before)

    final = finish(ledger, order_id)
    check_money(final, watch)
    assert not final.is_open and final.remaining_minor == 0
    assert final.released_minor + final.refunded_minor == final.funded_minor
    if final.status == "completed":
        assert final.released_minor == final.amount_minor
        assert final.fee_charged_minor == final.fee_minor
        parts = [item.amount_minor for item in final.plan]
        assert sum(parts) == final.amount_minor
        assert sum(
            (minor_to_money(p, currency) for p in parts), Money(0, currency)
        ) == minor_to_money(final.amount_minor, currency)
    assert ledger.trial_balance().is_balanced()
    assert ledger.verify().ok

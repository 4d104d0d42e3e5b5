"""The unwind rule on its own (pure): gridlock, caps, priorities, and properties over random
days against the whole-participant unwind and a brute-force optimum."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from jiaolong_ledger.clearing.unwind import (
    REASON_NET_DEBIT_CAP,
    Claim,
    Limit,
    positions,
    unwind,
)

A, B, C, D = 1, 2, 3, 4


def ring_with_a_tail() -> list[Claim]:
    return [
        Claim(1, "ab", A, B, 100),
        Claim(2, "bc", B, C, 100),
        Claim(3, "ca", C, A, 100),
        Claim(4, "ad", A, D, 50),
    ]


def test_gridlock_settles_the_ring_and_defers_the_tail() -> None:
    claims = ring_with_a_tail()
    limits = {A: Limit(20), B: Limit(0), C: Limit(0), D: Limit(0)}
    outcome = unwind(claims, limits)
    assert set(outcome.deferred) == {4}
    assert outcome.settled_minor(claims) == 300
    whole = unwind(claims, limits, "participants")
    assert whole.settled_minor(claims) == 0 and A in whole.excluded


def test_a_cap_defers_even_when_the_money_is_there() -> None:
    claims = ring_with_a_tail()
    limits = {A: Limit(1_000, cap_minor=20), B: Limit(0), C: Limit(0), D: Limit(0)}
    outcome = unwind(claims, limits)
    assert outcome.deferred == {4: REASON_NET_DEBIT_CAP}


def test_urgent_obligations_are_deferred_last() -> None:
    claims = [Claim(1, "x1", A, B, 60, urgent=True), Claim(2, "x2", A, C, 60)]
    outcome = unwind(claims, {A: Limit(60), B: Limit(0), C: Limit(0)})
    assert set(outcome.deferred) == {2}


def test_best_fit_defers_the_smallest_obligation_that_covers_the_shortfall() -> None:
    claims = [Claim(i, f"r{i}", A, B, amount) for i, amount in enumerate((10, 30, 50, 80))]
    outcome = unwind(claims, {A: Limit(140), B: Limit(0)})  # short by 30
    assert set(outcome.deferred) == {1}


@st.composite
def days(draw: st.DrawFn, participants_max: int = 7, obligations_max: int = 11) -> tuple:
    count = draw(st.integers(2, participants_max))
    claims = []
    for index in range(draw(st.integers(1, obligations_max))):
        payer = draw(st.integers(0, count - 1))
        payee = draw(st.integers(0, count - 2))
        payee = payee if payee < payer else payee + 1
        amount = draw(st.integers(1, 1_000))
        urgent = draw(st.booleans())
        claims.append(Claim(index, f"ref-{index:03d}", payer, payee, amount, urgent))
    net = positions(claims)
    limits = {}
    for participant in range(count):
        debit = max(0, -net.get(participant, 0))
        share = draw(st.sampled_from([0, 0.25, 0.5, 0.9, 1, 1.5]))
        cap = draw(st.none() | st.integers(0, 2_000))
        limits[participant] = Limit(int(debit * share), cap)
    return claims, limits


def _funded(claims: list[Claim], limits: dict[int, Limit], deferred: set[int]) -> bool:
    net = positions(claims, skip=deferred)
    return all(-n <= limits[p].debit_max for p, n in net.items())


def _optimum(claims: list[Claim], limits: dict[int, Limit]) -> int:
    ids = [c.obligation_id for c in claims]
    best = 0
    for size in range(len(ids) + 1):
        for dropped in combinations(ids, size):
            settled = sum(c.amount_minor for c in claims if c.obligation_id not in dropped)
            if settled > best and _funded(claims, limits, set(dropped)):
                best = settled
    return best


@settings(max_examples=150, deadline=None)
@given(days())
def test_every_remaining_debit_is_funded_and_value_is_conserved(day: tuple) -> None:
    claims, limits = day
    for mode in ("obligations", "participants"):
        outcome = unwind(claims, limits, mode)
        assert _funded(claims, limits, set(outcome.deferred))
        deferred = sum(c.amount_minor for c in claims if c.obligation_id in outcome.deferred)
        assert outcome.settled_minor(claims) + deferred == sum(c.amount_minor for c in claims)
    assert unwind(claims, limits) == unwind(list(claims), dict(limits))  # deterministic


@settings(max_examples=150, deadline=None)
@given(days())
def test_the_obligation_unwind_never_settles_less_and_never_beats_the_optimum(day: tuple) -> None:
    claims, limits = day
    single = unwind(claims, limits).settled_minor(claims)
    whole = unwind(claims, limits, "participants").settled_minor(claims)
    assert whole <= single <= _optimum(claims, limits)

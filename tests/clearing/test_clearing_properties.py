"""Property tests of netting, the participant unwind and settlement on the real ledger (SQLite
and PostgreSQL); the obligation unwind's own are in ``test_clearing_unwind_properties``.

One ledger per test; each example uses fresh participant names and its own cycle (a cut-off
first freezes whatever an earlier example left open), so examples cannot see each other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from clearing_helpers import fund
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaolong_ledger import Ledger
from jiaolong_ledger.clearing import ObligationRequest
from jiaolong_ledger.money import minor_to_money

CURRENCIES = ("EUR", "JPY")


@dataclass(frozen=True)
class Scenario:
    participants: int
    obligations: list[tuple[int, int, str, int]]
    funds: dict[tuple[int, str], int]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    count = draw(st.integers(2, 6))
    index = st.integers(0, count - 1)
    obligation = st.tuples(index, index, st.sampled_from(CURRENCIES), st.integers(1, 50_000))
    obligations = [o for o in draw(st.lists(obligation, min_size=1, max_size=25)) if o[0] != o[1]]
    funds = draw(
        st.dictionaries(
            st.tuples(index, st.sampled_from(CURRENCIES)), st.integers(0, 80_000), max_size=12
        )
    )
    return Scenario(count, obligations, funds)


def _cash(name: str, currency: str) -> str:
    return f"participant:{name}:cash:{currency}"


def _posted(ledger: Ledger, code: str) -> int:
    return ledger.balance(code).posted_minor if code in _codes(ledger) else 0


def _available(ledger: Ledger, code: str) -> int:
    return ledger.balance(code).available_minor if code in _codes(ledger) else 0


def _codes(ledger: Ledger) -> set[str]:
    return {account.code for account in ledger.accounts(prefix="participant:")}


def _prepare(ledger: Ledger, scenario: Scenario) -> tuple[list[str], int]:
    clearing = ledger.clearing
    prefix = uuid.uuid4().hex[:8]
    names = [f"x{prefix}-{i}" for i in range(scenario.participants)]
    for name in names:
        clearing.register_participant(name, "EUR")
    for (i, currency), amount in scenario.funds.items():
        if amount:
            fund(ledger, names[i], currency, str(minor_to_money(amount, currency).amount))
    clearing.cutoff()  # leftovers of earlier examples go to a cycle of their own
    clearing.submit_many(
        [
            ObligationRequest(
                names[payer], names[payee], minor_to_money(amount, currency), f"{prefix}-{n}"
            )
            for n, (payer, payee, currency, amount) in enumerate(scenario.obligations)
        ]
    )
    return names, clearing.cutoff().id


def _expected_nets(
    scenario: Scenario, names: list[str], excluded: set[str]
) -> dict[tuple[str, str], int]:
    nets: dict[tuple[str, str], int] = {}
    for payer, payee, currency, amount in scenario.obligations:
        if names[payer] in excluded or names[payee] in excluded:
            continue
        nets[(names[payer], currency)] = nets.get((names[payer], currency), 0) - amount
        nets[(names[payee], currency)] = nets.get((names[payee], currency), 0) + amount
    return nets


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenarios())
def test_settlement_invariants(ledger: Ledger, scenario: Scenario) -> None:
    names, cycle_id = _prepare(ledger, scenario)
    codes = [_cash(name, currency) for name in names for currency in CURRENCIES]
    posted_before = {code: _posted(ledger, code) for code in codes}
    available_before = {code: _available(ledger, code) for code in codes}
    frozen = ledger.clearing.cycle(cycle_id).obligations

    report = ledger.clearing.settle(cycle_id, unwind="participants")

    excluded = set(report.excluded)
    nets = {(p.participant, p.currency): p.net_minor for p in report.positions}
    # Netting in SQL agrees with a plain recomputation over the surviving obligations.
    expected = _expected_nets(scenario, names, excluded)
    assert nets == expected
    for summary in report.currencies:
        in_currency = [v for (_, c), v in nets.items() if c == summary.currency]
        assert sum(in_currency) == 0
        assert summary.gross_minor >= summary.net_minor >= 0
        assert summary.net_minor == -sum(v for v in in_currency if v < 0)
    # After the unwind every remaining net payer could fund its position.
    for (name, currency), net in nets.items():
        if net < 0:
            assert available_before[_cash(name, currency)] >= -net
    # Settlement moved exactly the net positions; the excluded are untouched.
    for name in names:
        for currency in CURRENCIES:
            code = _cash(name, currency)
            moved = _posted(ledger, code) - posted_before[code]
            assert moved == nets.get((name, currency), 0)
    for hub in ledger.accounts(prefix="clearing:settlement:"):
        assert ledger.balance(hub.code).is_zero()
    # Every excluded obligation was carried to the next cycle; nothing else was.
    assert report.carried_to_cycle is not None
    carried = ledger.clearing.obligations(report.carried_to_cycle)
    carried_here = [o for o in carried if o.first_cycle_id == cycle_id]
    assert all(o.payer in excluded or o.payee in excluded for o in carried_here)
    remaining = ledger.clearing.obligations(cycle_id)
    assert not any(o.payer in excluded or o.payee in excluded for o in remaining)
    assert len(carried_here) == report.obligations_carried
    assert len(remaining) == report.obligations_settled
    assert report.obligations_settled + report.obligations_carried == frozen
    # Instructions realise the positions, within n - 1 per currency.
    for summary in report.currencies:
        moved_by_instructions: dict[str, int] = {}
        for instruction in report.instructions:
            if instruction.currency != summary.currency:
                continue
            moved_by_instructions[instruction.payer] = (
                moved_by_instructions.get(instruction.payer, 0) - instruction.amount_minor
            )
            moved_by_instructions[instruction.payee] = (
                moved_by_instructions.get(instruction.payee, 0) + instruction.amount_minor
            )
        in_currency = {n: v for (n, c), v in nets.items() if c == summary.currency and v}
        assert {n: v for n, v in moved_by_instructions.items() if v} == in_currency
        assert summary.instruction_count <= max(len(in_currency) - 1, 0)


@pytest.mark.parametrize("unwind", ["obligations", "participants"])
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenarios())
def test_dry_run_equals_settlement_and_writes_nothing(
    ledger: Ledger, unwind: str, scenario: Scenario
) -> None:
    _, cycle_id = _prepare(ledger, scenario)
    trial = ledger.trial_balance()
    preview = ledger.clearing.settle(cycle_id, dry_run=True, unwind=unwind)
    assert ledger.trial_balance() == trial
    settled = ledger.clearing.settle(cycle_id, unwind=unwind)
    assert preview.positions == settled.positions
    assert preview.exclusions == settled.exclusions
    assert preview.instructions == settled.instructions
    assert preview.currencies == settled.currencies
    assert preview.obligations_carried == settled.obligations_carried
    assert preview.deferred == settled.deferred and preview.rounds == settled.rounds
    assert preview.settled_value == settled.settled_value

"""Properties of the obligation unwind through ``ledger.clearing.settle`` over random small days.

Each example registers fresh participants in the test's ledger, funds some of them (often too
little), submits a day of obligations in EUR and JPY, cuts off, then:
- previews the day under ``unwind="participants"`` (a dry run: the same day, untouched) and twice
  under the default ``unwind="obligations"`` (determinism),
- settles it under the default, and checks that every remaining net payer funded its debit from
  its own available balance (the settlement posted, nothing overdrawn), money is conserved
  (clearing accounts back to zero, trial balance balanced, each account moved by its net),
  settled + deferred = submitted per currency (count and value), the obligation unwind settled at
  least the participant unwind's value in every currency, the deferred obligations sit in the
  next cycle with their references and submission times, and the positions (SQL netting less the
  deferred) equal a fresh SQL netting of what stayed in the cycle.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from clearing_helpers import fund
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from jiaolong_ledger import Ledger
from jiaolong_ledger.clearing import ObligationRequest
from jiaolong_ledger.money import minor_to_money

CURRENCIES = ("EUR", "JPY")
FUNDS = (0, 0, 500, 5_000, 20_000, 60_000, 200_000)


@dataclass(frozen=True)
class Day:
    participants: int
    obligations: list[tuple[int, int, str, int]]
    funds: dict[tuple[int, str], int]


@st.composite
def days(draw: st.DrawFn) -> Day:
    count = draw(st.integers(2, 7))
    index = st.integers(0, count - 1)
    obligation = st.tuples(index, index, st.sampled_from(CURRENCIES), st.integers(1, 50_000))
    obligations = [o for o in draw(st.lists(obligation, min_size=1, max_size=20)) if o[0] != o[1]]
    funds = {
        (i, currency): draw(st.sampled_from(FUNDS)) for i in range(count) for currency in CURRENCIES
    }
    return Day(count, obligations, funds)


def _cash(name: str, currency: str) -> str:
    return f"participant:{name}:cash:{currency}"


def _prepare(ledger: Ledger, day: Day) -> tuple[list[str], int]:
    clearing = ledger.clearing
    prefix = uuid.uuid4().hex[:8]
    names = [f"u{prefix}-{i}" for i in range(day.participants)]
    for name in names:
        clearing.register_participant(name, "EUR")
    for (i, currency), amount in day.funds.items():
        if amount:
            fund(ledger, names[i], currency, str(minor_to_money(amount, currency).amount))
    clearing.cutoff()  # what earlier examples left open goes to a cycle of its own
    clearing.submit_many(
        [
            ObligationRequest(
                names[payer], names[payee], minor_to_money(amount, currency), f"{prefix}-{n:02d}"
            )
            for n, (payer, payee, currency, amount) in enumerate(day.obligations)
        ]
    )
    return names, clearing.cutoff().id


def _balances(ledger: Ledger, names: list[str]) -> dict[str, tuple[int, int]]:
    """(posted, available) of every participant's cash account; (0, 0) when it has none."""
    codes = {account.code for account in ledger.accounts(prefix="participant:")}
    found = {}
    for name in names:
        for currency in CURRENCIES:
            code = _cash(name, currency)
            balance = ledger.balance(code) if code in codes else None
            found[code] = (balance.posted_minor, balance.available_minor) if balance else (0, 0)
    return found


def check_day(ledger: Ledger, day: Day) -> None:
    names, cycle_id = _prepare(ledger, day)
    clearing = ledger.clearing
    before = _balances(ledger, names)
    submitted_at = {o.reference: o.submitted_at for o in clearing.obligations(cycle_id)}
    whole = clearing.settle(cycle_id, dry_run=True, unwind="participants")
    preview = clearing.settle(cycle_id, dry_run=True)
    assert clearing.settle(cycle_id, dry_run=True) == preview  # deterministic

    report = clearing.settle(cycle_id)

    assert report.status == "settled" and report.unwind == "obligations"
    assert (report.positions, report.deferred, report.settled_value) == (
        preview.positions,
        preview.deferred,
        preview.settled_value,
    )
    assert report.exclusions == ()  # no conversion: the rule alone funds every payer
    nets = {(p.participant, p.currency): p.net_minor for p in report.positions}
    after = _balances(ledger, names)
    for name in names:
        for currency in CURRENCIES:
            code, net = _cash(name, currency), nets.get((name, currency), 0)
            assert net >= 0 or before[code][1] >= -net  # funded from what it had
            assert after[code][0] - before[code][0] == net  # moved by exactly its net
    for hub in ledger.accounts(prefix="clearing:settlement:"):
        assert ledger.balance(hub.code).is_zero()
    assert ledger.trial_balance().is_balanced()
    for currency in sorted({o[2] for o in day.obligations}):
        value = report.value(currency)
        in_currency = [o[3] for o in day.obligations if o[2] == currency]
        deferred = [d.amount_minor for d in report.deferred if d.currency == currency]
        assert (value.submitted_obligations, value.submitted_gross_minor) == (
            len(in_currency),
            sum(in_currency),
        )
        assert value.settled_gross_minor + sum(deferred) == value.submitted_gross_minor
        assert value.settled_obligations + len(deferred) == value.submitted_obligations
        assert value.settled_gross_minor >= whole.value(currency).settled_gross_minor
    assert report.carried_to_cycle is not None
    carried = [
        o for o in clearing.obligations(report.carried_to_cycle) if o.first_cycle_id == cycle_id
    ]
    assert sorted((o.reference, o.submitted_at) for o in carried) == [
        (d.reference, submitted_at[d.reference]) for d in report.deferred
    ]
    assert len(clearing.obligations(cycle_id)) == report.obligations_settled
    # Subtracting the deferred from the SQL netting equals netting what stayed, in SQL.
    again = clearing.net(cycle_id)
    assert tuple(again.positions.values()) == report.positions
    assert [(s.currency, s.obligations, s.gross_minor, s.net_minor, s.participants)
            for s in again.summaries.values()] == [
        (s.currency, s.obligations, s.gross_minor, s.net_minor, s.participants)
        for s in report.currencies
    ]  # fmt: skip
    event("some obligations deferred" if report.deferred else "everyone funded")
    more = any(
        v.settled_gross_minor > whole.value(v.currency).settled_gross_minor
        for v in report.settled_value
    )
    event("obligation unwind settled more" if more else "as much as the participant unwind")


SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@pytest.mark.parametrize("backend", ["sqlite"])
@settings(max_examples=60, **SETTINGS)  # type: ignore[arg-type]
@given(days())
def test_obligation_unwind_properties_sqlite(ledger: Ledger, day: Day) -> None:
    check_day(ledger, day)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
@settings(max_examples=25, **SETTINGS)  # type: ignore[arg-type]
@given(days())
def test_obligation_unwind_properties_postgres(ledger: Ledger, day: Day) -> None:
    check_day(ledger, day)

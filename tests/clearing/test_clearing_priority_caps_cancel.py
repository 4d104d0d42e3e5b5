"""Issue 12 through the API (both backends): obligation priority, net debit caps, cancel before
cut-off and the per-cycle obligation listing with statuses.

Priority: a -> b 60.00 urgent (u), a -> c 100.00 normal (n); a holds 110.00, short by 50.00.
Both cover the shortfall; the best fit would be u (the smaller) — but normal obligations go
first, so n is deferred and u settles. With u normal, u is the one deferred (the control).

Caps: a -> b 40.00, a -> c 30.00; a holds 500.00 but its EUR cap is 50.00: debit 70.00 exceeds
it by 20.00; a -> c (30.00, the smallest that covers 20.00) is deferred with reason
``net_debit_cap``; a -> b settles. Under ``unwind="participants"`` a is excluded whole.
"""

from __future__ import annotations

import pytest
from clearing_helpers import fund, posted
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.errors import (
    IdempotencyConflictError,
    InvalidInputError,
    ObligationNotCancellableError,
    ObligationNotFoundError,
    ParticipantNotFoundError,
)


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def _register(ledger: Ledger, *names: str) -> None:
    for name in names:
        ledger.clearing.register_participant(name, "EUR")


def _priority_day(ledger: Ledger, urgent: bool) -> int:
    _register(ledger, "a", "b", "c")
    fund(ledger, "a", "EUR", "110.00")
    priority = "urgent" if urgent else "normal"
    ledger.clearing.submit("a", "b", eur("60.00"), "u", priority=priority)
    ledger.clearing.submit("a", "c", eur("100.00"), "n")
    return ledger.clearing.cutoff().id


def test_urgent_obligations_are_deferred_last(ledger: Ledger) -> None:
    cycle = _priority_day(ledger, urgent=True)
    report = ledger.clearing.settle(cycle)
    assert [(d.reference, d.reason) for d in report.deferred] == [("n", "shortfall")]
    assert posted(ledger, "b", "EUR") == 6000
    listed = {o.reference: o for o in ledger.clearing.obligations(cycle, include_deferred=True)}
    assert listed["u"].priority == "urgent" and listed["u"].status == "settled"
    assert listed["n"].priority == "normal" and listed["n"].status == "deferred"
    assert listed["n"].deferred_reason == "shortfall"


def test_without_priority_the_best_fit_is_deferred(ledger: Ledger) -> None:
    cycle = _priority_day(ledger, urgent=False)
    report = ledger.clearing.settle(cycle)
    assert [d.reference for d in report.deferred] == ["u"]


def test_priority_is_part_of_the_obligation(ledger: Ledger) -> None:
    _register(ledger, "a", "b")
    ledger.clearing.submit("a", "b", eur("1.00"), "p1", priority="urgent")
    again = ledger.clearing.submit("a", "b", eur("1.00"), "p1", priority="urgent")
    assert again.priority == "urgent"
    with pytest.raises(IdempotencyConflictError):
        ledger.clearing.submit("a", "b", eur("1.00"), "p1")
    with pytest.raises(InvalidInputError) as refused:
        ledger.clearing.submit("a", "b", eur("1.00"), "p2", priority="high")
    assert refused.value.details["field"] == "priority"
    assert [o.reference for o in ledger.clearing.obligations(ledger.clearing.open_cycle().id)] == [
        "p1"
    ]


def _capped_day(ledger: Ledger) -> int:
    _register(ledger, "b", "c")
    ledger.clearing.register_participant("a", "EUR", net_debit_caps={"EUR": eur("50.00")})
    fund(ledger, "a", "EUR", "500.00")
    ledger.clearing.submit("a", "b", eur("40.00"), "ab")
    ledger.clearing.submit("a", "c", eur("30.00"), "ac")
    return ledger.clearing.cutoff().id


def test_a_cap_defers_even_when_the_money_is_there(ledger: Ledger) -> None:
    cycle = _capped_day(ledger)
    assert ledger.clearing.participant("a").net_debit_caps == {"EUR": 5000}
    report = ledger.clearing.settle(cycle)
    assert [(d.reference, d.reason) for d in report.deferred] == [("ac", "net_debit_cap")]
    assert posted(ledger, "a", "EUR") == 50000 - 4000
    assert posted(ledger, "b", "EUR") == 4000
    assert posted(ledger, "c", "EUR") == 0


def test_under_the_participant_unwind_a_cap_breach_excludes(ledger: Ledger) -> None:
    cycle = _capped_day(ledger)
    report = ledger.clearing.settle(cycle, unwind="participants")
    assert list(report.excluded) == ["a"]
    assert sorted(d.reference for d in report.deferred) == ["ab", "ac"]
    assert posted(ledger, "a", "EUR") == 50000


def test_caps_change_and_are_removed(ledger: Ledger) -> None:
    cycle = _capped_day(ledger)
    clearing = ledger.clearing
    assert clearing.set_net_debit_cap("a", "EUR", eur("70.00")).net_debit_caps == {"EUR": 7000}
    assert clearing.settle(cycle, dry_run=True).deferred == ()
    assert clearing.set_net_debit_cap("a", "EUR", eur("0")).net_debit_caps == {"EUR": 0}
    assert len(clearing.settle(cycle, dry_run=True).deferred) == 2
    assert clearing.set_net_debit_cap("a", "EUR", None).net_debit_caps == {}
    # re-registering without caps keeps them; with caps replaces them
    clearing.set_net_debit_cap("a", "CNY", Money("10", "CNY"))
    assert clearing.register_participant("a", "EUR").net_debit_caps == {"CNY": 1000}
    replaced = clearing.register_participant("a", "EUR", net_debit_caps={"EUR": eur("1.00")})
    assert replaced.net_debit_caps == {"EUR": 100}
    assert replaced.to_dict()["net_debit_caps"] == {"EUR": "1.00"}
    report = clearing.settle(cycle)
    assert {d.reference for d in report.deferred} == {"ab", "ac"}


@pytest.mark.parametrize(
    ("currency", "amount", "error"),
    [
        ("EUR", Money("-1.00", "EUR"), InvalidInputError),
        ("EUR", Money("1.00", "USD"), InvalidInputError),
        ("XXX", Money("1.00", "EUR"), Exception),
        ("EUR", "1.00", InvalidInputError),
    ],
)
def test_bad_caps_are_refused(ledger: Ledger, currency: str, amount: object, error: type) -> None:
    _register(ledger, "a")
    with pytest.raises(error):
        ledger.clearing.set_net_debit_cap("a", currency, amount)  # type: ignore[arg-type]
    assert ledger.clearing.participant("a").net_debit_caps == {}
    with pytest.raises(ParticipantNotFoundError):
        ledger.clearing.set_net_debit_cap("nobody", "EUR", eur("1.00"))


def test_cancel_before_cutoff_removes_it_from_the_cycle(ledger: Ledger) -> None:
    _register(ledger, "a", "b")
    fund(ledger, "a", "EUR", "100.00")
    clearing = ledger.clearing
    clearing.submit("a", "b", eur("30.00"), "keep")
    clearing.submit("a", "b", eur("50.00"), "drop")
    open_id = clearing.open_cycle().id
    cancelled = clearing.cancel("drop")
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert cancelled.cycle_id == open_id
    assert clearing.cancel("drop") == cancelled  # again: a no-op
    assert clearing.submit("a", "b", eur("50.00"), "drop").status == "cancelled"
    statuses = {o.reference: o.status for o in clearing.obligations(open_id)}
    assert statuses == {"keep": "pending", "drop": "cancelled"}
    frozen = clearing.cutoff()
    assert frozen.obligations == 1
    assert clearing.net(frozen.id).summaries["EUR"].gross_minor == 3000
    with pytest.raises(ObligationNotCancellableError) as refused:
        clearing.cancel("keep")
    assert refused.value.code == "OBLIGATION_NOT_CANCELLABLE"
    assert refused.value.details["cycle"] == frozen.id
    report = clearing.settle(frozen.id)
    assert report.deferred == ()
    assert posted(ledger, "b", "EUR") == 3000
    with pytest.raises(ObligationNotCancellableError):
        clearing.cancel("keep")
    listed = {o.reference: o.status for o in clearing.obligations(frozen.id, include_deferred=True)}
    assert listed == {"keep": "settled", "drop": "cancelled"}
    assert clearing.obligations(clearing.open_cycle().id) == []


def test_cancel_an_unknown_reference(ledger: Ledger) -> None:
    with pytest.raises(ObligationNotFoundError) as refused:
        ledger.clearing.cancel("nope")
    assert refused.value.code == "OBLIGATION_NOT_FOUND"


def test_a_carried_obligation_can_be_cancelled_in_the_next_cycle(ledger: Ledger) -> None:
    cycle = _priority_day(ledger, urgent=True)
    ledger.clearing.settle(cycle)
    cancelled = ledger.clearing.cancel("n")
    assert cancelled.cycle_id == cycle + 1 and cancelled.first_cycle_id == cycle
    frozen = ledger.clearing.cutoff()
    assert frozen.obligations == 0
    # cycle `cycle` still lists it as deferred from it
    listed = {
        o.reference: o.status for o in ledger.clearing.obligations(cycle, include_deferred=True)
    }
    assert listed == {"u": "settled", "n": "deferred"}


def test_a_failed_unit_of_work_keeps_no_cancel_or_cap(ledger: Ledger) -> None:
    _register(ledger, "a", "b")
    ledger.clearing.submit("a", "b", eur("5.00"), "x")
    with pytest.raises(ObligationNotFoundError), ledger.transaction() as tx:
        tx.clearing.cancel("x")
        tx.clearing.set_net_debit_cap("a", "EUR", eur("1.00"))
        tx.clearing.cancel("missing")
    assert [o.status for o in ledger.clearing.obligations(ledger.clearing.open_cycle().id)] == [
        "pending"
    ]
    assert ledger.clearing.participant("a").net_debit_caps == {}

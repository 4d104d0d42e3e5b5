"""The clearing book inside one unit of work (``tx.clearing``): all or nothing, both backends.

One unit: register p and q, fund p 100.00 EUR, submit p -> q 30.00, an order p -> q of 50.00 at
a 1.5% platform fee (0.75: q is owed 49.25), cut off, settle. p pays 80.00; q receives 79.25;
the platform 0.75. A last step that fails rolls every one of those back.
"""

from __future__ import annotations

import pytest
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.clearing import PLATFORM, CycleReport
from jiaolong_ledger.errors import AccountNotFoundError
from jiaolong_ledger.unit_of_work import UnitOfWork


def _eur(amount: str) -> Money:
    return Money(amount, "EUR")


def _fund_and_settle(tx: UnitOfWork) -> CycleReport:
    clearing = tx.clearing
    clearing.register_participant("p", "EUR")
    clearing.register_participant("q", "EUR")
    tx.ensure_account("platform:bank:EUR", "EUR", "asset")
    cash = "participant:p:cash:EUR"
    tx.ensure_account(cash, "EUR", "liability", "debits_must_not_exceed_credits")
    tx.post(
        Entry(
            key="test/deposit/p",
            postings=[debit("platform:bank:EUR", _eur("100.00")), credit(cash, _eur("100.00"))],
        )
    )
    clearing.submit("p", "q", _eur("30.00"), "r-1")
    order = clearing.submit_order("o-1", "p", "q", _eur("50.00"), fee_rate="0.015")
    owed = {o.reference: (o.payee, o.amount_minor) for o in order}
    assert owed == {"order:o-1": ("q", 4_925), "order:o-1:fee": (PLATFORM, 75)}
    cycle = clearing.cutoff()
    assert cycle.obligations == 3
    preview = clearing.settle(cycle.id, dry_run=True)
    assert preview.dry_run and not preview.excluded  # sees the deposit made in this unit
    return clearing.settle(cycle.id)


def test_a_unit_that_fails_at_the_end_keeps_nothing(ledger: Ledger) -> None:
    entries_before = len(list(ledger.entries()))
    with pytest.raises(AccountNotFoundError), ledger.transaction() as tx:
        report = _fund_and_settle(tx)
        assert report.status == "settled"
        assert tx.balance("participant:q:cash:EUR").posted_minor == 7_925
        tx.balance("no:such:account")
    assert ledger.clearing.participants() == []
    assert ledger.clearing.cycles() == []
    assert len(list(ledger.entries())) == entries_before
    assert not ledger.accounts(prefix="participant:")


def test_a_unit_that_succeeds_commits_every_step(ledger: Ledger) -> None:
    with ledger.transaction() as tx:
        report = _fund_and_settle(tx)
    assert ledger.clearing.report(report.cycle_id) == report
    assert ledger.clearing.cycle(report.cycle_id).status == "settled"
    assert ledger.balance("participant:p:cash:EUR").posted_minor == 2_000
    assert ledger.balance("participant:q:cash:EUR").posted_minor == 7_925
    assert ledger.balance("platform:fees:EUR").posted_minor == 75
    assert ledger.balance("clearing:settlement:EUR").is_zero()


def test_a_settlement_run_iterated_inside_a_unit_commits_with_it(ledger: Ledger) -> None:
    """The CLI's staged run on a bound book settles in the caller's unit of work."""
    with ledger.transaction() as tx:
        tx.clearing.submit_order("o-2", "p", "q", _eur("10.00"))
    with ledger.transaction() as tx:
        tx.ensure_account("platform:bank:EUR", "EUR", "asset")
        tx.ensure_account(
            "participant:p:cash:EUR", "EUR", "liability", "debits_must_not_exceed_credits"
        )
        tx.post(
            Entry(
                key="test/deposit/p",
                postings=[
                    debit("platform:bank:EUR", _eur("10.00")),
                    credit("participant:p:cash:EUR", _eur("10.00")),
                ],
            )
        )
    cycle = ledger.clearing.cutoff().id
    with pytest.raises(AccountNotFoundError), ledger.transaction() as tx:
        run = tx.clearing.settlement(cycle)
        assert list(run) == ["lock", "net", "fund", "instruct", "post", "record"]
        assert run.report is not None and run.report.status == "settled"
        tx.balance("no:such:account")
    assert ledger.clearing.cycle(cycle).status == "frozen"
    assert ledger.balance("participant:p:cash:EUR").posted_minor == 1_000
    run = ledger.clearing.settlement(cycle)
    assert len(run) == 6 and list(run)[-1] == "record"
    assert ledger.balance("participant:q:cash:EUR").posted_minor == 1_000

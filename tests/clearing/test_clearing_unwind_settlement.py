"""The obligation unwind through ``ledger.clearing.settle`` (both backends): the gridlock of
issue 12, the worked example's day, the fallback to the participant exclusion, the report's new
fields (stored, read back, old reports, text) and the unit of work.

Gridlock: a -> b 100.00, b -> c 100.00, c -> a 100.00, a -> d 50.00; a holds 20.00, nobody else
anything. a's net debit is 50.00 (the ring nets to zero for it): short by 30.00.
- ``unwind="obligations"`` (default): a's only choice besides the ring is a -> d (50.00 covers the
  shortfall on its own): deferred. The ring settles (300.00, all nets zero: nothing moves).
- ``unwind="participants"``: a is excluded, which leaves b owing c 100.00 with nothing: b is
  excluded; nothing settles.

Worked example (test_clearing_worked_examples): crafts is short 70.00 in EUR with outgoing E2
(crafts -> aurora 450.00) and E4 (crafts -> brocade 120.00); both payees absorb the loss, E4 is
the smallest that covers 70.00: E4 alone is deferred. EUR then: aurora +170.00, brocade -20.00
(has 100.00), crafts -150.00 (has 200.00); 4 obligations, gross 890.00 of 1,010.00 submitted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from clearing_helpers import Fund, fund, posted
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.clearing import CycleReport
from jiaolong_ledger.clearing.model import Deferral, SettledValue
from jiaolong_ledger.clearing.render import report_lines
from jiaolong_ledger.errors import AccountNotFoundError, InvalidInputError

GRIDLOCK = [
    ("g-ab", "a", "b", "100.00"),
    ("g-bc", "b", "c", "100.00"),
    ("g-ca", "c", "a", "100.00"),
    ("g-ad", "a", "d", "50.00"),
]


def _gridlock(ledger: Ledger) -> int:
    clearing = ledger.clearing
    for name in "abcd":
        clearing.register_participant(name, "EUR")
    fund(ledger, "a", "EUR", "20.00")
    for reference, payer, payee, amount in GRIDLOCK:
        clearing.submit(payer, payee, Money(amount, "EUR"), reference)
    return clearing.cutoff().id


def test_gridlock_settles_the_ring_and_defers_the_tail(ledger: Ledger) -> None:
    cycle_id = _gridlock(ledger)
    submitted = {o.reference: o for o in ledger.clearing.obligations(cycle_id)}
    report = ledger.clearing.settle(cycle_id)
    assert report.unwind == "obligations" and report.exclusions == ()
    assert report.deferred == (Deferral("g-ad", "a", "d", 5000, "EUR", "shortfall"),)
    assert report.settled_value == (SettledValue("EUR", 4, 35000, 3, 30000),)
    assert report.value("EUR").deferred_gross_minor == 5000
    assert report.obligations_settled == 3 and report.obligations_carried == 1
    assert {p.participant: p.net_minor for p in report.positions} == {"a": 0, "b": 0, "c": 0}
    assert posted(ledger, "a", "EUR") == 2000  # the ring moved no money
    carried = ledger.clearing.obligations(cycle_id + 1)
    assert [(o.reference, o.first_cycle_id) for o in carried] == [("g-ad", cycle_id)]
    assert carried[0].submitted_at == submitted["g-ad"].submitted_at
    assert sorted(o.reference for o in ledger.clearing.obligations(cycle_id)) == [
        "g-ab",
        "g-bc",
        "g-ca",
    ]
    assert ledger.clearing.report(cycle_id) == report
    assert ledger.verify().ok


def test_gridlock_under_the_participant_unwind_settles_nothing(
    make_ledger: Callable[[], Ledger],
) -> None:
    by_obligations, by_participants = make_ledger(), make_ledger()
    obligations = by_obligations.clearing.settle(_gridlock(by_obligations))
    cycle_id = _gridlock(by_participants)
    participants = by_participants.clearing.settle(cycle_id, unwind="participants")
    assert participants.unwind == "participants" and participants.excluded == ("a", "b")
    assert participants.settled_value == (SettledValue("EUR", 4, 35000, 0, 0),)
    assert [(d.reference, d.reason) for d in participants.deferred] == [
        (reference, "counterparty_excluded") for reference in ("g-ab", "g-ad", "g-bc", "g-ca")
    ]
    assert participants.obligations_carried == 4
    carried = by_participants.clearing.obligations(cycle_id + 1)
    assert sorted(o.reference for o in carried) == sorted(r for r, *_ in GRIDLOCK)
    assert obligations.value("EUR").settled_gross_minor == 30000


def _worked_example(ledger: Ledger, funded: Fund) -> int:
    clearing = ledger.clearing
    for name, currency in [("aurora", "EUR"), ("brocade", "CNY"), ("crafts", "EUR")]:
        clearing.register_participant(name, currency)
    clearing.register_participant("dunhuang", "CNY")
    for name, currency, amount in [
        ("aurora", "EUR", "1000.00"),
        ("brocade", "EUR", "100.00"),
        ("brocade", "CNY", "10000.00"),
        ("crafts", "EUR", "200.00"),
        ("dunhuang", "CNY", "500.00"),
    ]:
        funded(name, currency, amount)
    for reference, payer, payee, amount, currency in [
        ("E1", "aurora", "crafts", "300.00", "EUR"),
        ("E2", "crafts", "aurora", "450.00", "EUR"),
        ("E3", "brocade", "aurora", "80.00", "EUR"),
        ("E4", "crafts", "brocade", "120.00", "EUR"),
        ("E5", "aurora", "brocade", "60.00", "EUR"),
        ("C1", "brocade", "dunhuang", "4000.00", "CNY"),
        ("C2", "dunhuang", "brocade", "1500.00", "CNY"),
        ("C3", "dunhuang", "aurora", "3000.00", "CNY"),
    ]:
        clearing.submit(payer, payee, Money(amount, currency), reference)
    clearing.submit_order(
        "o-77", "brocade", "dunhuang", Money("1000.00", "CNY"), Money("20.00", "CNY")
    )
    return clearing.cutoff().id


def test_worked_example_defers_one_obligation_instead_of_a_participant(
    ledger: Ledger, funded: Fund
) -> None:
    cycle_id = _worked_example(ledger, funded)
    preview = ledger.clearing.settle(cycle_id, dry_run=True)
    whole = ledger.clearing.settle(cycle_id, dry_run=True, unwind="participants")
    report = ledger.clearing.settle(cycle_id)
    assert report.deferred == (Deferral("E4", "crafts", "brocade", 12000, "EUR", "shortfall"),)
    assert report.exclusions == () and report.rounds == 2
    nets = {
        (p.participant, p.currency): p.net_minor for p in report.positions if p.currency == "EUR"
    }
    assert nets == {("aurora", "EUR"): 17000, ("brocade", "EUR"): -2000, ("crafts", "EUR"): -15000}
    eur = report.currency("EUR")
    assert (eur.obligations, eur.gross_minor, eur.net_minor) == (4, 89000, 17000)
    assert report.settled_value == (
        SettledValue("CNY", 5, 950000, 5, 950000),
        SettledValue("EUR", 5, 101000, 4, 89000),
    )
    assert whole.value("EUR").settled_gross_minor == 14000  # crafts excluded: E3 + E5 only
    assert (preview.positions, preview.deferred, preview.settled_value) == (
        report.positions,
        report.deferred,
        report.settled_value,
    )
    assert posted(ledger, "aurora", "EUR") == 117000
    assert posted(ledger, "brocade", "EUR") == 8000
    assert posted(ledger, "crafts", "EUR") == 5000
    assert [o.reference for o in ledger.clearing.obligations(cycle_id + 1)] == ["E4"]


def _fixing(ledger: Ledger) -> None:
    as_of = ledger.clock() - timedelta(hours=1)
    ledger.fx.set_rate("EUR", "KZT", "561.40", as_of, "NBK")


def test_a_shortfall_the_rule_cannot_reach_falls_back_to_exclusion(
    ledger: Ledger, funded: Fund
) -> None:
    """khorgos owes lyon KZT 1,122,800.00 settled in EUR (= EUR 2,000.00 at 561.40) and is owed
    EUR 500.00 by lyon; it holds EUR 1,000.00. Its debit comes from a converted obligation,
    which the rule never defers, and deferring lyon's EUR 500.00 would only make it worse: the
    rule defers nothing, the participant exclusion takes khorgos for the remainder."""
    _fixing(ledger)
    clearing = ledger.clearing
    for name, currency in [("khorgos", "KZT"), ("lyon", "EUR"), ("riga", "EUR")]:
        clearing.register_participant(name, currency)
    funded("khorgos", "EUR", "1000.00")
    funded("riga", "EUR", "10.00")
    clearing.submit("khorgos", "lyon", Money("1122800.00", "KZT"), "k1", settlement_currency="EUR")
    clearing.submit("lyon", "khorgos", Money("500.00", "EUR"), "e1")
    clearing.submit("riga", "lyon", Money("10.00", "EUR"), "e2")
    cycle_id = clearing.cutoff().id
    report = clearing.settle(cycle_id)
    assert report.unwind == "obligations" and report.excluded == ("khorgos",)
    assert report.exclusions[0].round == 2 and report.rounds == 3
    assert report.exclusions[0].obligations_carried == 2
    assert [(d.reference, d.currency, d.amount_minor, d.reason) for d in report.deferred] == [
        ("e1", "EUR", 50000, "counterparty_excluded"),
        ("k1", "KZT", 112280000, "counterparty_excluded"),
    ]
    assert report.settled_value == (SettledValue("EUR", 3, 251000, 1, 1000),)
    assert {p.participant: p.net_minor for p in report.positions} == {"lyon": 1000, "riga": -1000}
    assert sorted(o.reference for o in clearing.obligations(cycle_id + 1)) == ["e1", "k1"]
    assert ledger.balance("clearing:settlement:EUR").is_zero()


def test_an_unknown_unwind_is_invalid_input_and_writes_nothing(ledger: Ledger) -> None:
    cycle_id = _gridlock(ledger)
    trial = ledger.trial_balance()
    for call in (
        lambda: ledger.clearing.settle(cycle_id, unwind="everyone"),
        lambda: ledger.clearing.settle(cycle_id, dry_run=True, unwind="Obligations"),
        lambda: ledger.clearing.settlement(cycle_id, unwind=""),
        lambda: ledger.clearing.report(cycle_id, unwind="none"),
    ):
        with pytest.raises(InvalidInputError) as raised:
            call()
        assert raised.value.details["allowed"] == ["obligations", "participants"]
    assert ledger.trial_balance() == trial
    assert ledger.clearing.cycle(cycle_id).status == "frozen"


def test_a_preview_report_takes_the_unwind(ledger: Ledger) -> None:
    cycle_id = _gridlock(ledger)
    assert ledger.clearing.report(cycle_id).value("EUR").settled_gross_minor == 30000
    whole = ledger.clearing.report(cycle_id, unwind="participants")
    assert whole.dry_run and whole.unwind == "participants" and whole.excluded == ("a", "b")


def test_a_settlement_run_with_an_unwind_iterates_its_stages(ledger: Ledger) -> None:
    cycle_id = _gridlock(ledger)
    run = ledger.clearing.settlement(cycle_id, unwind="participants")
    assert list(run) == ["lock", "net", "fund", "instruct", "post", "record"]
    assert run.report is not None and run.report.excluded == ("a", "b")


def test_a_unit_that_fails_after_deferring_keeps_nothing(ledger: Ledger) -> None:
    cycle_id = _gridlock(ledger)
    with pytest.raises(AccountNotFoundError), ledger.transaction() as tx:
        report = tx.clearing.settle(cycle_id)
        assert [d.reference for d in report.deferred] == ["g-ad"]
        assert [o.reference for o in tx.clearing.obligations(cycle_id + 1)] == ["g-ad"]
        tx.balance("no:such:account")
    assert ledger.clearing.cycle(cycle_id).status == "frozen"
    assert len(ledger.clearing.obligations(cycle_id)) == 4
    assert ledger.clearing.obligations(cycle_id + 1) == []


def test_report_round_trips_and_old_reports_read_with_defaults(ledger: Ledger) -> None:
    report = ledger.clearing.settle(_gridlock(ledger))
    data = report.to_dict()
    assert data["unwind"] == "obligations"
    assert data["settled_value"] == [
        {
            "currency": "EUR",
            "submitted_obligations": 4,
            "submitted_gross": "350.00",
            "settled_obligations": 3,
            "settled_gross": "300.00",
            "deferred_obligations": 1,
            "deferred_gross": "50.00",
            "settled_share": "0.8571",
        }
    ]
    assert data["deferred"] == [
        {
            "reference": "g-ad",
            "payer": "a",
            "payee": "d",
            "amount": "50.00",
            "currency": "EUR",
            "reason": "shortfall",
        }
    ]
    assert CycleReport.from_dict(data) == report
    for key in ("unwind", "settled_value", "deferred"):
        del data[key]
    old = CycleReport.from_dict(data)
    assert (old.unwind, old.settled_value, old.deferred) == ("participants", (), ())
    assert not any("settled value" in line for line in report_lines(old))


def test_text_report_shows_the_unwind_value_and_deferred(ledger: Ledger) -> None:
    lines = report_lines(ledger.clearing.settle(_gridlock(ledger)))
    text = "\n".join(lines)
    assert "unwind: obligations" in lines[1]
    assert "settled value (unwind: obligations)" in text and "85.71%" in text
    assert "carried to the next cycle (1 obligations, by reference)" in text
    assert any(line.split()[:3] == ["g-ad", "a", "d"] and "shortfall" in line for line in lines)

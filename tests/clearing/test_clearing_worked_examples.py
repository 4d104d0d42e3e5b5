"""Worked examples, checked by hand: 4 participants (+ the platform), 2 currencies, one short.

These settle with ``unwind="participants"`` (the whole-participant exclusion, computed below);
the same day under the default obligation unwind is in ``test_clearing_unwind_settlement``.

Participants and opening funds (settlement accounts participant:<name>:cash:<CCY>):
    aurora    (DE, settles EUR)  EUR 1,000.00
    brocade   (CN, settles CNY)  EUR   100.00, CNY 10,000.00
    crafts    (PL, settles EUR)  EUR   200.00
    dunhuang  (CN, settles CNY)  CNY   500.00

Obligations of cycle 1:
    E1 aurora  -> crafts     EUR   300.00
    E2 crafts  -> aurora     EUR   450.00
    E3 brocade -> aurora     EUR    80.00
    E4 crafts  -> brocade    EUR   120.00
    E5 aurora  -> brocade    EUR    60.00
    C1 brocade -> dunhuang   CNY 4,000.00
    C2 dunhuang -> brocade   CNY 1,500.00
    C3 dunhuang -> aurora    CNY 3,000.00
    order o-77 (deferred net): buyer brocade, seller dunhuang, CNY 1,000.00, fee CNY 20.00
       -> brocade -> dunhuang CNY 980.00 and brocade -> platform CNY 20.00

Round 1, EUR:  aurora  -300 +450 +80 -60  = +170.00
               brocade  -80 +120 +60      = +100.00
               crafts  +300 -450 -120     = -270.00   available 200.00 -> SHORT by 70.00
          CNY: brocade -4000 +1500 -980 -20 = -3500.00 (available 10,000.00: ok)
               dunhuang +4000 -1500 -3000 +980 = +480.00; aurora +3000.00; platform +20.00
crafts is the only short participant: excluded; E1, E2, E4 (its obligations, both directions)
carry to cycle 2.
Round 2, EUR:  E3, E5 only: aurora +80 -60 = +20.00; brocade -80 +60 = -20.00 (has 100: ok)
          CNY: unchanged (crafts had no CNY obligation). Everyone can fund: stop.

Report:  EUR gross 140.00 (E3 + E5), net 20.00, efficiency 1 - 20/140 = 0.8571 (2 obligations)
         CNY gross 4000+1500+3000+980+20 = 9,500.00, net 3,500.00,
             efficiency 1 - 3500/9500 = 0.6316 (5 obligations)
Instructions (minimum: EUR 2 positions -> 1; CNY 4 positions, no zero-sum subgroup -> 3):
         brocade -> aurora EUR 20.00
         brocade -> aurora CNY 3,000.00; brocade -> dunhuang CNY 480.00;
         brocade -> platform CNY 20.00
Balances after settlement:
         aurora EUR 1,020.00, CNY 3,000.00 (account opened by the settlement)
         brocade EUR 80.00, CNY 6,500.00; crafts EUR 200.00 (untouched); dunhuang CNY 980.00
         platform:fees:CNY 20.00; clearing:settlement:EUR and :CNY zero.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from clearing_helpers import Fund, fund, posted
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.clearing import Instruction
from jiaolong_ledger.errors import CycleAlreadySettledError, CycleNotFrozenError


def _setup_cycle_one(ledger: Ledger, funded: Fund) -> int:
    clearing = ledger.clearing
    clearing.register_participant("aurora", "EUR", country="DE", iban="DE89370400440532013000")
    clearing.register_participant("brocade", "CNY", country="CN", other_id="6222021234567890")
    clearing.register_participant("crafts", "EUR", country="PL")
    clearing.register_participant("dunhuang", "CNY", country="CN", other_id="6217001234567")
    funded("aurora", "EUR", "1000.00")
    funded("brocade", "EUR", "100.00")
    funded("brocade", "CNY", "10000.00")
    funded("crafts", "EUR", "200.00")
    funded("dunhuang", "CNY", "500.00")
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


def _check_report(report: object) -> None:
    from jiaolong_ledger.clearing import CycleReport

    assert isinstance(report, CycleReport)
    eur, cny = report.currency("EUR"), report.currency("CNY")
    assert (eur.gross_minor, eur.net_minor, eur.obligations) == (14000, 2000, 2)
    assert eur.efficiency == Decimal("0.8571")
    assert (cny.gross_minor, cny.net_minor, cny.obligations) == (950000, 350000, 5)
    assert cny.efficiency == Decimal("0.6316")
    nets = {(p.participant, p.currency): p.net_minor for p in report.positions}
    assert nets == {
        ("aurora", "EUR"): 2000,
        ("brocade", "EUR"): -2000,
        ("aurora", "CNY"): 300000,
        ("brocade", "CNY"): -350000,
        ("dunhuang", "CNY"): 48000,
        ("platform", "CNY"): 2000,
    }
    assert report.excluded == ("crafts",)
    crafts = report.exclusions[0]
    assert (crafts.round, crafts.currency, crafts.required_minor, crafts.available_minor) == (
        1,
        "EUR",
        27000,
        20000,
    )
    assert crafts.obligations_carried == 3
    assert report.rounds == 2
    assert report.obligations_settled == 7
    assert set(report.instructions) == {
        Instruction("brocade", "aurora", "EUR", 2000),
        Instruction("brocade", "aurora", "CNY", 300000),
        Instruction("brocade", "dunhuang", "CNY", 48000),
        Instruction("brocade", "platform", "CNY", 2000),
    }
    assert (eur.instruction_count, cny.instruction_count) == (1, 3)
    assert eur.instruction_method == cny.instruction_method == "exact"


def test_worked_example_settles_as_computed_by_hand(ledger: Ledger, funded: Fund) -> None:
    cycle_id = _setup_cycle_one(ledger, funded)
    report = ledger.clearing.settle(cycle_id, unwind="participants")
    _check_report(report)
    assert report.status == "settled" and not report.dry_run
    assert report.obligations_carried == 3 and report.carried_to_cycle == cycle_id + 1
    assert posted(ledger, "aurora", "EUR") == 102000
    assert posted(ledger, "aurora", "CNY") == 300000
    assert posted(ledger, "brocade", "EUR") == 8000
    assert posted(ledger, "brocade", "CNY") == 650000
    assert posted(ledger, "crafts", "EUR") == 20000
    assert posted(ledger, "dunhuang", "CNY") == 98000
    assert ledger.balance("platform:fees:CNY").posted_minor == 2000
    for currency in ("EUR", "CNY"):
        assert ledger.balance(f"clearing:settlement:{currency}").is_zero()
    carried = ledger.clearing.obligations(cycle_id + 1)
    assert sorted(o.reference for o in carried) == ["E1", "E2", "E4"]
    assert all(o.first_cycle_id == cycle_id for o in carried)
    entries = [ledger.entry(key) for key in report.entry_keys]
    assert {entry.kind for entry in entries} == {"settlement"}
    assert ledger.verify().ok
    # The stored report is the one returned.
    assert ledger.clearing.report(cycle_id) == report


def test_dry_run_reports_the_same_and_posts_nothing(ledger: Ledger, funded: Fund) -> None:
    cycle_id = _setup_cycle_one(ledger, funded)
    trial_before = ledger.trial_balance()
    report = ledger.clearing.settle(cycle_id, dry_run=True, unwind="participants")
    _check_report(report)
    assert report.dry_run and report.status == "dry-run" and report.entry_keys == ()
    assert report.obligations_carried == 3
    assert ledger.trial_balance() == trial_before
    assert ledger.clearing.cycle(cycle_id).status == "frozen"
    assert len(ledger.clearing.obligations(cycle_id)) == 10
    # Settling for real afterwards gives the same figures.
    _check_report(ledger.clearing.settle(cycle_id, unwind="participants"))


def test_rerun_is_refused_and_changes_nothing(ledger: Ledger, funded: Fund) -> None:
    cycle_id = _setup_cycle_one(ledger, funded)
    ledger.clearing.settle(cycle_id)
    trial = ledger.trial_balance()
    with pytest.raises(CycleAlreadySettledError) as raised:
        ledger.clearing.settle(cycle_id)
    assert raised.value.details["cycle"] == cycle_id
    with pytest.raises(CycleAlreadySettledError):
        ledger.clearing.settle(cycle_id, dry_run=True)
    assert ledger.trial_balance() == trial


def test_carried_obligations_settle_next_cycle_once_funded(ledger: Ledger, funded: Fund) -> None:
    """The runbook's recovery: the short participant tops up; the next cycle settles it.

    Cycle 2 holds E1 aurora->crafts 300, E2 crafts->aurora 450, E4 crafts->brocade 120:
    crafts -270, aurora +150, brocade +120. crafts tops up 70.00 -> available 270.00: exact fit.
    """
    cycle_id = _setup_cycle_one(ledger, funded)
    ledger.clearing.settle(cycle_id, unwind="participants")
    funded("crafts", "EUR", "70.00")
    second = ledger.clearing.cutoff()
    assert second.id == cycle_id + 1 and second.obligations == 3
    report = ledger.clearing.settle(second.id)
    assert report.excluded == ()
    assert posted(ledger, "crafts", "EUR") == 0
    assert posted(ledger, "aurora", "EUR") == 102000 + 15000
    assert posted(ledger, "brocade", "EUR") == 8000 + 12000
    assert report.currency("EUR").gross_minor == 87000


def test_unwind_excludes_one_at_a_time(ledger: Ledger, funded: Fund) -> None:
    """Excluding the least-covered participant can cure another one.

    a -> c 500.00 (a has 0), b -> a 300.00 (b has 100.00), c -> b 100.00 (c has 1,000.00).
    Round 1: a -200 (covered 0 %), b -200 (covered 50 %), c +400. a is excluded first.
    Round 2: only c -> b 100: c -100 (ok), b +100. b was short only because of what it owed a:
    it stays in. (Excluding every short participant at once would have dropped b too.)
    """
    clearing = ledger.clearing
    for name in "abc":
        clearing.register_participant(name, "EUR")
    funded("a", "EUR", "0.01")
    funded("b", "EUR", "100.00")
    funded("c", "EUR", "1000.00")
    clearing.submit("a", "c", Money("500.00", "EUR"), "x1")
    clearing.submit("b", "a", Money("300.00", "EUR"), "x2")
    clearing.submit("c", "b", Money("100.00", "EUR"), "x3")
    report = clearing.settle(clearing.cutoff().id, unwind="participants")
    assert report.excluded == ("a",) and report.rounds == 2
    assert report.instructions == (Instruction("c", "b", "EUR", 10000),)
    assert posted(ledger, "b", "EUR") == 20000


def test_unwind_repeats_until_every_payer_can_fund(ledger: Ledger, funded: Fund) -> None:
    """Excluding one participant can make another short; the loop goes on.

    e -> d 300.00 (e has 10.00), d -> f 200.00 (d has 50.00), f -> g 10.00 (f has 10.00).
    Round 1: e -300 (short), d +100, f +190, g +10. e excluded.
    Round 2: d -200 (has 50: short), f +190, g +10. d excluded.
    Round 3: f -10 (has 10: ok), g +10. Settles f -> g 10.00.
    """
    clearing = ledger.clearing
    for name in "defg":
        clearing.register_participant(name, "EUR")
    funded("e", "EUR", "10.00")
    funded("d", "EUR", "50.00")
    funded("f", "EUR", "10.00")
    clearing.submit("e", "d", Money("300.00", "EUR"), "y1")
    clearing.submit("d", "f", Money("200.00", "EUR"), "y2")
    clearing.submit("f", "g", Money("10.00", "EUR"), "y3")
    cycle_id = clearing.cutoff().id
    report = clearing.settle(cycle_id, unwind="participants")
    assert report.excluded == ("e", "d") and report.rounds == 3
    assert [e.round for e in report.exclusions] == [1, 2]
    assert report.exclusions[1].required_minor == 20000
    assert report.exclusions[1].available_minor == 5000
    assert report.instructions == (Instruction("f", "g", "EUR", 1000),)
    assert report.obligations_carried == 2
    assert sorted(o.reference for o in clearing.obligations(cycle_id + 1)) == ["y1", "y2"]


def test_pending_debits_reduce_what_a_payer_can_fund(ledger: Ledger, funded: Fund) -> None:
    """The check uses the available balance: posted minus pending debits."""
    from jiaolong_ledger import Entry, credit, debit

    clearing = ledger.clearing
    clearing.register_participant("p", "EUR")
    clearing.register_participant("q", "EUR")
    funded("p", "EUR", "100.00")
    ledger.ensure_account("platform:escrow:hold", currency="EUR", kind="liability")
    ledger.post(
        Entry(
            key="hold",
            pending=True,
            postings=[
                debit("participant:p:cash:EUR", Money("60.00", "EUR")),
                credit("platform:escrow:hold", Money("60.00", "EUR")),
            ],
        )
    )
    clearing.submit("p", "q", Money("50.00", "EUR"), "z1")
    cycle_id = clearing.cutoff().id
    deferred = clearing.settle(cycle_id, dry_run=True)  # the default unwind defers z1 alone
    assert [(d.reference, d.reason) for d in deferred.deferred] == [("z1", "shortfall")]
    report = clearing.settle(cycle_id, unwind="participants")
    assert report.excluded == ("p",)
    assert report.exclusions[0].available_minor == 4000


def test_an_open_cycle_cannot_settle_but_can_be_previewed(ledger: Ledger, funded: Fund) -> None:
    clearing = ledger.clearing
    clearing.register_participant("p", "EUR")
    clearing.register_participant("q", "EUR")
    funded("p", "EUR", "100.00")
    clearing.submit("p", "q", Money("50.00", "EUR"), "open-1")
    open_id = clearing.open_cycle().id
    with pytest.raises(CycleNotFrozenError):
        clearing.settle(open_id)
    preview = clearing.report(open_id)
    assert preview.dry_run and preview.currency("EUR").gross_minor == 5000
    assert clearing.cycle(open_id).status == "open"


def test_settlement_is_atomic_when_a_posting_fails(ledger: Ledger, funded: Fund) -> None:
    """A payee whose registered settlement account does not exist: nothing is written."""
    from jiaolong_ledger.errors import AccountNotFoundError

    clearing = ledger.clearing
    clearing.register_participant("p", "EUR")
    clearing.register_participant("q", "EUR", accounts={"EUR": "participant:q:settlement:EUR"})
    funded("p", "EUR", "100.00")
    clearing.submit("p", "q", Money("50.00", "EUR"), "atomic-1")
    cycle_id = clearing.cutoff().id
    trial = ledger.trial_balance()
    with pytest.raises(AccountNotFoundError):
        clearing.settle(cycle_id)
    assert ledger.trial_balance() == trial
    assert clearing.cycle(cycle_id).status == "frozen"
    assert [o.cycle_id for o in clearing.obligations(cycle_id)] == [cycle_id]
    ledger.open_account(
        "participant:q:settlement:EUR",
        currency="EUR",
        kind="liability",
        constraint="debits_must_not_exceed_credits",
    )
    clearing.settle(cycle_id)
    assert ledger.balance("participant:q:settlement:EUR").posted_minor == 5000


def test_many_participants_split_into_several_entries(ledger: Ledger) -> None:
    """More participants than one entry may carry: several pay-in/pay-out entries, one commit."""
    from jiaolong_ledger.clearing.settlement import PAYMENTS_PER_ENTRY_MAX

    clearing = ledger.clearing
    payers = PAYMENTS_PER_ENTRY_MAX + 5
    clearing.register_participant("hub", "EUR")
    for index in range(payers):
        clearing.register_participant(f"m{index}", "EUR")
        fund(ledger, f"m{index}", "EUR", "1.00")
    from jiaolong_ledger.clearing import ObligationRequest

    clearing.submit_many(
        [
            ObligationRequest(f"m{index}", "hub", Money("1.00", "EUR"), f"m-{index}")
            for index in range(payers)
        ]
    )
    report = clearing.settle(clearing.cutoff().id)
    assert [key.rsplit("/", 2)[-2:] for key in report.entry_keys] == [
        ["pay-in", "1"],
        ["pay-in", "2"],
        ["pay-out", "1"],
    ]
    assert posted(ledger, "hub", "EUR") == payers * 100
    assert ledger.balance("clearing:settlement:EUR").is_zero()
    assert report.currency("EUR").instruction_method == "greedy"
    assert len(report.instructions) == payers

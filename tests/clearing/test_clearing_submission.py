"""Submitting obligations, idempotent references, participants, cut-off rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.clearing import PLATFORM, ObligationRequest
from jiaolong_ledger.errors import (
    AmountNotPositiveError,
    AmountPrecisionError,
    CurrencyMismatchError,
    CycleNotFoundError,
    IdempotencyConflictError,
    InvalidInputError,
    ParticipantNotFoundError,
)


@pytest.fixture
def two(ledger: Ledger) -> Ledger:
    ledger.clearing.register_participant("p", "EUR")
    ledger.clearing.register_participant("q", "CNY")
    return ledger


def test_duplicate_reference_is_idempotent(two: Ledger) -> None:
    clearing = two.clearing
    first = clearing.submit("p", "q", Money("10.00", "EUR"), "ref-1")
    again = clearing.submit("p", "q", Money("10.00", "EUR"), "ref-1")
    assert again == first
    result = clearing.submit_many(
        [
            ObligationRequest("p", "q", Money("10.00", "EUR"), "ref-1"),
            ObligationRequest("q", "p", Money("3.00", "EUR"), "ref-2"),
            ObligationRequest("q", "p", Money("3.00", "EUR"), "ref-2"),
        ]
    )
    assert (result.accepted, result.duplicates) == (1, 2)
    assert len(clearing.obligations(first.cycle_id)) == 2


def test_duplicate_reference_stays_in_its_cycle_after_cutoff(two: Ledger) -> None:
    clearing = two.clearing
    first = clearing.submit("p", "q", Money("10.00", "EUR"), "ref-1")
    clearing.cutoff()
    again = clearing.submit("p", "q", Money("10.00", "EUR"), "ref-1")
    assert again.cycle_id == first.cycle_id
    assert clearing.open_cycle().obligations == 0


def test_reused_reference_with_other_content_conflicts(two: Ledger) -> None:
    clearing = two.clearing
    clearing.submit("p", "q", Money("10.00", "EUR"), "ref-1")
    with pytest.raises(IdempotencyConflictError):
        clearing.submit("p", "q", Money("10.01", "EUR"), "ref-1")
    with pytest.raises(IdempotencyConflictError):
        clearing.submit_many(
            [
                ObligationRequest("q", "p", Money("1.00", "EUR"), "ref-new"),
                ObligationRequest("q", "p", Money("2.00", "EUR"), "ref-new"),
            ]
        )
    # A rejected batch writes nothing.
    assert [o.reference for o in clearing.obligations(clearing.open_cycle().id)] == ["ref-1"]


@pytest.mark.parametrize(
    ("payer", "payee", "amount", "error"),
    [
        ("p", "nobody", Money("1.00", "EUR"), ParticipantNotFoundError),
        ("p", "p", Money("1.00", "EUR"), InvalidInputError),
        ("p", "q", Money("0.00", "EUR"), AmountNotPositiveError),
        ("p", "q", Money("1.001", "EUR"), AmountPrecisionError),
        ("p", "q", Money("1.5", "JPY"), AmountPrecisionError),
    ],
)
def test_bad_obligations_are_refused(
    two: Ledger, payer: str, payee: str, amount: Money, error: type[Exception]
) -> None:
    with pytest.raises(error):
        two.clearing.submit(payer, payee, amount, "bad")
    assert two.clearing.open_cycle().obligations == 0


def test_submit_order_nets_purchases_against_sales_and_pays_the_platform(ledger: Ledger) -> None:
    clearing = ledger.clearing
    made = clearing.submit_order("o-1", "shu", "lyon", Money("100.00", "EUR"), Money("2.50", "EUR"))
    assert [(o.reference, o.payer, o.payee, o.amount_minor) for o in made] == [
        ("order:o-1", "shu", "lyon", 9750),
        ("order:o-1:fee", "shu", PLATFORM, 250),
    ]
    clearing.submit_order("o-2", "lyon", "shu", Money("60.00", "EUR"))
    netting = clearing.net(clearing.open_cycle().id)
    nets = {p.participant: p.net_minor for p in netting.positions.values()}
    assert nets == {"shu": -9750 - 250 + 6000, "lyon": 9750 - 6000, PLATFORM: 250}
    assert {p.name for p in clearing.participants()} == {"shu", "lyon", PLATFORM}
    assert clearing.participant(PLATFORM).settlement_account("EUR") == "platform:fees:EUR"


def test_submit_order_checks_fee(ledger: Ledger) -> None:
    with pytest.raises(CurrencyMismatchError):
        ledger.clearing.submit_order("o", "a", "b", Money("1.00", "EUR"), Money("0.10", "CNY"))
    with pytest.raises(InvalidInputError):
        ledger.clearing.submit_order("o", "a", "b", Money("1.00", "EUR"), Money("1.01", "EUR"))
    only_fee = ledger.clearing.submit_order(
        "o", "a", "b", Money("1.00", "EUR"), Money("1.00", "EUR")
    )
    assert [(o.reference, o.payee) for o in only_fee] == [("order:o:fee", PLATFORM)]


def test_submit_order_inside_a_callers_transaction(ledger: Ledger) -> None:
    """An adapter can submit within its own transaction: both commit or neither does."""
    from jiaolong_ledger.errors import AccountNotFoundError

    with pytest.raises(AccountNotFoundError), ledger.transaction() as tx:
        tx.clearing.submit_order("o-9", "a", "b", Money("5.00", "EUR"))
        tx.balance("no:such:account")
    assert ledger.clearing.participants() == []
    with ledger.transaction() as tx:
        tx.clearing.submit_order("o-9", "a", "b", Money("5.00", "EUR"))
    assert ledger.clearing.open_cycle().obligations == 1


def test_cutoff_freezes_and_opens_the_next_cycle(two: Ledger) -> None:
    clearing = two.clearing
    clearing.submit("p", "q", Money("1.00", "EUR"), "a")
    frozen = clearing.cutoff()
    assert frozen.status == "frozen" and frozen.obligations == 1
    clearing.submit("p", "q", Money("1.00", "EUR"), "b")
    opened = clearing.open_cycle()
    assert opened.id == frozen.id + 1 and opened.obligations == 1
    assert [c.status for c in clearing.cycles()] == ["frozen", "open"]
    assert clearing.cycle(frozen.id).obligations == 1


def test_obligations_stamped_after_the_cutoff_instant_go_to_the_next_cycle(two: Ledger) -> None:
    clearing = two.clearing
    now = datetime.now(UTC)
    clearing.submit("p", "q", Money("1.00", "EUR"), "early", at=now - timedelta(minutes=10))
    clearing.submit("p", "q", Money("1.00", "EUR"), "late", at=now - timedelta(minutes=1))
    frozen = clearing.cutoff(at=now - timedelta(minutes=5))
    assert [o.reference for o in clearing.obligations(frozen.id)] == ["early"]
    late = clearing.obligations(frozen.id + 1)
    assert [(o.reference, o.first_cycle_id) for o in late] == [("late", frozen.id + 1)]


def test_cutoff_time_rules(two: Ledger) -> None:
    clearing = two.clearing
    with pytest.raises(InvalidInputError):
        clearing.cutoff(at=datetime.now(UTC) + timedelta(hours=1))
    first = clearing.cutoff(at=datetime.now(UTC) - timedelta(minutes=1))
    assert first.cutoff_at is not None
    with pytest.raises(InvalidInputError):
        clearing.cutoff(at=first.cutoff_at - timedelta(seconds=1))
    with pytest.raises(InvalidInputError):  # the one timestamp rule: an offset is required
        clearing.cutoff(at=datetime(2026, 1, 1))  # naive


def test_unknown_cycle(two: Ledger) -> None:
    with pytest.raises(CycleNotFoundError):
        two.clearing.settle(999)
    with pytest.raises(CycleNotFoundError):
        two.clearing.report(999)


def test_registration_validates_bank_identifiers(ledger: Ledger) -> None:
    clearing = ledger.clearing
    registered = clearing.register_participant(
        "lodz", "EUR", iban="pl61 1090 1014 0000 0712 1981 2874", bic="wbkppl pp", country="PL"
    )
    assert registered.iban == "PL61109010140000071219812874" and registered.bic == "WBKPPLPP"
    with pytest.raises(InvalidInputError):
        clearing.register_participant("bad", "EUR", iban="PL62109010140000071219812874")
    with pytest.raises(InvalidInputError):
        clearing.register_participant("bad", "EUR", bic="WB1")
    with pytest.raises(InvalidInputError):
        clearing.register_participant("Bad Name", "EUR")
    with pytest.raises(InvalidInputError):
        clearing.register_participant("both", "EUR", iban=registered.iban, other_id="123")
    # Re-registering replaces the details.
    clearing.register_participant("lodz", "PLN", accounts={"EUR": "participant:lodz:eur:EUR"})
    again = clearing.participant("lodz")
    assert again.settlement_currency == "PLN" and again.iban is None
    assert again.settlement_account("EUR") == "participant:lodz:eur:EUR"
    assert again.settlement_account("CNY") == "participant:lodz:cash:CNY"
    with pytest.raises(ParticipantNotFoundError):
        clearing.participant("nobody")

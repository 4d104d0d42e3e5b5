"""The FX book inside a unit of work: its steps see each other and commit, or vanish, together."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fx_helpers import (
    AFTERNOON,
    FIXING,
    count_rates,
    count_revaluations,
    journal_length,
    open_cash,
)
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.errors import (
    ConstraintViolatedError,
    EntryNotFoundError,
    RateNotFoundError,
    RateStaleError,
)
from jiaolong_ledger.fx import FX, FxBook, FxSettings

DAY2 = FIXING + timedelta(days=1)
CLOSE = DAY2 + timedelta(hours=4)


def test_steps_of_a_unit_see_each_other_and_commit_together(eur_cny: Ledger) -> None:
    source = open_cash(eur_cny, "a", "CNY", "10000.00")
    target = open_cash(eur_cny, "a", "EUR")
    rates = count_rates(eur_cny)
    with eur_cny.transaction() as tx:
        tx.fx.set_rate("EUR", "CNY", "8.0", AFTERNOON, "desk")
        # The bound book reads on the unit's connection: the rate stored above is found.
        assert tx.fx.rate("CNY", "EUR", AFTERNOON).source == "desk"
        posted = tx.fx.exchange("u/1", source, target, Money("800.00", "CNY"), at=AFTERNOON)
        assert tx.balance(target).posted_minor == 10000
        tx.fx.set_rate("EUR", "CNY", "7.5", DAY2, "desk")
        result = tx.fx.revalue(CLOSE, "EUR")
    assert posted.metadata["fx"]["rate"] == "0.125"
    # The platform holds 800.00 CNY, now worth 106.67 EUR, for 100.00 EUR: a gain of 6.67 EUR.
    assert result.unrealised == Money("6.67", "EUR")
    assert count_rates(eur_cny) == rates + 2
    assert eur_cny.entry("u/1") == posted
    assert eur_cny.entry(result.entry_key or "").kind == "revaluation"
    assert eur_cny.balance(target).posted == Money("100.00", "EUR")
    assert eur_cny.balance("fx:unrealised:EUR").posted == Money("6.67", "EUR")
    assert eur_cny.fx.rate("EUR", "CNY", CLOSE).rate == Decimal("7.5")


def test_a_failing_last_step_keeps_nothing_of_the_unit(eur_cny: Ledger) -> None:
    source = open_cash(eur_cny, "a", "CNY", "1000.00")
    target = open_cash(eur_cny, "a", "EUR")
    rates, length = count_rates(eur_cny), journal_length(eur_cny)
    with pytest.raises(ConstraintViolatedError), eur_cny.transaction() as tx:
        tx.fx.set_rate("EUR", "CNY", "8.0", AFTERNOON, "desk")
        tx.fx.exchange("u/1", source, target, Money("800.00", "CNY"), at=AFTERNOON)
        tx.fx.revalue(CLOSE, "EUR")
        tx.post(  # 300.00 CNY more than what is left: the unit is rejected
            Entry(
                "u/withdraw",
                [
                    debit(source, Money("500.00", "CNY")),
                    credit("platform:bank:CNY", Money("500.00", "CNY")),
                ],
            )
        )
    assert count_rates(eur_cny) == rates
    assert count_revaluations(eur_cny) == 0
    assert journal_length(eur_cny) == length
    assert eur_cny.balance(source).posted == Money("1000.00", "CNY")
    assert eur_cny.accounts("fx:") == []
    with pytest.raises(EntryNotFoundError):
        eur_cny.entry("u/1")
    # The key is free again: the same exchange per call now posts at the committed rate.
    again = eur_cny.fx.exchange("u/1", source, target, Money("781.23", "CNY"), at=AFTERNOON)
    assert again.metadata["fx"]["source"] == "ECB"


def test_a_failing_fx_step_rolls_back_the_earlier_steps(eur_cny: Ledger) -> None:
    source = open_cash(eur_cny, "a", "CNY", "1000.00")
    target = open_cash(eur_cny, "a", "EUR")
    length = journal_length(eur_cny)
    with pytest.raises(RateNotFoundError), eur_cny.transaction() as tx:
        tx.fx.exchange("u/1", source, target, Money("781.23", "CNY"), at=AFTERNOON)
        tx.fx.revalue(CLOSE, "KZT")  # no KZT rate at all
    assert journal_length(eur_cny) == length
    assert count_revaluations(eur_cny) == 0
    assert eur_cny.balance(target).posted == Money("0.00", "EUR")


def test_configuration_is_shared_with_bound_books(eur_cny: Ledger) -> None:
    late = FIXING + timedelta(days=10)
    with pytest.raises(RateStaleError), eur_cny.transaction() as tx:
        tx.fx.rate("EUR", "CNY", late)
    eur_cny.fx.configure(max_age=timedelta(days=30), pivot="USD")
    with eur_cny.transaction() as tx:
        assert tx.fx.max_age == timedelta(days=30) and tx.fx.pivot == "USD"
        assert tx.fx.rate("EUR", "CNY", late).rate == Decimal("7.8123")


def test_the_book_is_the_one_fx_class() -> None:
    assert FX is FxBook
    assert FxSettings().pivot == "EUR" and FxSettings().max_age == timedelta(days=5)

"""Period-end revaluation: positions marked to market, gain or loss posted, idempotent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fx_helpers import AFTERNOON, FIXING, count_revaluations, journal_length, open_cash
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.errors import InvalidInputError, RateNotFoundError, UnknownCurrencyError

DAY2 = FIXING + timedelta(days=1)
CLOSE = DAY2 + timedelta(hours=4)


@pytest.fixture
def long_cny(eur_cny: Ledger) -> Ledger:
    """The platform bought 125,000.00 CNY for 16,000.41 EUR at 7.8123 CNY per EUR."""
    source = open_cash(eur_cny, "shu-brocade", "CNY", "200000.00")
    target = open_cash(eur_cny, "shu-brocade", "EUR")
    eur_cny.fx.exchange("x", source, target, Money("125000.00", "CNY"), at=AFTERNOON)
    return eur_cny


def test_a_stronger_cny_is_an_unrealised_gain(long_cny: Ledger) -> None:
    long_cny.fx.set_rate("EUR", "CNY", "7.5", DAY2, "ECB")
    result = long_cny.fx.revalue(CLOSE, "EUR")
    # 125,000.00 CNY / 7.5 = 16,666.67 EUR, against 16,000.41 EUR paid.
    assert result.unrealised == Money("666.26", "EUR")
    assert result.delta == Money("666.26", "EUR")
    assert {line["currency"]: line["value"] for line in result.lines} == {
        "CNY": "-16666.67",
        "EUR": "16000.41",
    }
    entry = long_cny.entry(result.entry_key or "")
    assert entry.kind == "revaluation" and entry.effective_at == CLOSE
    assert [(p.account, p.side, p.amount) for p in entry.postings] == [
        ("fx:revaluation:EUR", "debit", Money("666.26", "EUR")),
        ("fx:unrealised:EUR", "credit", Money("666.26", "EUR")),
    ]
    assert entry.metadata["unrealised"] == "666.26"
    assert long_cny.balance("fx:unrealised:EUR").posted == Money("666.26", "EUR")
    assert long_cny.trial_balance().is_balanced() and long_cny.verify().ok


def test_revaluation_posts_only_the_change_and_a_weaker_cny_is_a_loss(long_cny: Ledger) -> None:
    long_cny.fx.set_rate("EUR", "CNY", "7.5", DAY2, "ECB")
    long_cny.fx.revalue(CLOSE, "EUR")
    day3 = DAY2 + timedelta(days=1)
    long_cny.fx.set_rate("EUR", "CNY", "8.0", day3, "ECB")
    second = long_cny.fx.revalue(day3 + timedelta(hours=4), "EUR")
    # 125,000.00 / 8 = 15,625.00 EUR: cumulative loss 375.41, so this run posts -1,041.67.
    assert second.unrealised == Money("-375.41", "EUR")
    assert second.delta == Money("-1041.67", "EUR")
    entry = long_cny.entry(second.entry_key or "")
    assert [(p.account, p.side) for p in entry.postings] == [
        ("fx:unrealised:EUR", "debit"),
        ("fx:revaluation:EUR", "credit"),
    ]
    assert long_cny.balance("fx:unrealised:EUR").posted == Money("-375.41", "EUR")
    # After a revaluation, positions at the closing rate plus the reserve value to zero.
    reserve = long_cny.balance("fx:revaluation:EUR")
    assert reserve.debits_posted_minor - reserve.credits_posted_minor == -37541
    assert sum(int(line["value"].replace(".", "")) for line in second.lines) == 37541


def test_rerunning_the_same_instant_is_idempotent(long_cny: Ledger) -> None:
    long_cny.fx.set_rate("EUR", "CNY", "7.5", DAY2, "ECB")
    first = long_cny.fx.revalue(CLOSE, "EUR")
    length = journal_length(long_cny)
    long_cny.fx.set_rate("EUR", "CNY", "7.0", DAY2 + timedelta(hours=1), "ECB")  # a late quote
    again = long_cny.fx.revalue(CLOSE, "EUR")
    assert again == first
    assert journal_length(long_cny) == length
    assert count_revaluations(long_cny) == 1


def test_a_revaluation_at_unchanged_rates_posts_only_rounding_residue(long_cny: Ledger) -> None:
    result = long_cny.fx.revalue(CLOSE, "EUR")
    # 125,000.00 CNY at 1/7.8123 is 16,000.4096 EUR: valued, the positions round to 16,000.41.
    assert result.unrealised_minor == 0 and result.delta_minor == 0
    assert result.entry_key is None
    assert count_revaluations(long_cny) == 1
    assert long_cny.fx.revalue(CLOSE, "EUR") == result


def test_revaluations_go_forward_in_time(long_cny: Ledger) -> None:
    long_cny.fx.revalue(CLOSE, "EUR")
    with pytest.raises(InvalidInputError) as raised:
        long_cny.fx.revalue(CLOSE - timedelta(hours=1), "EUR")
    assert raised.value.details["latest"] == "2026-11-26T17:15:00.000000Z"
    long_cny.fx.set_rate("CNY", "USD", "0.14", FIXING, "PBOC")
    long_cny.fx.revalue(CLOSE - timedelta(hours=1), "CNY")  # another reporting currency


def test_positions_are_taken_as_of_the_instant(long_cny: Ledger) -> None:
    source = "participant:shu-brocade:cash:CNY"
    target = "participant:shu-brocade:cash:EUR"
    long_cny.fx.set_rate("EUR", "CNY", "7.5", DAY2, "ECB")
    long_cny.fx.exchange("later", source, target, Money("7500.00", "CNY"), at=CLOSE)
    result = long_cny.fx.revalue(CLOSE - timedelta(minutes=1), "EUR")
    positions = {line["currency"]: line["position"] for line in result.lines}
    assert positions == {"CNY": "-125000.00", "EUR": "16000.41"}


def test_a_missing_rate_writes_nothing(long_cny: Ledger) -> None:
    length = journal_length(long_cny)
    with pytest.raises(RateNotFoundError):
        long_cny.fx.revalue(CLOSE, "KZT")
    with pytest.raises(UnknownCurrencyError):
        long_cny.fx.revalue(CLOSE, "XYZ")
    assert journal_length(long_cny) == length
    assert count_revaluations(long_cny) == 0
    assert long_cny.accounts("fx:revaluation") == []


def test_revaluation_through_a_cross_rate(long_cny: Ledger) -> None:
    long_cny.fx.set_rate("EUR", "CNY", "7.5", DAY2, "ECB")
    long_cny.fx.set_rate("EUR", "USD", "1.10", DAY2, "ECB")
    result = long_cny.fx.revalue(CLOSE, "USD")
    paths = {line["currency"]: line["path"] for line in result.lines}
    assert paths == {"CNY": ["CNY", "EUR", "USD"], "EUR": ["EUR", "USD"]}
    # -125,000.00 / 7.5 x 1.10 = -18,333.33; 16,000.41 x 1.10 = 17,600.45
    assert result.unrealised == Money("732.88", "USD")
    assert long_cny.balance("fx:unrealised:USD").posted == Money("732.88", "USD")

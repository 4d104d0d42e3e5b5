"""Conversions and exchanges: ISO 4217 rounding, per-currency balance, spread, residue."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest
from fx_helpers import (
    AFTERNOON,
    FIXING,
    cash,
    journal_length,
    open_cash,
    per_currency_totals,
)
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.errors import (
    AccountNotFoundError,
    AmountNotPositiveError,
    AmountPrecisionError,
    ConstraintViolatedError,
    CurrencyMismatchError,
    EntryNotFoundError,
    IdempotencyConflictError,
    InvalidInputError,
    RateNotFoundError,
    RateStaleError,
    UnknownCurrencyError,
)
from jiaolong_ledger.money import money


def test_convert_rounds_to_the_target_currency(eur_cny: Ledger) -> None:
    fx = eur_cny.fx
    assert fx.convert(Money("1000.00", "CNY"), "EUR", AFTERNOON) == Money("128.00", "EUR")
    assert fx.convert(Money("125000.00", "CNY"), "EUR", AFTERNOON) == Money("16000.41", "EUR")
    assert fx.convert(Money("100.00", "EUR"), "CNY", AFTERNOON) == Money("781.23", "CNY")
    assert fx.convert(Money("100.00", "USD"), "CNY", AFTERNOON) == Money("722.56", "CNY")


def test_jpy_kwd_and_lak_use_their_iso_4217_exponents(ledger: Ledger) -> None:
    ledger.fx.set_rate("EUR", "JPY", "162.45", FIXING, "ECB")
    ledger.fx.set_rate("EUR", "KWD", "0.33215", FIXING, "CBK")
    ledger.fx.set_rate("EUR", "LAK", "23150", FIXING, "BOL")
    convert = ledger.fx.convert
    assert convert(Money("10.01", "EUR"), "JPY", AFTERNOON) == Money("1626", "JPY")  # 1626.1245
    assert convert(Money("10.01", "EUR"), "KWD", AFTERNOON) == Money("3.325", "KWD")  # 3.3248215
    assert convert(Money("10.01", "EUR"), "LAK", AFTERNOON) == Money("231731.50", "LAK")
    assert convert(Money("1000", "JPY"), "KWD", AFTERNOON) == Money("2.045", "KWD")
    assert convert(Money("1.234", "KWD"), "JPY", AFTERNOON) == Money("604", "JPY")
    assert convert(Money("1000000.00", "LAK"), "JPY", AFTERNOON) == Money("7017", "JPY")
    with pytest.raises(AmountPrecisionError):
        convert(Money("10.5", "JPY"), "EUR", AFTERNOON)
    with pytest.raises(AmountPrecisionError):
        convert(Money("1.2345", "KWD"), "EUR", AFTERNOON)


def test_the_rounding_mode_is_chosen_per_call(ledger: Ledger) -> None:
    ledger.fx.set_rate("EUR", "JPY", "100.5", FIXING, "test")
    one_euro = Money("1.00", "EUR")
    assert ledger.fx.convert(one_euro, "JPY", AFTERNOON) == Money("100", "JPY")  # half-even
    assert ledger.fx.convert(one_euro, "JPY", AFTERNOON, ROUND_HALF_UP) == Money("101", "JPY")
    assert ledger.fx.convert(Money("3.00", "EUR"), "JPY", AFTERNOON) == Money("302", "JPY")
    with pytest.raises(InvalidInputError):
        ledger.fx.convert(one_euro, "JPY", AFTERNOON, rounding="nearest")


def test_convert_refuses_unknown_currencies_and_missing_rates(eur_cny: Ledger) -> None:
    with pytest.raises(UnknownCurrencyError):
        eur_cny.fx.convert(Money("1.00", "EUR"), "XYZ", AFTERNOON)
    with pytest.raises(RateNotFoundError):
        eur_cny.fx.convert(Money("1.00", "EUR"), "KZT", AFTERNOON)
    with pytest.raises(RateStaleError):
        eur_cny.fx.convert(Money("1.00", "EUR"), "CNY", AFTERNOON + timedelta(days=6))


def test_worked_example_cny_to_eur(eur_cny: Ledger) -> None:
    """The exchange documented in docs/fx.md, at the ECB mid rate."""
    source = open_cash(eur_cny, "shu-brocade", "CNY", "200000.00")
    target = open_cash(eur_cny, "shu-brocade", "EUR")
    posted = eur_cny.fx.exchange(
        "order-42/fx", source, target, Money("125000.00", "CNY"), at=AFTERNOON
    )
    assert posted.kind == "fx_conversion"
    assert posted.effective_at == AFTERNOON
    assert [(p.account, p.side, p.amount) for p in posted.postings] == [
        (source, "debit", Money("125000.00", "CNY")),
        ("fx:position:CNY", "credit", Money("125000.00", "CNY")),
        ("fx:position:EUR", "debit", Money("16000.41", "EUR")),
        (target, "credit", Money("16000.41", "EUR")),
    ]
    assert per_currency_totals(posted.postings) == {"CNY": 0, "EUR": 0}
    fx = posted.metadata["fx"]
    assert fx["rate"] == "0.12800327688388822754"
    assert fx["path"] == ["CNY", "EUR"] and fx["legs"] == ["EUR/CNY"]
    assert fx["as_of"] == "2026-11-25T13:15:00.000000Z" and fx["source"] == "ECB"
    assert fx["value_exact"] == "16000.4096104860284425"
    assert Decimal(fx["rounding_residue"]) == Decimal("16000.41") - Decimal(fx["value_exact"])
    assert fx["spread"] == "0.00"
    assert eur_cny.balance(source).posted == Money("75000.00", "CNY")
    assert eur_cny.balance(target).posted == Money("16000.41", "EUR")
    assert eur_cny.balance("fx:position:CNY").posted == Money("125000.00", "CNY")
    assert eur_cny.balance("fx:position:EUR").posted == Money("-16000.41", "EUR")
    assert eur_cny.trial_balance().is_balanced()
    assert eur_cny.verify().ok


def test_with_bid_and_ask_the_spread_goes_to_fx_income(ledger: Ledger) -> None:
    ledger.fx.set_rate("EUR", "CNY", "7.8123", FIXING, "dealer", bid="7.7733", ask="7.8514")
    source = open_cash(ledger, "shu-brocade", "CNY", "200000.00")
    target = open_cash(ledger, "shu-brocade", "EUR")
    posted = ledger.fx.exchange("x/1", source, target, Money("125000.00", "CNY"), at=AFTERNOON)
    lines = {(p.account, p.side): p.amount for p in posted.postings}
    # The participant sells CNY at bid(CNY/EUR) = 1 / ask(EUR/CNY) = 1 / 7.8514.
    assert lines[(target, "credit")] == Money("15920.73", "EUR")
    assert lines[("fx:position:EUR", "debit")] == Money("16000.41", "EUR")
    assert lines[("fx:spread-income:EUR", "credit")] == Money("79.68", "EUR")
    assert per_currency_totals(posted.postings) == {"CNY": 0, "EUR": 0}
    assert posted.metadata["fx"]["applied_rate"] == posted.metadata["fx"]["bid"]
    assert ledger.balance("fx:spread-income:EUR").posted == Money("79.68", "EUR")
    mid_only = ledger.fx.exchange(
        "x/2", source, target, Money("1000.00", "CNY"), at=AFTERNOON, spread=False
    )
    assert len(mid_only.postings) == 4


@pytest.mark.parametrize(
    ("currency", "deposit", "amount", "expected"),
    [
        ("JPY", "5000000", "1000000", "6155.74"),  # 1,000,000 / 162.45
        ("KWD", "5000.000", "1234.567", "3716.90"),  # 1234.567 / 0.33215
        ("LAK", "900000000.00", "123456789.01", "5332.91"),  # / 23150
    ],
)
def test_exchange_into_euro_from_zero_two_and_three_decimal_currencies(
    ledger: Ledger, currency: str, deposit: str, amount: str, expected: str
) -> None:
    ledger.fx.set_rate("EUR", "JPY", "162.45", FIXING, "ECB")
    ledger.fx.set_rate("EUR", "KWD", "0.33215", FIXING, "CBK")
    ledger.fx.set_rate("EUR", "LAK", "23150", FIXING, "BOL")
    source = open_cash(ledger, "trader", currency, deposit)
    target = open_cash(ledger, "trader", "EUR")
    posted = ledger.fx.exchange("k", source, target, money(amount, currency), at=AFTERNOON)
    assert per_currency_totals(posted.postings) == {currency: 0, "EUR": 0}
    assert ledger.balance(target).posted == money(expected, "EUR")
    back = ledger.fx.exchange("k/back", target, source, money(expected, "EUR"), at=AFTERNOON)
    assert per_currency_totals(back.postings) == {currency: 0, "EUR": 0}
    assert ledger.balance(target).posted == Money("0.00", "EUR")
    assert ledger.verify().ok


def test_kwd_target_keeps_three_decimals(ledger: Ledger) -> None:
    ledger.fx.set_rate("EUR", "KWD", "0.33215", FIXING, "CBK")
    ledger.fx.set_rate("EUR", "JPY", "162.45", FIXING, "ECB")
    source = open_cash(ledger, "trader", "JPY", "100000")
    target = open_cash(ledger, "trader", "KWD")
    posted = ledger.fx.exchange("k", source, target, Money("12345", "JPY"), at=AFTERNOON)
    assert ledger.balance(target).posted == Money("25.241", "KWD")  # 12345 x 0.33215 / 162.45
    assert posted.metadata["fx"]["path"] == ["JPY", "EUR", "KWD"]


def test_the_rounding_residue_is_posted_and_recorded(eur_cny: Ledger) -> None:
    source = open_cash(eur_cny, "a", "CNY", "100.00")
    target = open_cash(eur_cny, "a", "EUR")
    posted = eur_cny.fx.exchange(
        "r", source, target, Money("10.00", "CNY"), at=AFTERNOON, rounding=ROUND_DOWN
    )
    fx = posted.metadata["fx"]
    # 10.00 CNY is 1.2800327... EUR: rounded down to 1.28, and the position holds what moved.
    assert (fx["value"], fx["rounding"]) == ("1.28", ROUND_DOWN)
    assert Decimal(fx["value_exact"]) == Decimal("1.2800327688388822754")
    assert Decimal(fx["rounding_residue"]) == Decimal("-0.0000327688388822754")
    assert eur_cny.balance("fx:position:EUR").posted == Money("-1.28", "EUR")
    assert eur_cny.balance("fx:position:CNY").posted == Money("10.00", "CNY")
    assert eur_cny.balance(target).posted == Money("1.28", "EUR")


def test_a_conversion_that_rounds_to_nothing_is_refused(eur_cny: Ledger) -> None:
    source = open_cash(eur_cny, "a", "CNY", "100.00")
    target = open_cash(eur_cny, "a", "EUR")
    before = journal_length(eur_cny)
    with pytest.raises(AmountNotPositiveError):
        eur_cny.fx.exchange("tiny", source, target, Money("0.03", "CNY"), at=AFTERNOON)
    assert journal_length(eur_cny) == before


def test_a_retry_returns_the_original_even_after_rates_moved(eur_cny: Ledger) -> None:
    source = open_cash(eur_cny, "a", "CNY", "10000.00")
    target = open_cash(eur_cny, "a", "EUR")
    first = eur_cny.fx.exchange("same", source, target, Money("1000.00", "CNY"), at=AFTERNOON)
    eur_cny.fx.set_rate("EUR", "CNY", "9.0", AFTERNOON + timedelta(hours=1), "ECB")
    again = eur_cny.fx.exchange("same", source, target, Money("1000.00", "CNY"))
    assert again == first
    assert eur_cny.balance(source).posted == Money("9000.00", "CNY")
    with pytest.raises(IdempotencyConflictError):
        eur_cny.fx.exchange("same", source, target, Money("999.00", "CNY"), at=AFTERNOON)
    eur_cny.post(
        Entry(
            "plain",
            [
                debit(source, Money("1.00", "CNY")),
                credit("platform:bank:CNY", Money("1.00", "CNY")),
            ],
        )
    )
    with pytest.raises(IdempotencyConflictError):
        eur_cny.fx.exchange("plain", source, target, Money("1.00", "CNY"), at=AFTERNOON)


def _snapshot(ledger: Ledger) -> tuple[int, list[dict[str, str]]]:
    return journal_length(ledger), [row.to_dict() for row in ledger.trial_balance().rows]


def test_a_rejected_exchange_writes_nothing_and_the_key_stays_free(eur_cny: Ledger) -> None:
    source = open_cash(eur_cny, "a", "CNY", "500.00")
    target = open_cash(eur_cny, "a", "EUR")
    before = _snapshot(eur_cny)
    with pytest.raises(ConstraintViolatedError) as raised:
        eur_cny.fx.exchange("k", source, target, Money("600.00", "CNY"), at=AFTERNOON)
    assert raised.value.details["account"] == source
    with pytest.raises(RateNotFoundError):
        eur_cny.fx.exchange("k", source, target, Money("10.00", "CNY"), at=FIXING - timedelta(1))
    with pytest.raises(RateStaleError):
        eur_cny.fx.exchange(
            "k", source, target, Money("10.00", "CNY"), at=AFTERNOON + timedelta(days=9)
        )
    with pytest.raises(AccountNotFoundError):
        eur_cny.fx.exchange("k", source, cash("a", "USD"), Money("10.00", "CNY"), at=AFTERNOON)
    with pytest.raises(InvalidInputError):
        eur_cny.fx.exchange("k", source, source, Money("10.00", "CNY"), at=AFTERNOON)
    with pytest.raises(CurrencyMismatchError):
        eur_cny.fx.exchange("k", source, target, Money("10.00", "USD"), at=AFTERNOON)
    with pytest.raises(AmountPrecisionError):
        eur_cny.fx.exchange("k", source, target, Money("10.001", "CNY"), at=AFTERNOON)
    assert _snapshot(eur_cny) == before
    assert [a.code for a in eur_cny.accounts("fx:")] == []
    eur_cny.post(
        Entry(
            "top-up",
            [
                debit("platform:bank:CNY", Money("100.00", "CNY")),
                credit(source, Money("100.00", "CNY")),
            ],
        )
    )
    posted = eur_cny.fx.exchange("k", source, target, Money("600.00", "CNY"), at=AFTERNOON)
    assert posted.key == "k"


def test_exchange_inside_a_transaction_with_a_given_rate(eur_cny: Ledger) -> None:
    source = open_cash(eur_cny, "a", "CNY", "1000.00")
    target = open_cash(eur_cny, "a", "EUR")
    fixing = eur_cny.fx.rate("CNY", "EUR", AFTERNOON)
    eur_cny.fx.set_rate("EUR", "CNY", "8.5", AFTERNOON, "ECB")  # after the cycle's fixing
    with eur_cny.transaction() as tx:
        tx.fx.exchange("t/1", source, target, Money("781.23", "CNY"), rate=fixing)
        assert tx.balance(target).posted_minor == 10000
    assert eur_cny.balance(target).posted == Money("100.00", "EUR")
    with pytest.raises(CurrencyMismatchError):
        eur_cny.fx.exchange("t/2", target, source, Money("1.00", "EUR"), rate=fixing, at=AFTERNOON)
    with pytest.raises(ConstraintViolatedError), eur_cny.transaction() as tx:
        tx.fx.exchange("t/3", source, target, Money("100.00", "CNY"), at=AFTERNOON)
        tx.post_many(
            [
                Entry(
                    "t/4",
                    [
                        debit(source, Money("500.00", "CNY")),
                        credit("platform:bank:CNY", Money("500.00", "CNY")),
                    ],
                )
            ]
        )
    assert eur_cny.balance(source).posted == Money("218.77", "CNY")
    with pytest.raises(EntryNotFoundError):
        eur_cny.entry("t/3")


def test_half_even_is_the_default_rounding(ledger: Ledger) -> None:
    ledger.fx.set_rate("EUR", "JPY", "100.5", FIXING, "test")
    source = open_cash(ledger, "a", "EUR", "10.00")
    target = open_cash(ledger, "a", "JPY")
    posted = ledger.fx.exchange("h", source, target, Money("1.00", "EUR"), at=AFTERNOON)
    assert posted.metadata["fx"]["rounding"] == ROUND_HALF_EVEN
    assert ledger.balance(target).posted == Money("100", "JPY")
    assert Decimal(posted.metadata["fx"]["rounding_residue"]) == Decimal("-0.5")

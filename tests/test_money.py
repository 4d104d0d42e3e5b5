"""Money: exact minor units from the official ISO 4217 table, no float anywhere, no rounding
except through round_to_minor with a named mode."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moneyed import Money

from jiaolong_ledger import LedgerError
from jiaolong_ledger.journal.jsonl import entry_from_object
from jiaolong_ledger.money import (
    AMOUNT_MINOR_MAX,
    decimal_to_minor,
    exponent,
    format_minor,
    minor_to_decimal,
    minor_to_money,
    money,
    money_to_minor,
    parse_minor,
    positive_minor,
    round_to_minor,
    to_decimal,
)
from jiaolong_ledger.testing import BOOKING_CURRENCIES, currencies
from jiaolong_ledger.testing import money as money_values

PROPERTY = settings(max_examples=200, deadline=None)
ANY_MINOR = st.integers(-AMOUNT_MINOR_MAX, AMOUNT_MINOR_MAX)


def code_of(error: pytest.ExceptionInfo[LedgerError]) -> str:
    return error.value.code


@pytest.mark.parametrize(
    ("currency", "digits"),
    [
        ("EUR", 2),
        ("CNY", 2),
        ("USD", 2),
        ("RUB", 2),
        ("KZT", 2),
        ("LAK", 2),  # ISO 4217 says 2; CLDR (display) says 0 — booking follows ISO
        ("IQD", 3),  # CLDR says 0
        ("JPY", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("CLF", 4),
    ],
)
def test_exponents_come_from_iso_4217(currency: str, digits: int) -> None:
    assert exponent(currency) == digits


@pytest.mark.parametrize("currency", ["XXX", "XAU", "ABC", "eur", "EURO", "", "€"])
def test_currencies_without_minor_unit_or_unknown_cannot_be_booked(currency: str) -> None:
    with pytest.raises(LedgerError) as caught:
        exponent(currency)
    assert code_of(caught) == "UNKNOWN_CURRENCY"


@PROPERTY
@given(currency=currencies(), minor=ANY_MINOR)
def test_minor_units_round_trip_exactly(currency: str, minor: int) -> None:
    value = minor_to_money(minor, currency)
    assert money_to_minor(value) == (minor, currency)
    assert decimal_to_minor(minor_to_decimal(minor, currency), currency) == minor
    text = format_minor(minor, currency)
    assert parse_minor(text, currency) == minor
    assert Decimal(text) == value.amount


@PROPERTY
@given(currency=currencies(), minor=ANY_MINOR)
def test_format_has_exactly_the_currency_decimals(currency: str, minor: int) -> None:
    text = format_minor(minor, currency)
    digits = exponent(currency)
    if digits == 0:
        assert "." not in text
    else:
        assert len(text.split(".")[1]) == digits
    assert text.lstrip("-")[0].isdigit()


@PROPERTY
@given(currency=currencies(), minor=ANY_MINOR, extra=st.integers(1, 9))
def test_one_decimal_too_many_is_amount_precision(currency: str, minor: int, extra: int) -> None:
    text = format_minor(minor, currency)
    too_precise = text + ("" if "." in text else ".") + str(extra)
    with pytest.raises(LedgerError) as caught:
        parse_minor(too_precise, currency)
    assert code_of(caught) == "AMOUNT_PRECISION"
    with pytest.raises(LedgerError) as caught:
        money(too_precise, currency)
    assert code_of(caught) == "AMOUNT_PRECISION"
    with pytest.raises(LedgerError) as caught:
        money_to_minor(Money(too_precise, currency))  # py-moneyed accepts it; we do not
    assert code_of(caught) == "AMOUNT_PRECISION"


@pytest.mark.parametrize(
    ("text", "currency"), [("100.5", "JPY"), ("0.001", "EUR"), ("1.0001", "KWD"), ("1E-3", "CNY")]
)
def test_amount_precision_examples(text: str, currency: str) -> None:
    with pytest.raises(LedgerError) as caught:
        parse_minor(text, currency)
    assert code_of(caught) == "AMOUNT_PRECISION"
    assert caught.value.details["currency"] == currency


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("100.00", "JPY", 100), ("1.500", "EUR", 150), ("1E+2", "JPY", 100), ("-0.010", "KWD", -10)],
)
def test_zeros_beyond_the_exponent_are_exact_not_rounded(
    text: str, currency: str, minor: int
) -> None:
    assert parse_minor(text, currency) == minor


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "sNaN", "1,00", "ten", ""])
def test_non_numbers_are_rejected(text: str) -> None:
    with pytest.raises(LedgerError) as caught:
        parse_minor(text, "EUR")
    assert code_of(caught) == "AMOUNT_PRECISION"


def test_64_bit_bounds() -> None:
    assert parse_minor("92233720368547758.07", "EUR") == AMOUNT_MINOR_MAX
    assert parse_minor("-92233720368547758.07", "EUR") == -AMOUNT_MINOR_MAX
    for text in ("92233720368547758.08", "1E+30", "-1E+400"):
        with pytest.raises(LedgerError) as caught:
            parse_minor(text, "EUR")
        assert code_of(caught) == "AMOUNT_OVERFLOW"
    with pytest.raises(LedgerError) as caught:
        round_to_minor(Decimal("1E+30"), "EUR")
    assert code_of(caught) == "AMOUNT_OVERFLOW"


FLOAT_CALLS: list[tuple[str, Callable[[], Any]]] = [
    ("to_decimal", lambda: to_decimal(1.5)),
    ("money", lambda: money(1.5, "EUR")),
    ("money(bool)", lambda: money(True, "EUR")),
    ("parse_minor", lambda: parse_minor(1.5, "EUR")),  # type: ignore[arg-type]
    ("decimal_to_minor", lambda: decimal_to_minor(1.5, "EUR")),  # type: ignore[arg-type]
    ("round_to_minor", lambda: round_to_minor(1.5, "EUR")),  # type: ignore[arg-type]
    ("minor_to_decimal", lambda: minor_to_decimal(150.0, "EUR")),  # type: ignore[arg-type]
    ("minor_to_money", lambda: minor_to_money(150.0, "EUR")),  # type: ignore[arg-type]
    ("format_minor", lambda: format_minor(150.0, "EUR")),  # type: ignore[arg-type]
    ("format_minor(bool)", lambda: format_minor(True, "EUR")),
    ("money_to_minor", lambda: money_to_minor(1.5)),  # type: ignore[arg-type]
    ("positive_minor", lambda: positive_minor(1.5)),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("call", [call for _, call in FLOAT_CALLS], ids=[n for n, _ in FLOAT_CALLS])
def test_a_float_on_a_money_path_is_a_type_error(call: Callable[[], Any]) -> None:
    with pytest.raises(TypeError):
        call()


@given(value=st.floats(allow_nan=True, allow_infinity=True))
@settings(max_examples=50, deadline=None)
def test_every_float_is_refused(value: float) -> None:
    with pytest.raises(TypeError):
        to_decimal(value)


def test_json_float_amount_in_an_entry_is_refused() -> None:
    obj = {
        "key": "k",
        "postings": [
            {"account": "a", "side": "debit", "amount": 1.5, "currency": "EUR"},
            {"account": "b", "side": "credit", "amount": "1.50", "currency": "EUR"},
        ],
    }
    with pytest.raises(LedgerError) as caught:
        entry_from_object(obj)
    assert code_of(caught) == "INVALID_INPUT"  # the JSON Lines door refuses it, naming the field
    assert "float" in caught.value.message


@PROPERTY
@given(
    amount=st.decimals(
        min_value=Decimal("-1E+12"), max_value=Decimal("1E+12"), allow_nan=False, places=9
    ),
    currency=currencies(),
)
def test_round_to_minor_is_within_half_a_unit_and_half_even_by_default(
    amount: Decimal, currency: str
) -> None:
    scaled = amount.scaleb(exponent(currency))
    rounded = round_to_minor(amount, currency)
    assert abs(Decimal(rounded) - scaled) <= Decimal("0.5")
    assert rounded == int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN))


@pytest.mark.parametrize(
    ("amount", "mode", "minor"),
    [
        ("0.125", ROUND_HALF_EVEN, 12),
        ("0.135", ROUND_HALF_EVEN, 14),
        ("0.125", ROUND_HALF_UP, 13),
        ("-0.125", ROUND_HALF_UP, -13),
    ],
)
def test_round_to_minor_names_its_mode(amount: str, mode: str, minor: int) -> None:
    assert round_to_minor(Decimal(amount), "EUR", mode) == minor


# -- the testing package's money strategies -----------------------------------------------


@PROPERTY
@given(value=money_values())
def test_money_strategy_yields_bookable_positive_amounts(value: Money) -> None:
    minor, currency = positive_minor(value)
    assert currency in BOOKING_CURRENCIES
    assert minor_to_money(minor, currency) == value


@given(value=money_values("JPY", min_minor=-5, max_minor=5))
@settings(max_examples=30, deadline=None)
def test_money_strategy_honours_currency_and_bounds(value: Money) -> None:
    assert value.currency.code == "JPY"
    assert -5 <= money_to_minor(value)[0] <= 5

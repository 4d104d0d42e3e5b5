"""Posting: what a posted entry looks like, multi-currency entries, the named limits, validation
that reports every problem, immutability, and reading entries back."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, LedgerError, credit, debit
from jiaolong_ledger.journal.validation import (
    BATCH_SIZE_MAX,
    DESCRIPTION_LENGTH_MAX,
    METADATA_BYTES_MAX,
    POSTINGS_PER_ENTRY_MAX,
)
from jiaolong_ledger.limits import KEY_LENGTH_MAX
from jiaolong_ledger.testing import AccountSpec, assert_unchanged, balanced_entries, snapshot

NOW = datetime(2026, 11, 26, 9, 30, 0, 250000, tzinfo=UTC)


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


@pytest.fixture
def books(make_url_for: Callable[[], str]) -> Any:
    ledger = Ledger.connect(make_url_for(), clock=lambda: NOW)
    for currency in ("EUR", "CNY"):
        ledger.open_account(f"platform:bank:{currency}", currency=currency, kind="asset")
        ledger.open_account(
            f"participant:acme:cash:{currency}", currency=currency, kind="liability"
        )
    ledger.open_account("fx:position:EUR", currency="EUR", kind="equity")
    ledger.open_account("fx:position:CNY", currency="CNY", kind="equity")
    yield ledger
    assert ledger.verify().ok
    ledger.close()


def deposit(key: str = "deposit/1", amount: str = "100.00", **extra: Any) -> Entry:
    return Entry(
        key=key,
        postings=[
            debit("platform:bank:EUR", eur(amount)),
            credit("participant:acme:cash:EUR", eur(amount)),
        ],
        **extra,
    )


def test_a_posted_entry(books: Ledger) -> None:
    head = books.verify().last_hash
    entry = deposit(description="opening", metadata={"city": "Łódź", "n": 3})
    posted = books.post(entry)
    assert posted.seq == 7 and posted.prev_hash == head and len(posted.hash) == 64
    assert (posted.kind, posted.status) == ("transfer", "posted")
    assert posted.recorded_at == posted.effective_at == NOW
    assert posted.description == "opening" and dict(posted.metadata) == {"city": "Łódź", "n": 3}
    assert [(p.account, p.side, p.amount) for p in posted.postings] == [
        ("platform:bank:EUR", "debit", eur("100.00")),
        ("participant:acme:cash:EUR", "credit", eur("100.00")),
    ]
    assert books.entry("deposit/1") == posted
    assert books.post(entry) == posted
    backdated = books.post(deposit("deposit/2", effective_at=datetime(2026, 1, 1, tzinfo=UTC)))
    assert backdated.effective_at < backdated.recorded_at == NOW
    assert [e.key for e in books.entries(7)] == ["deposit/1", "deposit/2"]
    assert [e.seq for e in books.entries(2, 3)] == [2, 3]


def test_multi_currency_entry_balances_per_currency(books: Ledger) -> None:
    """A conversion: acme's 10 EUR become 78.10 CNY through the FX position accounts."""
    books.post(deposit())
    conversion = Entry(
        key="fx/1",
        kind="fx_conversion",
        postings=[
            debit("participant:acme:cash:EUR", eur("10.00")),
            credit("fx:position:EUR", eur("10.00")),
            debit("fx:position:CNY", Money("78.10", "CNY")),
            credit("participant:acme:cash:CNY", Money("78.10", "CNY")),
        ],
        metadata={"rate": "7.8100"},
    )
    assert books.post(conversion).kind == "fx_conversion"
    assert books.balance("participant:acme:cash:CNY").posted == Money("78.10", "CNY")
    assert books.trial_balance().totals == {"EUR": (11000, 11000), "CNY": (7810, 7810)}


@pytest.mark.parametrize(
    ("entry", "code", "limit"),
    [
        (lambda: deposit("k" * (KEY_LENGTH_MAX + 1)), "LIMIT_EXCEEDED", "key_length_max"),
        (
            lambda: deposit(description="x" * (DESCRIPTION_LENGTH_MAX + 1)),
            "LIMIT_EXCEEDED",
            "description_length_max",
        ),
        (
            lambda: deposit(metadata={"blob": "x" * METADATA_BYTES_MAX}),
            "LIMIT_EXCEEDED",
            "metadata_bytes_max",
        ),
        (
            lambda: Entry(
                "many",
                [debit("platform:bank:EUR", eur("1"))] * (POSTINGS_PER_ENTRY_MAX // 2 + 1)
                + [credit("participant:acme:cash:EUR", eur("1"))] * (POSTINGS_PER_ENTRY_MAX // 2),
            ),
            "LIMIT_EXCEEDED",
            "postings_per_entry_max",
        ),
        (lambda: deposit(""), "INVALID_ENTRY", None),
        (lambda: deposit("tab\tkey"), "INVALID_ENTRY", None),
        (lambda: deposit(metadata={"rate": 7.81}), "INVALID_ENTRY", None),
        (lambda: deposit(metadata={1: "x"}), "INVALID_ENTRY", None),
        (lambda: deposit(kind="reversal"), "INVALID_ENTRY", None),
        (lambda: deposit(kind="post_pending"), "INVALID_ENTRY", None),
        (lambda: deposit(kind="no_such_kind"), "INVALID_ENTRY", None),
        (lambda: deposit(effective_at=datetime(2026, 1, 1)), "INVALID_INPUT", None),  # naive
        (lambda: deposit(expires_at=NOW), "INVALID_ENTRY", None),
    ],
)
def test_limits_and_malformed_entries(
    books: Ledger, entry: Callable[[], Entry], code: str, limit: str | None
) -> None:
    before = snapshot(books)
    with pytest.raises(LedgerError) as caught:
        books.post(entry())
    assert caught.value.code == code, caught.value.message
    assert caught.value.exit_code == 2
    if limit:
        assert caught.value.details["limit"] == limit
    assert_unchanged(books, before)


def test_key_of_exactly_the_limit_is_fine(books: Ledger) -> None:
    assert books.post(deposit("k" * KEY_LENGTH_MAX)).key == "k" * KEY_LENGTH_MAX
    assert books.post(deposit("付款/ünïcödé/1")).key == "付款/ünïcödé/1"


def test_batch_size_limit(books: Ledger) -> None:
    entries = [deposit(f"b/{index}", "0.01") for index in range(BATCH_SIZE_MAX + 1)]
    with pytest.raises(LedgerError) as caught:
        books.post_many(entries)
    assert caught.value.details["limit"] == "batch_size_max"


def test_every_problem_is_reported(books: Ledger) -> None:
    entry = Entry(
        key="bad",
        kind="nonsense",
        metadata={"x": 1.5},
        postings=[debit("platform:bank:EUR", eur("0")), credit("nobody", Money("1.001", "EUR"))],
    )
    with pytest.raises(LedgerError) as caught:
        books.post(entry)
    codes = [problem["code"] for problem in caught.value.details["problems"]]
    assert codes == ["INVALID_ENTRY", "INVALID_ENTRY", "AMOUNT_NOT_POSITIVE", "AMOUNT_PRECISION"]


def test_entries_are_immutable() -> None:
    entry = deposit(metadata={"nested": {"a": [1, 2]}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.key = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        entry.metadata["x"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        entry.metadata["nested"]["a"] = 2  # type: ignore[index]
    assert isinstance(entry.postings, tuple)


def test_a_float_in_a_money_amount_never_reaches_the_journal() -> None:
    """py-moneyed turns Money(1.1, ...) into Decimal('1.1') before the ledger sees it, so
    the ledger cannot refuse it there; the package's own constructor does."""
    from jiaolong_ledger.money import money

    with pytest.raises(TypeError):
        money(1.1, "EUR")


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_balanced_batch_keeps_every_currency_at_zero(
    make_ledger: Callable[[], Ledger], data: st.DataObject
) -> None:
    ledger = make_ledger()
    specs = [
        AccountSpec(f"p:{kind}:{currency}", currency, kind)
        for currency in ("EUR", "JPY", "KWD")
        for kind in ("asset", "liability", "income", "expense")
    ]
    for spec in specs:
        spec.open(ledger)
    entries = data.draw(
        st.lists(balanced_entries(specs), min_size=1, max_size=8, unique_by=lambda e: e.key)
    )
    posted = ledger.post_many(entries)
    assert [entry.key for entry in posted] == [entry.key for entry in entries]
    expected: dict[str, int] = {spec.code: 0 for spec in specs}
    for entry in posted:
        for leg in entry.postings:
            expected[leg.account] += leg.amount_minor if leg.side == "debit" else -leg.amount_minor
    for spec in specs:
        balance = ledger.balance(spec.code)
        assert balance.debits_posted_minor - balance.credits_posted_minor == expected[spec.code]
    assert ledger.trial_balance().is_balanced()
    assert ledger.verify().ok
    ledger.close()


def test_client_metadata_named_reverses_is_just_metadata(books: Ledger) -> None:
    books.post(deposit(metadata={"reverses": 5}))
    assert books.verify().ok

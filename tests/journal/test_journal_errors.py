"""Every SPEC §6 code of the core, triggered through the Python API, on SQLite and PostgreSQL.

Each rejected call must write nothing: same journal head, same entries and keys, same balances
and pending states, no gap in seq; and the key stays free: once the cause is fixed, a retry with
the same key succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moneyed import Currency, Money

from jiaolong_ledger import Entry, Ledger, LedgerError, credit, debit
from jiaolong_ledger.errors import InputError
from jiaolong_ledger.testing import assert_gap_free, assert_unchanged, snapshot

CASH = "participant:acme:cash:EUR"
BANK = "platform:bank:EUR"
SELLER = "participant:lodz-gallery:cash:EUR"
FEES = "platform:fees:EUR"
MAX_MINOR = 2**63 - 1


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def transfer(
    key: str, source: str, target: str, amount: Money, *, pending: bool = False, **extra: Any
) -> Entry:
    """Money moves from ``source`` (debited) to ``target`` (credited)."""
    return Entry(
        key=key, postings=[debit(source, amount), credit(target, amount)], pending=pending, **extra
    )


def rejected(ledger: Ledger, code: str, call: Callable[[], Any]) -> LedgerError:
    """Run ``call``; it must raise ``code`` and write nothing."""
    before = snapshot(ledger)
    with pytest.raises(LedgerError) as caught:
        call()
    assert caught.value.code == code, f"{caught.value.code}: {caught.value.message}"
    assert_unchanged(ledger, before)
    assert_gap_free(ledger)
    return caught.value


@pytest.fixture
def books(ledger: Ledger) -> Iterator[Ledger]:
    """The platform's chart: bank asset, participant cash liabilities (no overdraft), fees."""
    ledger.open_account(BANK, currency="EUR", kind="asset")
    for code in (CASH, SELLER):
        ledger.open_account(
            code, currency="EUR", kind="liability", constraint="debits_must_not_exceed_credits"
        )
    ledger.open_account(FEES, currency="EUR", kind="income")
    ledger.post(transfer("deposit/acme", BANK, CASH, eur("100.00")))
    yield ledger
    assert ledger.verify().ok


# -- accounts -----------------------------------------------------------------------------


def test_account_not_found(books: Ledger) -> None:
    entry = transfer("pay/1", CASH, "participant:nobody:cash:EUR", eur("5.00"))
    error = rejected(books, "ACCOUNT_NOT_FOUND", lambda: books.post(entry))
    assert error.details["account"] == "participant:nobody:cash:EUR"
    assert error.exit_code == 1
    rejected(books, "ACCOUNT_NOT_FOUND", lambda: books.balance("participant:nobody:cash:EUR"))
    rejected(books, "ACCOUNT_NOT_FOUND", lambda: books.freeze_account("nobody:EUR"))
    rejected(books, "ACCOUNT_NOT_FOUND", lambda: books.statement("nobody:EUR"))
    books.open_account("participant:nobody:cash:EUR", currency="EUR", kind="liability")
    assert books.post(entry).key == "pay/1"


def test_account_exists(books: Ledger) -> None:
    error = rejected(
        books, "ACCOUNT_EXISTS", lambda: books.open_account(CASH, currency="EUR", kind="liability")
    )
    assert error.details["account"] == CASH
    # Even with another currency or kind: one code, one account.
    rejected(
        books, "ACCOUNT_EXISTS", lambda: books.open_account(CASH, currency="EUR", kind="asset")
    )


def test_account_frozen(books: Ledger) -> None:
    books.freeze_account(CASH)
    entry = transfer("pay/1", CASH, SELLER, eur("5.00"))
    error = rejected(books, "ACCOUNT_FROZEN", lambda: books.post(entry))
    assert error.details["account"] == CASH
    # Frozen means no new postings in either direction.
    rejected(books, "ACCOUNT_FROZEN", lambda: books.post(transfer("in/1", BANK, CASH, eur("1"))))
    books.unfreeze_account(CASH)
    assert books.post(entry).postings[0].amount_minor == 500


def test_account_closed(books: Ledger) -> None:
    books.close_account(SELLER)  # empty: allowed
    entry = transfer("pay/1", CASH, SELLER, eur("5.00"))
    error = rejected(books, "ACCOUNT_CLOSED", lambda: books.post(entry))
    assert error.details["account"] == SELLER
    rejected(books, "ACCOUNT_CLOSED", lambda: books.unfreeze_account(SELLER))
    rejected(books, "ACCOUNT_CLOSED", lambda: books.freeze_account(SELLER))
    rejected(books, "ACCOUNT_CLOSED", lambda: books.close_account(SELLER))
    # The key was not consumed: the same key to an open account goes through.
    assert books.post(transfer("pay/1", CASH, FEES, eur("5.00"))).seq > 0


def test_account_not_empty(books: Ledger) -> None:
    error = rejected(books, "ACCOUNT_NOT_EMPTY", lambda: books.close_account(CASH))
    assert error.details["account"] == CASH


def test_account_with_pending_amounts_is_not_empty(books: Ledger) -> None:
    books.post(transfer("hold/1", CASH, SELLER, eur("10.00"), pending=True))
    books.post(transfer("back/1", CASH, BANK, eur("90.00")))
    rejected(books, "ACCOUNT_NOT_EMPTY", lambda: books.close_account(SELLER))


@pytest.mark.parametrize(
    "code",
    [
        "",
        "Participant:acme",
        "participant acme",
        "participant::acme",
        ":participant",
        "participant:",
        "participant:-acme",
        "participant:acme:eur:EUR:x",
        "participant:ÄCME",
        "a" * 101,
    ],
)
def test_invalid_account_code(ledger: Ledger, code: str) -> None:
    error = rejected(
        ledger,
        "INVALID_ACCOUNT_CODE",
        lambda: ledger.open_account(code, currency="EUR", kind="asset"),
    )
    assert isinstance(error, InputError) and error.exit_code == 2


@pytest.mark.parametrize("currency", ["ABC", "XXX", "eur", "EURO", ""])
def test_unknown_currency_when_opening(ledger: Ledger, currency: str) -> None:
    error = rejected(
        ledger,
        "UNKNOWN_CURRENCY",
        lambda: ledger.open_account("x:cash", currency=currency, kind="asset"),
    )
    assert error.exit_code == 2


def test_unknown_currency_when_posting(books: Ledger) -> None:
    # py-moneyed refuses Money("1", "ABC"), but a Currency object or XXX (no minor unit) passes it.
    for amount in (Money("1", Currency("ABC")), Money("1", "XXX")):
        entry = Entry(key="odd/1", postings=[debit(CASH, amount), credit(SELLER, amount)])
        rejected(books, "UNKNOWN_CURRENCY", lambda entry=entry: books.post(entry))
    assert books.post(transfer("odd/1", CASH, SELLER, eur("1"))).seq > 0


def test_currency_mismatch(books: Ledger) -> None:
    cny = Money("5.00", "CNY")
    entry = Entry(key="pay/1", postings=[debit(CASH, cny), credit(SELLER, cny)])
    error = rejected(books, "CURRENCY_MISMATCH", lambda: books.post(entry))
    assert error.details["account"] == CASH
    assert error.details["account_currency"] == "EUR"
    assert error.details["posting_currency"] == "CNY"
    assert books.post(transfer("pay/1", CASH, SELLER, eur("5.00"))).seq > 0


# -- amounts ------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00"])
def test_amount_not_positive(books: Ledger, amount: str) -> None:
    entry = transfer("pay/1", CASH, SELLER, eur(amount))
    error = rejected(books, "AMOUNT_NOT_POSITIVE", lambda: books.post(entry))
    assert error.exit_code == 2
    assert books.post(transfer("pay/1", CASH, SELLER, eur("5.00"))).seq > 0


@pytest.mark.parametrize(
    ("amount", "currency"), [("100.5", "JPY"), ("1.001", "EUR"), ("0.0001", "KWD")]
)
def test_amount_precision_is_rejected_not_rounded(
    ledger: Ledger, amount: str, currency: str
) -> None:
    ledger.open_account(f"a:{currency.lower()}:{currency}", currency=currency, kind="asset")
    ledger.open_account(f"b:{currency.lower()}:{currency}", currency=currency, kind="equity")
    money = Money(amount, currency)
    entry = Entry(
        key="precise/1",
        postings=[
            debit(f"a:{currency.lower()}:{currency}", money),
            credit(f"b:{currency.lower()}:{currency}", money),
        ],
    )
    error = rejected(ledger, "AMOUNT_PRECISION", lambda: ledger.post(entry))
    assert error.details["currency"] == currency
    assert error.exit_code == 2
    exact = Money({"100.5": "100", "1.001": "1.00", "0.0001": "0.001"}[amount], currency)
    fixed = Entry(
        key="precise/1",
        postings=[
            debit(f"a:{currency.lower()}:{currency}", exact),
            credit(f"b:{currency.lower()}:{currency}", exact),
        ],
    )
    assert ledger.post(fixed).seq > 0


def test_amount_overflow_of_a_single_amount(books: Ledger) -> None:
    too_big = Money("92233720368547758.08", "EUR")  # 2**63 minor units
    entry = transfer("huge/1", BANK, CASH, too_big)
    rejected(books, "AMOUNT_OVERFLOW", lambda: books.post(entry))
    largest = Money("92233720368547758.07", "EUR")
    assert books.post(transfer("huge/1", FEES, SELLER, largest)).seq > 0


def test_amount_overflow_of_a_balance(ledger: Ledger) -> None:
    ledger.open_account("a:JPY", currency="JPY", kind="asset")
    ledger.open_account("b:JPY", currency="JPY", kind="equity")
    largest = Money(str(MAX_MINOR), "JPY")
    ledger.post(Entry(key="max/1", postings=[debit("a:JPY", largest), credit("b:JPY", largest)]))
    one = Money("1", "JPY")
    entry = Entry(key="max/2", postings=[debit("a:JPY", one), credit("b:JPY", one)])
    error = rejected(ledger, "AMOUNT_OVERFLOW", lambda: ledger.post(entry))
    assert error.details["account"] in ("a:JPY", "b:JPY")
    # Moving the other way fits, under the same key.
    back = Entry(key="max/2", postings=[debit("b:JPY", one), credit("a:JPY", one)])
    assert ledger.post(back).seq > 0


# -- entries ------------------------------------------------------------------------------


def test_unbalanced_entry(books: Ledger) -> None:
    entry = Entry(key="pay/1", postings=[debit(CASH, eur("5.00")), credit(SELLER, eur("4.99"))])
    error = rejected(books, "UNBALANCED_ENTRY", lambda: books.post(entry))
    assert (error.details["currency"], error.details["difference"]) == ("EUR", "0.01")
    assert error.details["key"] == "pay/1"
    assert books.post(transfer("pay/1", CASH, SELLER, eur("5.00"))).seq > 0


def test_unbalanced_per_currency_even_if_the_numbers_match(books: Ledger) -> None:
    books.open_account("platform:bank:CNY", currency="CNY", kind="asset")
    entry = Entry(
        key="fx/1",
        postings=[debit(CASH, eur("10.00")), credit("platform:bank:CNY", Money("10.00", "CNY"))],
    )
    error = rejected(books, "UNBALANCED_ENTRY", lambda: books.post(entry))
    # Every problem is reported: both currencies are off.
    assert {p["details"]["currency"] for p in error.details["problems"]} == {"CNY", "EUR"}


@pytest.mark.parametrize("count", [0, 1])
def test_too_few_postings(books: Ledger, count: int) -> None:
    postings = [debit(CASH, eur("5.00"))][:count]
    error = rejected(books, "TOO_FEW_POSTINGS", lambda: books.post(Entry("one/1", postings)))
    assert error.details["count"] == count
    assert books.post(transfer("one/1", CASH, SELLER, eur("5.00"))).seq > 0


def test_constraint_violated_names_account_available_and_asked(books: Ledger) -> None:
    entry = transfer("pay/1", CASH, SELLER, eur("100.01"))
    error = rejected(books, "CONSTRAINT_VIOLATED", lambda: books.post(entry))
    assert error.details["account"] == CASH
    assert error.details["available"] == "100.00"
    assert error.details["asked"] == "100.01"
    assert error.details["constraint"] == "debits_must_not_exceed_credits"
    assert books.post(transfer("pay/1", CASH, SELLER, eur("100.00"))).seq > 0
    assert books.balance(CASH).available_minor == 0


def test_constraint_counts_pending_debits(books: Ledger) -> None:
    books.post(transfer("hold/1", CASH, SELLER, eur("60.00"), pending=True))
    assert books.balance(CASH).available == eur("40.00")
    entry = transfer("pay/1", CASH, SELLER, eur("40.01"))
    error = rejected(books, "CONSTRAINT_VIOLATED", lambda: books.post(entry))
    assert (error.details["available"], error.details["asked"]) == ("40.00", "40.01")
    rejected(
        books,
        "CONSTRAINT_VIOLATED",
        lambda: books.post(transfer("hold/2", CASH, SELLER, eur("40.01"), pending=True)),
    )
    books.void_pending("hold/1", "hold/1/void")
    assert books.post(entry).seq > 0


def test_idempotency(books: Ledger) -> None:
    entry = transfer("pay/1", CASH, SELLER, eur("5.00"), description="invoice 7")
    first = books.post(entry)
    before = snapshot(books)
    again = books.post(entry)
    assert again == first
    assert_unchanged(books, before)
    for other in (
        transfer("pay/1", CASH, SELLER, eur("5.01"), description="invoice 7"),
        transfer("pay/1", CASH, SELLER, eur("5.00"), description="invoice 8"),
        transfer("pay/1", CASH, FEES, eur("5.00"), description="invoice 7"),
        transfer("pay/1", CASH, SELLER, eur("5.00"), description="invoice 7", pending=True),
        transfer("pay/1", CASH, SELLER, eur("5.00"), description="invoice 7", metadata={"a": 1}),
    ):
        error = rejected(books, "IDEMPOTENCY_CONFLICT", lambda other=other: books.post(other))
        assert error.details["key"] == "pay/1"


def test_post_many_is_all_or_nothing(books: Ledger) -> None:
    good = transfer("batch/1", CASH, SELLER, eur("5.00"))
    bad = transfer("batch/2", CASH, SELLER, eur("500.00"))
    rejected(books, "CONSTRAINT_VIOLATED", lambda: books.post_many([good, bad]))
    conflicting = transfer("batch/1", CASH, SELLER, eur("6.00"))
    rejected(books, "IDEMPOTENCY_CONFLICT", lambda: books.post_many([good, conflicting]))
    posted = books.post_many([good, good, transfer("batch/2", CASH, SELLER, eur("50.00"))])
    assert posted[0] == posted[1]
    assert [entry.seq for entry in posted] == [posted[0].seq, posted[0].seq, posted[0].seq + 1]


# -- pending entries ----------------------------------------------------------------------


@pytest.fixture
def held(books: Ledger) -> Ledger:
    books.post(transfer("hold/1", CASH, SELLER, eur("30.00"), pending=True))
    return books


def test_pending_not_found(held: Ledger) -> None:
    for call in (
        lambda: held.post_pending("hold/none", "post/1"),
        lambda: held.void_pending("hold/none", "post/1"),
        lambda: held.post_pending("deposit/acme", "post/1"),  # posted, not pending
    ):
        error = rejected(held, "PENDING_NOT_FOUND", call)
        assert error.details["pending_key"] in ("hold/none", "deposit/acme")
    assert held.post_pending("hold/1", "post/1").kind == "post_pending"


def test_pending_already_posted(held: Ledger) -> None:
    held.post_pending("hold/1", "post/1")
    rejected(held, "PENDING_ALREADY_POSTED", lambda: held.post_pending("hold/1", "post/2"))
    rejected(held, "PENDING_ALREADY_POSTED", lambda: held.void_pending("hold/1", "void/1"))
    # Retrying the call that succeeded returns its entry.
    assert held.post_pending("hold/1", "post/1").key == "post/1"


def test_pending_already_voided(held: Ledger) -> None:
    held.void_pending("hold/1", "void/1")
    rejected(held, "PENDING_ALREADY_VOIDED", lambda: held.post_pending("hold/1", "post/1"))
    rejected(held, "PENDING_ALREADY_VOIDED", lambda: held.void_pending("hold/1", "void/2"))
    assert held.balance(CASH).available == eur("100.00")


def test_pending_expired(make_url_for: Callable[[], str]) -> None:
    now = [datetime(2026, 11, 26, 8, 0, tzinfo=UTC)]
    ledger = Ledger.connect(make_url_for(), clock=lambda: now[0])
    try:
        ledger.open_account(BANK, currency="EUR", kind="asset")
        ledger.open_account(CASH, currency="EUR", kind="liability")
        expires = now[0] + timedelta(hours=1)
        ledger.post(transfer("hold/1", BANK, CASH, eur("10"), pending=True, expires_at=expires))
        ledger.post(transfer("hold/2", BANK, CASH, eur("20"), pending=True, expires_at=expires))
        now[0] = expires  # expires_at is the first instant at which it can no longer be posted
        error = rejected(ledger, "PENDING_EXPIRED", lambda: ledger.post_pending("hold/1", "p/1"))
        assert error.details["pending_key"] == "hold/1"
        rejected(ledger, "PENDING_EXPIRED", lambda: ledger.void_pending("hold/1", "v/1"))
        expired = ledger.expire_pending()
        assert [(e.kind, e.pending_key) for e in expired] == [
            ("expire_pending", "hold/1"),
            ("expire_pending", "hold/2"),
        ]
        rejected(ledger, "PENDING_EXPIRED", lambda: ledger.post_pending("hold/2", "p/1"))
        assert ledger.expire_pending() == []
        assert ledger.balance(CASH).credits_pending_minor == 0
        assert ledger.verify().ok
    finally:
        ledger.close()


def test_pending_amount_exceeded(held: Ledger) -> None:
    error = rejected(
        held,
        "PENDING_AMOUNT_EXCEEDED",
        lambda: held.post_pending("hold/1", "post/1", eur("30.01")),
    )
    assert (error.details["asked"], error.details["pending"]) == ("30.01", "30.00")
    rejected(
        held,
        "AMOUNT_NOT_POSITIVE",
        lambda: held.post_pending("hold/1", "post/1", eur("0")),
    )
    rejected(
        held,
        "CURRENCY_MISMATCH",
        lambda: held.post_pending("hold/1", "post/1", Money("1.00", "CNY")),
    )
    rejected(
        held,
        "AMOUNT_PRECISION",
        lambda: held.post_pending("hold/1", "post/1", eur("1.001")),
    )
    partial = held.post_pending("hold/1", "post/1", eur("12.50"))
    assert [p.amount_minor for p in partial.postings] == [1250, 1250]
    balance = held.balance(CASH)
    assert (balance.posted, balance.available) == (eur("87.50"), eur("87.50"))
    assert balance.debits_pending_minor == 0


def test_resolution_keys_are_idempotent_too(held: Ledger) -> None:
    held.post(transfer("hold/2", CASH, SELLER, eur("10.00"), pending=True))
    first = held.post_pending("hold/1", "done/1", eur("10.00"))
    assert held.post_pending("hold/1", "done/1", eur("10.00")) == first
    rejected(held, "IDEMPOTENCY_CONFLICT", lambda: held.post_pending("hold/1", "done/1"))
    rejected(held, "IDEMPOTENCY_CONFLICT", lambda: held.void_pending("hold/2", "done/1"))
    rejected(held, "IDEMPOTENCY_CONFLICT", lambda: held.reverse("deposit/acme", "done/1"))


def test_reverse_errors(held: Ledger) -> None:
    held.post(transfer("pay/1", CASH, SELLER, eur("20.00")))
    rejected(held, "ENTRY_NOT_FOUND", lambda: held.reverse("nothing", "rev/1"))
    rejected(held, "INVALID_ENTRY", lambda: held.reverse("hold/1", "rev/1"))  # pending
    # Reversing the deposit would overdraw acme's cash (70.00 available after the hold).
    error = rejected(held, "CONSTRAINT_VIOLATED", lambda: held.reverse("deposit/acme", "rev/1"))
    assert (error.details["available"], error.details["asked"]) == ("50.00", "100.00")
    reversal = held.reverse("pay/1", "rev/1")
    assert reversal.kind == "reversal"
    assert [(p.account, p.side) for p in reversal.postings] == [(CASH, "credit"), (SELLER, "debit")]
    rejected(held, "ALREADY_REVERSED", lambda: held.reverse("pay/1", "rev/2"))
    void = held.void_pending("hold/1", "void/1")
    rejected(held, "INVALID_ENTRY", lambda: held.reverse(void.key, "rev/2"))  # no postings


# -- storage ------------------------------------------------------------------------------


def test_storage_unavailable_postgres_port_closed() -> None:
    with pytest.raises(LedgerError) as caught:
        Ledger.connect("postgresql+psycopg://postgres:secret@127.0.0.1:1/none?connect_timeout=2")
    assert caught.value.code == "STORAGE_UNAVAILABLE"
    assert "secret" not in str(caught.value.details)  # the password is redacted
    assert caught.value.exit_code == 1


def test_storage_unavailable_sqlite_unwritable(tmp_path: Any) -> None:
    with pytest.raises(LedgerError) as caught:
        Ledger.connect(f"sqlite:///{tmp_path}/missing-directory/ledger.db")
    assert caught.value.code == "STORAGE_UNAVAILABLE"


def test_storage_unavailable_after_connect(tmp_path: Any) -> None:
    """The database goes away under a connected ledger: a clear error, not a driver trace."""
    directory = tmp_path / "books"
    directory.mkdir()
    ledger = Ledger.connect(f"sqlite:///{directory}/ledger.db")
    ledger.open_account(BANK, currency="EUR", kind="asset")
    ledger.engine.dispose()  # no pooled connection keeps the old file open
    for path in directory.iterdir():
        path.unlink()
    directory.rmdir()
    with pytest.raises(LedgerError) as caught:
        ledger.open_account(CASH, currency="EUR", kind="liability")
    assert caught.value.code == "STORAGE_UNAVAILABLE"
    ledger.close()


def test_expiry_key_taken_by_a_client(make_url_for: Callable[[], str]) -> None:
    now = [datetime(2026, 11, 26, 8, 0, tzinfo=UTC)]
    ledger = Ledger.connect(make_url_for(), clock=lambda: now[0])
    try:
        ledger.open_account(BANK, currency="EUR", kind="asset")
        ledger.open_account(CASH, currency="EUR", kind="liability")
        # The engine's own key for the expiry of "hold/1" is reserved: a client cannot take it.
        error = rejected(
            ledger,
            "INVALID_ENTRY",
            lambda: ledger.post(transfer("expire_pending:hold/1", BANK, CASH, eur("1"))),
        )
        assert "reserved" in error.details
        expires = now[0] + timedelta(hours=1)
        ledger.post(transfer("hold/1", BANK, CASH, eur("10"), pending=True, expires_at=expires))
        expired = ledger.expire_pending(expires)
        assert [entry.key for entry in expired] == ["expire_pending:hold/1"]
        assert ledger.balance(CASH).credits_pending_minor == 0
        assert ledger.verify().ok
    finally:
        ledger.close()

"""The Python API's door: whatever an ``Entry`` holds, a bad one is a typed error raised before
anything is written (never a ``RecursionError`` or ``UnicodeEncodeError``), timestamps follow
the one rule, and opening an account again exactly as it is changes nothing.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, LedgerError, credit, debit
from jiaolong_ledger.intake import INTEGER_DIGITS_MAX
from jiaolong_ledger.journal.entry import METADATA_DEPTH_MAX
from jiaolong_ledger.journal.validation import METADATA_BYTES_MAX
from jiaolong_ledger.testing import assert_gap_free, assert_unchanged, snapshot

BANK = "platform:bank:EUR"
CASH = "participant:acme:cash:EUR"
README = Path(__file__).resolve().parents[2] / "README.md"


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def deposit(key: str = "deposit/1", **extra: Any) -> Entry:
    return Entry(key=key, postings=[debit(BANK, eur("5.00")), credit(CASH, eur("5.00"))], **extra)


def nested(depth: int, leaf: Any = "x") -> dict[str, Any]:
    """A mapping nested ``depth`` levels deep (``{"a": leaf}`` is 1), built without recursion."""
    value: Any = leaf
    for _ in range(depth):
        value = {"a": value}
    return dict(value)


@pytest.fixture
def books(ledger: Ledger) -> Iterator[Ledger]:
    ledger.open_account(BANK, currency="EUR", kind="asset")
    ledger.open_account(
        CASH, currency="EUR", kind="liability", constraint="debits_must_not_exceed_credits"
    )
    yield ledger
    assert ledger.verify().ok


def refused(ledger: Ledger, code: str, call: Callable[[], object]) -> LedgerError:
    before = snapshot(ledger)
    with pytest.raises(LedgerError) as caught:
        call()
    assert caught.value.code == code, (caught.value.code, caught.value.message)
    assert_unchanged(ledger, before)
    assert_gap_free(ledger)
    return caught.value


# -- metadata: depth, size, types, integers --------------------------------------------------


def test_metadata_nested_1200_levels_is_limit_exceeded_not_recursion_error(books: Ledger) -> None:
    deep = nested(1_200)
    with pytest.raises(LedgerError) as caught:
        Entry(key="deep", postings=[], metadata=deep)
    assert caught.value.code == "LIMIT_EXCEEDED"
    assert caught.value.details["limit"] == "metadata_depth_max"
    refused(books, "LIMIT_EXCEEDED", lambda: books.post(deposit(metadata=deep)))
    refused(books, "LIMIT_EXCEEDED", lambda: books.post_many([deposit(metadata={"l": [deep]})]))


def test_metadata_depth_limit_is_exact(books: Ledger) -> None:
    # The metadata object is level 1: nested(METADATA_DEPTH_MAX) is METADATA_DEPTH_MAX deep.
    fits = books.post(deposit("fits", metadata=nested(METADATA_DEPTH_MAX)))
    assert fits.to_json()["metadata"] == nested(METADATA_DEPTH_MAX)
    lists: Any = "x"
    for _ in range(METADATA_DEPTH_MAX):  # lists count as levels too
        lists = [lists]
    refused(
        books,
        "LIMIT_EXCEEDED",
        lambda: books.post(deposit(metadata=nested(METADATA_DEPTH_MAX + 1))),
    )
    refused(books, "LIMIT_EXCEEDED", lambda: books.post(deposit(metadata={"l": lists})))


def test_metadata_that_contains_itself_is_refused(books: Ledger) -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    refused(books, "LIMIT_EXCEEDED", lambda: books.post(deposit(metadata=loop)))


@pytest.mark.parametrize(
    ("metadata", "code", "limit"),
    [
        ({"blob": "x" * METADATA_BYTES_MAX}, "LIMIT_EXCEEDED", "metadata_bytes_max"),
        ({"n": 10**5_000}, "LIMIT_EXCEEDED", "integer_digits_max"),
        ({"n": -(10**INTEGER_DIGITS_MAX)}, "LIMIT_EXCEEDED", "integer_digits_max"),
        ({"rate": 7.81}, "INVALID_ENTRY", None),
        ({"rates": [{"eur": float("nan")}]}, "INVALID_ENTRY", None),
        ({"at": datetime(2026, 1, 1, tzinfo=UTC)}, "INVALID_ENTRY", None),
        ({1: "x"}, "INVALID_ENTRY", None),
    ],
)
def test_metadata_limits_and_types(
    books: Ledger, metadata: dict[Any, Any], code: str, limit: str | None
) -> None:
    error = refused(books, code, lambda: books.post(deposit(metadata=metadata)))
    assert error.details.get("limit") == limit
    books.post(deposit(metadata={"n": 10**INTEGER_DIGITS_MAX - 1, "ok": [True, None, "é"]}))


# -- text that cannot be stored -----------------------------------------------------------------

SURROGATE = "\ud800"


@pytest.mark.parametrize(
    "make",
    [
        lambda: deposit(f"key/{SURROGATE}"),
        lambda: deposit(description=f"bad {SURROGATE}"),
        lambda: deposit(metadata={"note": SURROGATE}),
        lambda: deposit(metadata={SURROGATE: "x"}),
        lambda: deposit(metadata={"lines": [{"memo": f"a{SURROGATE}b"}]}),
        lambda: Entry("bad", [debit(f"{BANK}{SURROGATE}", eur("1")), credit(CASH, eur("1"))]),
        lambda: Entry("bad", [debit(BANK, eur("1")), credit(CASH, eur("1"))], kind=SURROGATE),
    ],
    ids=["key", "description", "metadata value", "metadata key", "nested", "account", "kind"],
)
def test_a_lone_surrogate_anywhere_is_invalid_entry(
    books: Ledger, make: Callable[[], Entry]
) -> None:
    refused(books, "INVALID_ENTRY", lambda: books.post(make()))
    refused(books, "INVALID_ENTRY", lambda: books.post_many([deposit("fine/1"), make()]))


def test_a_refused_entry_in_a_unit_of_work_takes_back_the_unit(books: Ledger) -> None:
    before = snapshot(books)
    with pytest.raises(LedgerError) as caught, books.transaction() as tx:
        tx.post(deposit("first"))
        tx.post(deposit("second", metadata=nested(METADATA_DEPTH_MAX + 1)))
    assert caught.value.code == "LIMIT_EXCEEDED"
    assert_unchanged(books, before)
    assert books.post(deposit("first")).seq == before.last_seq + 1  # the key is still free


# -- timestamps: the one rule ---------------------------------------------------------------------

NAIVE = datetime(2026, 11, 26, 8, 0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: deposit(effective_at=NAIVE),
        lambda: deposit(pending=True, expires_at=NAIVE),
        lambda: deposit(effective_at="2026-11-26T08:00:00Z"),  # text is not an instant here
    ],
    ids=["effective_at", "expires_at", "text"],
)
def test_a_naive_timestamp_is_invalid_input(books: Ledger, make: Callable[[], Entry]) -> None:
    refused(books, "INVALID_INPUT", lambda: books.post(make()))


def test_timestamp_arguments_of_reads_and_expiry(books: Ledger) -> None:
    for call in (
        lambda: books.balance(CASH, as_of=NAIVE),
        lambda: books.trial_balance(as_of=NAIVE),
        lambda: books.statement(CASH, NAIVE, None),
        lambda: books.statement(CASH, None, NAIVE),
        lambda: books.expire_pending(NAIVE),
    ):
        assert "no UTC offset" in refused(books, "INVALID_INPUT", call).message
    aware = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    assert books.balance(CASH, as_of=aware).posted == eur("0.00")


def test_kind_pending_belongs_to_pending_entries(books: Ledger) -> None:
    refused(books, "INVALID_ENTRY", lambda: books.post(deposit(kind="pending")))
    assert books.post(deposit(kind="pending", pending=True)).status == "pending"


# -- opening an account again -------------------------------------------------------------------


def test_opening_an_identical_account_again_is_a_no_op(books: Ledger) -> None:
    before = snapshot(books)
    again = books.open_account(
        CASH, currency="EUR", kind="liability", constraint="debits_must_not_exceed_credits"
    )
    assert again == books.account(CASH)
    assert books.open_account(BANK, currency="EUR", kind="asset") == books.account(BANK)
    assert_unchanged(books, before)
    with books.transaction() as tx:  # within a unit of work, twice
        first = tx.open_account("x:EUR", currency="EUR", kind="asset")
        assert tx.open_account("x:EUR", currency="EUR", kind="asset") == first
    assert snapshot(books).last_seq == before.last_seq + 1  # one open_account record


@pytest.mark.parametrize(
    "changes",
    [
        {"currency": "CNY"},
        {"kind": "equity"},
        {"constraint": None},
        {"constraint": "credits_must_not_exceed_debits"},
    ],
)
def test_opening_a_different_account_under_an_existing_code_is_account_exists(
    books: Ledger, changes: dict[str, Any]
) -> None:
    asked = {
        "currency": "EUR",
        "kind": "liability",
        "constraint": "debits_must_not_exceed_credits",
        **changes,
    }
    error = refused(books, "ACCOUNT_EXISTS", lambda: books.open_account(CASH, **asked))
    assert error.details == {
        "account": CASH,
        "currency": "EUR",
        "kind": "liability",
        "constraint": "debits_must_not_exceed_credits",
        "status": "open",
    }


def test_reopening_keeps_the_status_and_a_closed_account_stays_closed(books: Ledger) -> None:
    books.freeze_account(CASH)
    frozen = books.open_account(
        CASH, currency="EUR", kind="liability", constraint="debits_must_not_exceed_credits"
    )
    assert frozen.status == "frozen"
    books.open_account("gone:EUR", currency="EUR", kind="asset")
    books.close_account("gone:EUR")
    error = refused(
        books,
        "ACCOUNT_EXISTS",
        lambda: books.open_account("gone:EUR", currency="EUR", kind="asset"),
    )
    assert "closed" in error.message


def test_the_readme_snippet_runs_twice(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    match = re.search(r"## Use it from Python\s+```python\n(.*?)```", README.read_text(), re.S)
    assert match, "README has no Python snippet"
    code = match.group(1).replace('"sqlite:///jiaolong.db"', repr(db_url))
    assert repr(db_url) in code
    for _ in range(2):
        namespace: dict[str, Any] = {}
        exec(compile(code, str(README), "exec"), namespace)
        namespace["ledger"].close()
    first, second = capsys.readouterr().out.splitlines()
    assert first == second and first.endswith("100.00")  # the deposit counted once

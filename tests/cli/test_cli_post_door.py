"""The ``post`` door: a strict line model, the whole file atomic, batches, replays counted.

Every refusal is ``error: CODE: message`` naming the line (and the field), the documented exit
code, no traceback, and nothing written — on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, LedgerError, credit, debit
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.journal.jsonl import CheckedEntries, entry_from_line
from jiaolong_ledger.journal.validation import BATCH_SIZE_MAX, validate_shape
from jiaolong_ledger.testing import assert_gap_free, assert_unchanged, snapshot
from jiaolong_ledger.unit_of_work import UnitOfWork

BANK = "platform:bank:EUR"
CASH = "participant:acme:cash:EUR"
SELLER = "participant:lodz-gallery:cash:EUR"


def run(db_url: str, *args: str, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args], input=input)


def entry(key: str, amount: Any = "1.00", **extra: Any) -> dict[str, Any]:
    """Money from CASH to SELLER."""
    return {
        "key": key,
        "postings": [
            {"account": CASH, "side": "debit", "amount": amount, "currency": "EUR"},
            {"account": SELLER, "side": "credit", "amount": amount, "currency": "EUR"},
        ],
        **extra,
    }


def write_lines(path: Path, *lines: Any) -> str:
    """Objects as JSON, ``str`` verbatim, ``bytes`` raw; one per line."""
    with path.open("wb") as handle:
        for line in lines:
            if isinstance(line, bytes):
                handle.write(line)
            elif isinstance(line, str):
                handle.write(line.encode("utf-8"))
            else:
                handle.write(json.dumps(line).encode("utf-8"))
            handle.write(b"\n")
    return str(path)


def many(count: int, start: int = 0, amount: str = "0.01") -> list[dict[str, Any]]:
    return [entry(f"bulk/{index}", amount) for index in range(start, start + count)]


def refused(ledger: Ledger, result: Result, code: str, exit_code: int = 2) -> str:
    """The CLI failed the documented way; returns the message."""
    assert result.exit_code == exit_code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    match = re.search(rf"^error: {code}: (.+)\Z", result.stderr, re.MULTILINE | re.DOTALL)
    assert match, result.stderr
    return match.group(1).strip()


@pytest.fixture
def books(db_url: str) -> Iterator[Ledger]:
    """acme holds 100.00 EUR; the CLI opens its own connection to the same ledger."""
    ledger = Ledger.connect(db_url)
    ledger.open_account(BANK, currency="EUR", kind="asset")
    for code in (CASH, SELLER):
        ledger.open_account(
            code, currency="EUR", kind="liability", constraint="debits_must_not_exceed_credits"
        )
    amount = Money("100.00", "EUR")
    ledger.post(Entry("deposit/acme", [debit(BANK, amount), credit(CASH, amount)]))
    yield ledger
    assert ledger.verify().ok
    ledger.close()


# -- the line model: every refusal names the line and the field -------------------------------

DEEP_METADATA: dict[str, Any] = {}
for _ in range(20):
    DEEP_METADATA = {"a": DEEP_METADATA}

BAD_LINES: list[tuple[str, Any, str, str]] = [
    # (case, line, code, words the message must hold)
    ("unknown field", {**entry("x"), "colour": "red"}, "INVALID_INPUT", "colour: unknown field"),
    ("seq", {**entry("x"), "seq": 9}, "INVALID_INPUT", "seq: is assigned by the ledger"),
    ("hash", {**entry("x"), "hash": "00"}, "INVALID_INPUT", "hash: is assigned by the ledger"),
    (
        "unknown posting field",
        {**entry("x"), "postings": [{**entry("x")["postings"][0], "memo": 1}]},
        "INVALID_INPUT",
        "postings[0].memo: unknown field",
    ),
    ("float amount", entry("x", 1.5), "INVALID_INPUT", "postings[0].amount: must be a decimal"),
    ("integer amount", entry("x", 1), "INVALID_INPUT", "never a JSON float or integer"),
    ("exponent amount", entry("x", "1e2"), "INVALID_INPUT", "postings[0].amount"),
    ("NaN amount", entry("x", "NaN"), "INVALID_INPUT", "postings[0].amount"),
    ("separator amount", entry("x", "1_000"), "INVALID_INPUT", "postings[0].amount"),
    ("key not a string", {**entry("x"), "key": 7}, "INVALID_INPUT", "key:"),
    ("key as object", {**entry("x"), "key": {"a": 1}}, "INVALID_INPUT", "key:"),
    ("no key", {"postings": entry("x")["postings"]}, "INVALID_INPUT", "key: field required"),
    ("no postings", {"key": "x"}, "INVALID_INPUT", "postings: field required"),
    ("postings not a list", {"key": "x", "postings": {}}, "INVALID_INPUT", "postings:"),
    ("posting not an object", {"key": "x", "postings": ["a", "b"]}, "INVALID_INPUT", "postings[0]"),
    (
        "side",
        {**entry("x"), "postings": [{**entry("x")["postings"][0], "side": "left"}]},
        "INVALID_INPUT",
        "postings[0].side",
    ),
    ("metadata a list", {**entry("x"), "metadata": [1]}, "INVALID_INPUT", "metadata:"),
    ("status", {**entry("x"), "status": "done"}, "INVALID_INPUT", "status:"),
    ("description", {**entry("x"), "description": 5}, "INVALID_INPUT", "description:"),
    (
        "naive effective_at",
        entry("x", effective_at="2026-11-26T08:00:00"),
        "INVALID_INPUT",
        "no UTC",
    ),
    ("bare date effective_at", entry("x", effective_at="2026-11-26"), "INVALID_INPUT", "no UTC"),
    ("garbage effective_at", entry("x", effective_at="yesterday"), "INVALID_INPUT", "effective_at"),
    (
        "number effective_at",
        entry("x", effective_at=1_700_000_000),
        "INVALID_INPUT",
        "effective_at",
    ),
    (
        "naive expires_at",
        entry("x", status="pending", expires_at="2100-01-01T00:00:00"),
        "INVALID_INPUT",
        "expires_at",
    ),
    ("duplicate key", '{"key": "x", "key": "y", "postings": []}', "INVALID_INPUT", "twice"),
    ("lone surrogate", '{"key": "\\ud800", "postings": []}', "INVALID_INPUT", "surrogate"),
    ("not UTF-8", b'{"key": "\xff", "postings": []}', "INVALID_INPUT", "not UTF-8"),
    ("too deep", "[" * 40 + "]" * 40, "INVALID_INPUT", "deeper"),
    ("huge integer", '{"key": "x", "n": ' + "9" * 5000 + "}", "INVALID_INPUT", "digits"),
    ("not an object", '["a"]', "INVALID_INPUT", "expected a JSON object"),
    ("malformed", '{"key": ', "INVALID_INPUT", "malformed JSON"),
    # Ledger rules, judged before anything is posted, still name the line:
    ("metadata too deep", entry("x", metadata=DEEP_METADATA), "LIMIT_EXCEEDED", "metadata"),
    ("metadata float", entry("x", metadata={"rate": 7.81}), "INVALID_ENTRY", "no floats"),
    ("engine kind", entry("x", kind="reversal"), "INVALID_ENTRY", "reversal"),
    (
        "unbalanced",
        {**entry("x"), "postings": entry("x")["postings"][:1] * 2},
        "UNBALANCED_ENTRY",
        "",
    ),
    ("precision", entry("x", "1.001"), "AMOUNT_PRECISION", "1.001"),
    (
        "currency",
        {**entry("x"), "postings": [{**p, "currency": "ABC"} for p in entry("x")["postings"]]},
        "UNKNOWN_CURRENCY",
        "ABC",
    ),
]


@pytest.mark.parametrize(
    ("line", "code", "words"),
    [case[1:] for case in BAD_LINES],
    ids=[case[0] for case in BAD_LINES],
)
def test_a_bad_line_is_refused_by_number_and_nothing_is_posted(
    books: Ledger, db_url: str, tmp_path: Path, line: Any, code: str, words: str
) -> None:
    file = write_lines(tmp_path / "in.jsonl", entry("pay/1"), "", entry("pay/2"), line, entry("p3"))
    before = snapshot(books)
    exit_code = 1 if code == "UNBALANCED_ENTRY" else 2  # a ledger rule, not an input error
    message = refused(books, run(db_url, "post", file), code, exit_code)
    assert message.startswith("line 4: "), message
    assert words in message, message
    assert_unchanged(books, before)
    assert_gap_free(books)


def test_refusals_in_json_carry_the_line_and_the_field(
    books: Ledger, db_url: str, tmp_path: Path
) -> None:
    file = write_lines(tmp_path / "in.jsonl", entry("pay/1"), entry("pay/2", 2.5))
    result = run(db_url, "--json", "post", file)
    refused(books, result, "INVALID_INPUT")
    details = json.loads(result.stdout)["error"]["details"]
    assert (details["line"], details["field"]) == (2, "postings[0].amount")


def test_a_missing_or_unreadable_file_creates_no_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/never.db"
    for path in (str(tmp_path / "missing.jsonl"), str(tmp_path)):
        result = run(url, "post", path)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: INVALID_INPUT: entries file "), result.stderr
        assert "Traceback" not in result.output
    bad = write_lines(tmp_path / "bad.jsonl", entry("x", 1.5))
    assert run(url, "post", bad).exit_code == 2
    assert not (tmp_path / "never.db").exists()


@pytest.mark.parametrize("size", ["0", "-1", str(BATCH_SIZE_MAX + 1), "many"])
def test_batch_size_is_bounded(books: Ledger, db_url: str, tmp_path: Path, size: str) -> None:
    file = write_lines(tmp_path / "in.jsonl", entry("pay/1"))
    before = snapshot(books)
    result = run(db_url, "post", file, "--batch-size", size)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert_unchanged(books, before)


# -- the whole file is one unit of work, posted in bounded batches ----------------------------


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch handed to the writer by ``post`` (in this process)."""
    sizes: list[int] = []
    original = UnitOfWork.post_many

    def recording(self: UnitOfWork, entries: Any) -> Any:
        sizes.append(len(entries))
        return original(self, entries)

    monkeypatch.setattr(UnitOfWork, "post_many", recording)
    return sizes


def test_five_thousand_lines_post_in_bounded_batches(
    books: Ledger, db_url: str, tmp_path: Path, batch_sizes: list[int]
) -> None:
    file = write_lines(tmp_path / "bulk.jsonl", *many(5_000))
    result = run(db_url, "--json", "post", file, "--batch-size", "700")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "posted": 5_000,
        "already_present": 0,
        "first_seq": 5,
        "last_seq": 5_004,
    }
    assert batch_sizes == [700] * 7 + [100]
    assert books.balance(SELLER).posted == Money("50.00", "EUR")
    assert_gap_free(books)

    batch_sizes.clear()
    again = run(db_url, "post", file)  # the default batch size
    assert again.exit_code == 0, again.output
    assert again.stdout == "0 posted, 5000 already present\n"
    assert batch_sizes == [1_000] * 5
    assert books.balance(SELLER).posted == Money("50.00", "EUR")


def test_a_refusal_in_a_later_batch_takes_back_the_earlier_batches(
    books: Ledger, db_url: str, tmp_path: Path, batch_sizes: list[int]
) -> None:
    """Lines 1-2,499 are fine; line 2,500 overdraws acme: nothing of the file is kept."""
    lines = [*many(2_499), entry("too-much", "80.00")]
    file = write_lines(tmp_path / "bulk.jsonl", *lines)
    before = snapshot(books)
    message = refused(books, run(db_url, "post", file), "CONSTRAINT_VIOLATED", 1)
    assert message.startswith("line 2500: "), message
    assert batch_sizes == [1_000, 1_000, 500]  # two batches were written, then taken back
    assert_unchanged(books, before)
    assert_gap_free(books)


def test_a_bad_last_line_of_a_big_file_posts_nothing(
    books: Ledger, db_url: str, tmp_path: Path, batch_sizes: list[int]
) -> None:
    file = write_lines(tmp_path / "bulk.jsonl", *many(3_000), {"key": "broken"})
    before = snapshot(books)
    message = refused(books, run(db_url, "post", file), "INVALID_INPUT")
    assert message.startswith("line 3001: postings: field required"), message
    assert batch_sizes == []  # every line is checked before the first batch
    assert_unchanged(books, before)


# -- replays: counted as already present --------------------------------------------------------


def test_posting_a_file_twice_posts_nothing_twice(
    books: Ledger, db_url: str, tmp_path: Path
) -> None:
    file = write_lines(tmp_path / "in.jsonl", entry("pay/1"), entry("pay/2", "2.00"))
    assert run(db_url, "post", file).stdout == "2 posted, 0 already present\n"
    head = snapshot(books)
    assert run(db_url, "post", file).stdout == "0 posted, 2 already present\n"
    assert_unchanged(books, head)
    more = write_lines(
        tmp_path / "more.jsonl", entry("pay/1"), entry("pay/3"), entry("pay/2", "2.00")
    )
    result = run(db_url, "--json", "post", more)
    assert json.loads(result.stdout) == {
        "posted": 1,
        "already_present": 2,
        "first_seq": head.last_seq + 1,
        "last_seq": head.last_seq + 1,
    }
    assert books.entry("pay/3").seq == head.last_seq + 1


def test_a_line_repeated_in_the_file_is_posted_once(
    books: Ledger, db_url: str, tmp_path: Path
) -> None:
    lines = [entry("pay/1"), *many(5), entry("pay/1")]
    file = write_lines(tmp_path / "in.jsonl", *lines)
    once = run(db_url, "post", file, "--batch-size", "2")  # the repeat is in a later batch
    assert once.stdout == "6 posted, 1 already present\n"
    assert books.balance(SELLER).posted == Money("1.05", "EUR")
    other = write_lines(tmp_path / "other.jsonl", entry("pay/9"), entry("pay/9"))
    assert run(db_url, "post", other).stdout == "1 posted, 1 already present\n"  # same batch
    assert books.balance(SELLER).posted == Money("2.05", "EUR")


@pytest.mark.parametrize("size", ["1000", "2"])
def test_a_key_reused_for_another_entry_names_the_later_line(
    books: Ledger, db_url: str, tmp_path: Path, size: str
) -> None:
    file = write_lines(tmp_path / "in.jsonl", entry("pay/1"), *many(3), entry("pay/1", "9.00"))
    before = snapshot(books)
    result = run(db_url, "post", file, "--batch-size", size)
    message = refused(books, result, "IDEMPOTENCY_CONFLICT", 1)
    assert message.startswith("line 5: "), message
    assert_unchanged(books, before)


def test_pending_lines_and_offsets(books: Ledger, db_url: str, tmp_path: Path) -> None:
    hold = entry(
        "hold/1",
        "30.00",
        status="pending",
        effective_at="2026-11-26T16:00:00+08:00",
        expires_at="2100-01-01T08:00:00+08:00",
        description="held for order 42",
        metadata={"order": "42", "lines": [1, 2], "paid": False, "note": None},
    )
    file = write_lines(tmp_path / "in.jsonl", hold)
    assert run(db_url, "post", file).exit_code == 0
    stored = books.entry("hold/1").to_json()
    assert (stored["kind"], stored["status"]) == ("pending", "pending")
    assert stored["effective_at"] == "2026-11-26T08:00:00.000000Z"
    assert stored["expires_at"] == "2100-01-01T00:00:00.000000Z"
    assert stored["metadata"] == hold["metadata"]
    assert run(db_url, "post", file).stdout == "0 posted, 1 already present\n"


def test_an_empty_file_posts_nothing(books: Ledger, db_url: str, tmp_path: Path) -> None:
    file = write_lines(tmp_path / "empty.jsonl", "", "  ")
    before = snapshot(books)
    result = run(db_url, "post", file)
    assert (result.exit_code, result.stdout) == (0, "0 posted, 0 already present\n")
    assert_unchanged(books, before)


# -- the line model on its own: only typed errors, whatever the JSON ---------------------------

TEXT = st.text(st.characters(blacklist_categories=()), max_size=8)  # lone surrogates too
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT | st.sampled_from(["1.00"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["key", "kind", "status", "effective_at", "expires_at", "description", "metadata", "postings"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from([entry("x"), entry("x", status="pending"), {"key": "x"}]),
    changes=st.dictionaries(FIELDS | st.text(max_size=5), JSON_VALUES, max_size=3),
)
def test_any_json_object_gives_an_entry_or_a_typed_error(
    base: dict[str, Any], changes: dict[str, Any]
) -> None:
    try:
        converted = entry_from_line({**base, **changes}, 1)
    except LedgerError as error:
        assert error.exit_code == 2
        assert error.message.startswith("line 1: ")
        return
    try:
        validate_shape(converted)
    except LedgerError as error:
        assert error.exit_code in (1, 2)


def test_checked_entries_reads_back_what_it_checked(tmp_path: Path) -> None:
    file = write_lines(tmp_path / "in.jsonl", *many(7), "", entry("last", metadata={"é": "付"}))
    with CheckedEntries(file) as checked:
        assert checked.count == 8
        assert checked.batch_count(3) == 3
        batches = list(checked.batches(3))
    assert [len(batch) for batch in batches] == [3, 3, 2]
    assert [number for batch in batches for number, _ in batch] == [1, 2, 3, 4, 5, 6, 7, 9]
    assert batches[-1][-1][1].metadata == {"é": "付"}

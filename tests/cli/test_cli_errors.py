"""The core's SPEC §6 codes through the CLI: ``error: CODE: message`` on stderr, exit 1 or 2,
and nothing written. (Pending entries have no CLI commands: their codes are API-tested.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.testing import assert_gap_free, assert_unchanged, snapshot

CASH = "participant:acme:cash:EUR"
BANK = "platform:bank:EUR"
SELLER = "participant:lodz-gallery:cash:EUR"


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args])


def posting(account: str, side: str, amount: Any, currency: str = "EUR") -> dict[str, Any]:
    return {"account": account, "side": side, "amount": amount, "currency": currency}


def entry(key: str, source: str, target: str, amount: Any, currency: str = "EUR") -> dict[str, Any]:
    return {
        "key": key,
        "postings": [
            posting(source, "debit", amount, currency),
            posting(target, "credit", amount, currency),
        ],
    }


def jsonl(path: Path, *objects: Any) -> str:
    path.write_text(
        "".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objects), "utf-8"
    )
    return str(path)


def assert_error(result: Result, code: str, exit_code: int) -> str:
    """The CLI failed the documented way; returns the message."""
    assert result.exit_code == exit_code, (result.exit_code, result.output, result.exception)
    # Log events (the "rejected" warning) may come first; the error line closes stderr.
    match = re.search(rf"^error: {code}: (.+)\Z", result.stderr, re.MULTILINE | re.DOTALL)
    assert match, result.stderr
    return match.group(1)


@pytest.fixture
def books(db_url: str) -> Iterator[Ledger]:
    """A ledger at ``db_url`` with acme funded; the CLI opens its own connection to it."""
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


def rejected(ledger: Ledger, db_url: str, code: str, exit_code: int, *args: str) -> str:
    before = snapshot(ledger)
    message = assert_error(run(db_url, *args), code, exit_code)
    assert_unchanged(ledger, before)
    assert_gap_free(ledger)
    return message


def test_account_not_found(books: Ledger, db_url: str, tmp_path: Path) -> None:
    rejected(books, db_url, "ACCOUNT_NOT_FOUND", 1, "balance", "nobody:EUR")
    rejected(books, db_url, "ACCOUNT_NOT_FOUND", 1, "statement", "nobody:EUR")
    rejected(books, db_url, "ACCOUNT_NOT_FOUND", 1, "accounts", "freeze", "nobody:EUR")
    file = jsonl(tmp_path / "in.jsonl", entry("pay/1", CASH, "nobody:EUR", "1.00"))
    message = rejected(books, db_url, "ACCOUNT_NOT_FOUND", 1, "post", file)
    assert message.startswith("line 1: ")


def test_account_exists(books: Ledger, db_url: str) -> None:
    args = ("accounts", "open", CASH, "--currency", "EUR", "--kind", "liability")
    rejected(books, db_url, "ACCOUNT_EXISTS", 1, *args)


def test_account_frozen_then_unfrozen(books: Ledger, db_url: str, tmp_path: Path) -> None:
    assert run(db_url, "accounts", "freeze", CASH).exit_code == 0
    file = jsonl(tmp_path / "in.jsonl", entry("pay/1", CASH, SELLER, "1.00"))
    rejected(books, db_url, "ACCOUNT_FROZEN", 1, "post", file)
    assert run(db_url, "accounts", "unfreeze", CASH).exit_code == 0
    assert run(db_url, "post", file).exit_code == 0  # the key was not consumed


def test_account_closed(books: Ledger, db_url: str, tmp_path: Path) -> None:
    assert run(db_url, "accounts", "close", SELLER).exit_code == 0
    file = jsonl(tmp_path / "in.jsonl", entry("pay/1", CASH, SELLER, "1.00"))
    rejected(books, db_url, "ACCOUNT_CLOSED", 1, "post", file)
    rejected(books, db_url, "ACCOUNT_CLOSED", 1, "accounts", "unfreeze", SELLER)


def test_account_not_empty(books: Ledger, db_url: str) -> None:
    rejected(books, db_url, "ACCOUNT_NOT_EMPTY", 1, "accounts", "close", CASH)


@pytest.mark.parametrize("code", ["Participant:acme", "a b", "a::b", "a:"])
def test_invalid_account_code(books: Ledger, db_url: str, code: str) -> None:
    args = ("accounts", "open", code, "--currency", "EUR", "--kind", "asset")
    rejected(books, db_url, "INVALID_ACCOUNT_CODE", 2, *args)


def test_unknown_currency(books: Ledger, db_url: str, tmp_path: Path) -> None:
    args = ("accounts", "open", "x:cash", "--currency", "ABC", "--kind", "asset")
    rejected(books, db_url, "UNKNOWN_CURRENCY", 2, *args)
    file = jsonl(tmp_path / "in.jsonl", entry("pay/1", CASH, SELLER, "1.00", "ABC"))
    rejected(books, db_url, "UNKNOWN_CURRENCY", 2, "post", file)


def test_currency_mismatch(books: Ledger, db_url: str, tmp_path: Path) -> None:
    file = jsonl(tmp_path / "in.jsonl", entry("pay/1", CASH, SELLER, "1.00", "CNY"))
    rejected(books, db_url, "CURRENCY_MISMATCH", 1, "post", file)


@pytest.mark.parametrize("amount", ["0", "-1.00"])
def test_amount_not_positive(books: Ledger, db_url: str, tmp_path: Path, amount: str) -> None:
    file = jsonl(tmp_path / "in.jsonl", entry("pay/1", CASH, SELLER, amount))
    rejected(books, db_url, "AMOUNT_NOT_POSITIVE", 2, "post", file)


def test_amount_precision(books: Ledger, db_url: str, tmp_path: Path) -> None:
    books.open_account("a:JPY", currency="JPY", kind="asset")
    books.open_account("b:JPY", currency="JPY", kind="equity")
    file = jsonl(tmp_path / "in.jsonl", entry("yen/1", "a:JPY", "b:JPY", "100.5", "JPY"))
    message = rejected(books, db_url, "AMOUNT_PRECISION", 2, "post", file)
    assert "100.5" in message and "JPY" in message


def test_amount_overflow(books: Ledger, db_url: str, tmp_path: Path) -> None:
    file = jsonl(tmp_path / "in.jsonl", entry("huge/1", BANK, CASH, "92233720368547758.08"))
    rejected(books, db_url, "AMOUNT_OVERFLOW", 1, "post", file)


def test_unbalanced_entry_names_its_line(books: Ledger, db_url: str, tmp_path: Path) -> None:
    unbalanced = {
        "key": "pay/2",
        "postings": [posting(CASH, "debit", "1.00"), posting(SELLER, "credit", "0.99")],
    }
    file = jsonl(tmp_path / "in.jsonl", entry("pay/1", CASH, SELLER, "1.00"), unbalanced)
    message = rejected(books, db_url, "UNBALANCED_ENTRY", 1, "post", file)
    assert message.startswith("line 2: ")


def test_too_few_postings(books: Ledger, db_url: str, tmp_path: Path) -> None:
    file = jsonl(
        tmp_path / "in.jsonl", {"key": "one/1", "postings": [posting(CASH, "debit", "1.00")]}
    )
    rejected(books, db_url, "TOO_FEW_POSTINGS", 1, "post", file)


def test_constraint_violated_details_in_json(books: Ledger, db_url: str, tmp_path: Path) -> None:
    file = jsonl(
        tmp_path / "in.jsonl",
        entry("pay/1", CASH, SELLER, "60.00"),
        entry("pay/2", CASH, SELLER, "40.01"),
    )
    before = snapshot(books)
    result = run(db_url, "--json", "post", file)
    message = assert_error(result, "CONSTRAINT_VIOLATED", 1)
    assert message.startswith("line 2: ")
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "CONSTRAINT_VIOLATED"
    details = error["details"]
    assert (details["account"], details["available"], details["asked"]) == (CASH, "40.00", "40.01")
    assert_unchanged(books, before)  # line 1 was fine, but the file is one atomic batch


def test_idempotency_conflict(books: Ledger, db_url: str, tmp_path: Path) -> None:
    first = jsonl(tmp_path / "a.jsonl", entry("pay/1", CASH, SELLER, "1.00"))
    assert run(db_url, "post", first).exit_code == 0
    again = run(db_url, "--json", "post", first)
    assert again.exit_code == 0
    assert (json.loads(again.stdout)["posted"], json.loads(again.stdout)["already_present"]) == (
        0,
        1,
    )
    other = jsonl(tmp_path / "b.jsonl", entry("pay/1", CASH, SELLER, "2.00"))
    rejected(books, db_url, "IDEMPOTENCY_CONFLICT", 1, "post", other)


def test_storage_unavailable(tmp_path: Path) -> None:
    unreachable = "postgresql+psycopg://postgres:secret@127.0.0.1:1/none?connect_timeout=2"
    result = run(unreachable, "balance", CASH)
    assert_error(result, "STORAGE_UNAVAILABLE", 1)
    assert "secret" not in result.output
    assert_error(run(unreachable, "db", "current"), "STORAGE_UNAVAILABLE", 1)
    # A write command creates its SQLite file, but not the folder it would live in.
    opening = ("accounts", "open", CASH, "--currency", "EUR", "--kind", "asset")
    assert_error(
        run(f"sqlite:///{tmp_path}/missing-directory/ledger.db", *opening),
        "STORAGE_UNAVAILABLE",
        1,
    )
    assert not (tmp_path / "missing-directory").exists()


# -- malformed JSON Lines -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_line", "code", "needle"),
    [
        ('{"key": "pay/3", "postings": [', "INVALID_INPUT", "malformed JSON"),
        ('["not", "an", "object"]', "INVALID_INPUT", "expected a JSON object"),
        ('{"key": "pay/3", "postings": [], "colour": "red"}', "INVALID_INPUT", "colour"),
        ('{"postings": []}', "INVALID_INPUT", "key"),
        (
            json.dumps(entry("pay/3", CASH, SELLER, 1.5)),
            "INVALID_INPUT",
            "never a JSON float",
        ),
        (
            json.dumps({**entry("pay/3", CASH, SELLER, "1"), "effective_at": "yesterday"}),
            "INVALID_INPUT",
            "effective_at",
        ),
        (
            json.dumps({**entry("pay/3", CASH, SELLER, "1"), "effective_at": "2026-11-30T09:00"}),
            "INVALID_INPUT",
            "no UTC offset",
        ),
        ('{"key": "pay/3", "key": "pay/5", "postings": []}', "INVALID_INPUT", "twice"),
        ('{"key": "pay/3\\ud800", "postings": []}', "INVALID_INPUT", "surrogate"),
        ("[" * 2_000 + "]" * 2_000, "INVALID_INPUT", "nested deeper"),
        ('{"key": ' + "9" * 5_000 + "}", "INVALID_INPUT", "digits"),
    ],
)
def test_malformed_jsonl_names_the_line_and_posts_nothing(
    books: Ledger, db_url: str, tmp_path: Path, bad_line: str, code: str, needle: str
) -> None:
    file = jsonl(
        tmp_path / "in.jsonl",
        entry("pay/1", CASH, SELLER, "1.00"),
        "",
        entry("pay/2", CASH, SELLER, "1.00"),
        bad_line,
        entry("pay/4", CASH, SELLER, "1.00"),
    )
    message = rejected(books, db_url, code, 2, "post", file)
    assert message.startswith("line 4: "), message
    assert needle in message
    # Fix the line and the whole file goes through.
    Path(file).write_text(
        Path(file)
        .read_text("utf-8")
        .replace(bad_line, json.dumps(entry("pay/3", CASH, SELLER, "1"))),
        "utf-8",
    )
    result = run(db_url, "post", file)
    assert result.exit_code == 0, result.output
    assert books.balance(SELLER).posted_minor == 400


def test_usage_errors_exit_2(books: Ledger, db_url: str) -> None:
    assert (
        run(db_url, "accounts", "open", "x:y", "--currency", "EUR", "--kind", "pot").exit_code == 2
    )
    assert run(db_url, "balance", CASH, "--as-of", "not-a-time").exit_code == 2
    assert run(db_url, "post", "/nonexistent/file.jsonl").exit_code != 0

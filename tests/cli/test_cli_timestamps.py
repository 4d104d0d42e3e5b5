"""TIMESTAMP options follow the one timestamp rule (``intake.parse_timestamp``).

A time states its offset (``Z`` or ``+08:00``); one without is ``INVALID_INPUT`` (exit 2) naming
the option; a bare date means 00:00 UTC of that day.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.cli.main import cli

BANK = "platform:bank:EUR"
CASH = "participant:acme:cash:EUR"


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args])


def balance_as_of(db_url: str, as_of: str) -> Any:
    result = run(db_url, "--json", "balance", CASH, "--as-of", as_of)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["posted"]


@pytest.fixture
def deposits(db_url: str) -> Iterator[str]:
    """1.00 effective a second before midnight UTC of 2026-11-30, 2.00 at midnight, 4.00 at
    09:00 UTC."""
    with Ledger.connect(db_url) as ledger:
        ledger.open_account(BANK, currency="EUR", kind="asset")
        ledger.open_account(CASH, currency="EUR", kind="liability")
        for key, amount, at in (
            ("d/1", "1.00", datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC)),
            ("d/2", "2.00", datetime(2026, 11, 30, 0, 0, tzinfo=UTC)),
            ("d/3", "4.00", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
        ):
            money = Money(amount, "EUR")
            ledger.post(Entry(key, [debit(BANK, money), credit(CASH, money)], effective_at=at))
    yield db_url


def test_a_bare_date_is_midnight_utc(deposits: str) -> None:
    assert balance_as_of(deposits, "2026-11-30") == balance_as_of(deposits, "2026-11-30T00:00:00Z")
    assert balance_as_of(deposits, "2026-11-30") != balance_as_of(deposits, "2026-11-29T23:59:59Z")


def test_an_offset_is_honoured(deposits: str) -> None:
    # 17:00 in Beijing is 09:00 UTC.
    assert balance_as_of(deposits, "2026-11-30T17:00:00+08:00") == balance_as_of(
        deposits, "2026-11-30T09:00:00Z"
    )
    assert balance_as_of(deposits, "2026-11-30T09:00:00Z") == "7.00"


@pytest.mark.parametrize(
    "args",
    [
        ("balance", CASH, "--as-of", "2026-11-30T09:00:00"),
        ("trial-balance", "--as-of", "2026-11-30T09:00"),
        ("statement", CASH, "--start", "2026-11-30 09:00:00"),
        ("journal", "export", "--since", "2026-11-30T09:00:00"),
        ("fx", "rate", "EUR", "USD", "--at", "2026-11-30T09:00:00"),
        ("financing", "accrue", "--until", "2026-11-30T09:00:00"),
    ],
)
def test_a_time_without_offset_is_refused_naming_the_option(
    deposits: str, args: tuple[str, ...]
) -> None:
    result = run(deposits, *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    # The message names the option (its first spelling, when it has aliases).
    assert result.stderr.startswith("error: INVALID_INPUT: --"), result.stderr
    assert "has no UTC offset; write it with Z or +HH:MM" in result.stderr


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "2026-11-30T25:00Z", "1e9"])
def test_a_malformed_timestamp_is_invalid_input(deposits: str, value: str) -> None:
    result = run(deposits, "balance", CASH, "--as-of", value)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: INVALID_INPUT: --as-of: "), result.stderr


def test_write_commands_refuse_before_writing(db_url: str) -> None:
    """A naive --at on a write command is refused before the ledger is even opened."""
    result = run(db_url, "fx", "set-rate", "EUR", "USD", "1.08", "--as-of", "2026-11-30T09:00")
    assert result.exit_code == 2 and "--as-of: " in result.stderr, result.output
    assert run(db_url, "--json", "fx", "rate", "EUR", "USD").exit_code == 2  # still no ledger


def test_the_rule_is_in_the_help() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "a bare date (2026-11-30) means 00:00 UTC of that day" in " ".join(result.output.split())

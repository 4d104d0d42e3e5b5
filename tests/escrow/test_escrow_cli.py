"""``jiaolong escrow list|show|expire`` through click's runner: options are checked at the door."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result
from escrow_helpers import PLAN, at
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.escrow import STATUSES


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args])


@pytest.fixture
def orders(market: Ledger, db_url: str) -> str:
    """ORD-1 placed, ORD-2 funded."""
    for order_id in ("ORD-1", "ORD-2"):
        market.escrow.place(
            order_id,
            buyer="lodz-gallery",
            seller="shu-brocade",
            amount=Money("100.00", "EUR"),
            incoterm="CIP",
            release_plan=PLAN,
            at=at(0),
        )
    market.escrow.fund("ORD-2", at=at(1))
    return db_url


def test_list_by_status(orders: str) -> None:
    for status, expected in (("placed", ["ORD-1"]), ("funded", ["ORD-2"]), ("completed", [])):
        result = run(orders, "--json", "escrow", "list", "--status", status)
        assert result.exit_code == 0, result.output
        assert [order["order_id"] for order in json.loads(result.stdout)] == expected


@pytest.mark.parametrize("status", ["bogus", "FUNDED", ""])
def test_an_unknown_status_is_refused_with_the_real_ones(orders: str, status: str) -> None:
    result = run(orders, "escrow", "list", "--status", status)
    assert result.exit_code == 2
    assert "Invalid value for '--status'" in result.stderr
    for real in STATUSES:
        assert real in result.stderr
    assert "Traceback" not in result.output


def test_expire_takes_the_one_timestamp_rule(orders: str) -> None:
    naive = run(orders, "escrow", "expire", "--now", "2026-11-22T00:00:00")
    assert naive.exit_code == 2
    assert naive.stderr.startswith("error: INVALID_INPUT: ")
    assert "Traceback" not in naive.output
    assert run(orders, "escrow", "expire", "--now", "2026-11-22T00:00:00Z").exit_code == 0

"""``jiaolong events ingest FILE`` and ``jiaolong escrow show ORDER`` through click's runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from adapters_helpers import SELLER_CASH, journey, open_buyer
from click.testing import CliRunner

from jiaolong_ledger import Ledger
from jiaolong_ledger.cli.main import cli


@pytest.fixture
def prepared(db_url: str) -> str:
    ledger = Ledger.connect(db_url)
    open_buyer(ledger)
    ledger.close()
    return db_url


def write_jsonl(path: Path, lines: list[Any]) -> str:
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
        encoding="utf-8",
    )
    return str(path)


def run(db_url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--db", db_url, *args])


def journal_size(db_url: str) -> int:
    with Ledger.connect(db_url) as ledger:
        return sum(1 for _ in ledger.journal_lines())


def test_ingest_a_file_then_show_the_order(prepared: str, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", journey()[:4])
    result = run(prepared, "events", "ingest", path)
    assert result.exit_code == 0, result.output
    assert "ingested 4 events" in result.output

    shown = run(prepared, "escrow", "show", "ORD-7", "--json")
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["status"] == "funded"
    assert (data["funded"], data["released"], data["refunded"], data["remaining"]) == (
        "1200.00",
        "600.00",
        "0.00",
        "600.00",
    )
    assert [m["milestone"] for m in data["milestones_seen"]] == ["departed", "border_crossed"]
    assert [item["released"] for item in data["release_plan"]] == [True, True, False, False]

    human = run(prepared, "escrow", "show", "ORD-7")
    assert human.exit_code == 0
    assert "remaining 600.00" in human.output and "Khorgos" in human.output


def test_ingest_json_summary(prepared: str, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", journey())
    result = run(prepared, "--json", "events", "ingest", path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "events": 6,
        "by_type": {"EscrowFunded": 1, "MilestoneReached": 4, "OrderPlaced": 1},
    }
    with Ledger.connect(prepared) as ledger:
        assert ledger.balance(SELLER_CASH).posted_minor == 118_200


@pytest.mark.parametrize(
    ("bad_line", "code", "field"),
    [
        (
            '{"type": "EscrowFunded", "order_id": "ORD-7", "amount": 1200.0, "currency": "EUR"}',
            "INVALID_EVENT",
            "amount",
        ),
        (
            '{"type": "MilestoneReached", "shipment_id": "X8001", "milestone": "departed",',
            "INVALID_INPUT",
            None,
        ),
        (
            '{"type": "MilestoneReached", "shipment_id": "X8001", "milestone": "sunk"}',
            "INVALID_EVENT",
            "milestone",
        ),
        ('["not", "an", "object"]', "INVALID_INPUT", None),
    ],
)
def test_malformed_line_is_refused_with_its_line_and_nothing_changes(
    prepared: str, tmp_path: Path, bad_line: str, code: str, field: str | None
) -> None:
    lines: list[Any] = [*journey()[:2], bad_line, *journey()[2:]]
    path = write_jsonl(tmp_path / "events.jsonl", lines)
    before = journal_size(prepared)
    result = run(prepared, "events", "ingest", path)
    assert result.exit_code == 2
    assert f"error: {code}: line 3:" in result.output
    if field:
        assert repr(field) in result.output
    assert journal_size(prepared) == before
    assert json.loads(run(prepared, "--json", "escrow", "list").output) == []


def test_a_rejected_event_rolls_back_its_batch_and_names_its_line(
    prepared: str, tmp_path: Path
) -> None:
    unknown = {"type": "MilestoneReached", "shipment_id": "X404", "milestone": "departed"}
    path = write_jsonl(tmp_path / "events.jsonl", [*journey()[:2], unknown, *journey()[2:]])
    before = journal_size(prepared)
    result = run(prepared, "events", "ingest", path)
    assert result.exit_code == 1
    assert "error: SHIPMENT_NOT_FOUND: line 3:" in result.output
    assert "0 earlier events were committed" in result.output
    assert journal_size(prepared) == before
    assert run(prepared, "escrow", "show", "ORD-7").exit_code == 1


def test_small_batches_keep_the_batches_before_the_rejected_event(
    prepared: str, tmp_path: Path
) -> None:
    unknown = {"type": "MilestoneReached", "shipment_id": "X404", "milestone": "departed"}
    path = write_jsonl(tmp_path / "events.jsonl", [*journey()[:2], unknown, *journey()[2:]])
    result = run(prepared, "events", "ingest", "--batch-size", "2", path)
    assert result.exit_code == 1
    assert "line 3:" in result.output and "2 earlier events were committed" in result.output
    data = json.loads(run(prepared, "escrow", "show", "ORD-7", "--json").output)
    assert data["status"] == "funded" and data["released"] == "0.00"
    # Fix the file and run it again: the events already applied are idempotent.
    fixed = write_jsonl(tmp_path / "fixed.jsonl", journey())
    assert run(prepared, "events", "ingest", "--batch-size", "1", fixed).exit_code == 0
    data = json.loads(run(prepared, "escrow", "show", "ORD-7", "--json").output)
    assert data["status"] == "completed"


def test_show_unknown_order(prepared: str) -> None:
    result = run(prepared, "escrow", "show", "ORD-404")
    assert result.exit_code == 1
    assert "error: ORDER_NOT_FOUND" in result.output


def test_escrow_list_and_expire(prepared: str, tmp_path: Path) -> None:
    placed = {**journey()[0], "funding_deadline": "2026-11-21T00:00:00Z"}
    path = write_jsonl(tmp_path / "events.jsonl", [placed])
    assert run(prepared, "events", "ingest", path).exit_code == 0
    listed = run(prepared, "escrow", "list")
    assert "ORD-7" in listed.output and "placed" in listed.output
    result = run(prepared, "--json", "escrow", "expire", "--now", "2026-11-22T00:00:00Z")
    assert result.exit_code == 0, result.output
    assert [order["status"] for order in json.loads(result.output)] == ["expired"]

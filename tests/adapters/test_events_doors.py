"""Hostile input through ``jiaolong events ingest`` and ``ledger.ingest``: a typed refusal
naming the line (and the field), exit 2, no traceback, nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from adapters_helpers import journey, open_buyer, order_placed
from click.testing import CliRunner, Result

from jiaolong_ledger import Ledger
from jiaolong_ledger.adapters import parse_event
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.errors import InvalidEventError
from jiaolong_ledger.testing import assert_unchanged, snapshot

FUNDED = json.dumps(journey()[1]).encode()


def _line(**changes: Any) -> bytes:
    return json.dumps({**journey()[1], **changes}).encode()


# (name, bytes of line 2, code, field named or None)
HOSTILE: list[tuple[str, bytes, str, str | None]] = [
    ("not-utf-8", b'{"type": "EscrowFunded", "order_id": "ORD-\xff"}', "INVALID_INPUT", None),
    ("lone-surrogate", _line(order_id="ORD-\ud800"), "INVALID_INPUT", None),
    (
        "too-deep",
        b'{"type": "EscrowFunded", "x": ' + b"[" * 40 + b"]" * 40 + b"}",
        "INVALID_INPUT",
        None,
    ),
    (
        "huge-integer",
        b'{"type": "EscrowFunded", "amount": ' + b"9" * 5000 + b"}",
        "INVALID_INPUT",
        None,
    ),
    (
        "duplicate-key",
        b'{"type": "EscrowFunded", "order_id": "ORD-7", "order_id": "ORD-8"}',
        "INVALID_INPUT",
        None,
    ),
    (
        "nan",
        b'{"type": "EscrowFunded", "order_id": "ORD-7", "amount": NaN, "currency": "EUR"}',
        "INVALID_INPUT",
        None,
    ),
    ("not-an-object", b'"EscrowFunded"', "INVALID_INPUT", None),
    ("truncated", b'{"type": "EscrowFunded", "order_id": "ORD-7"', "INVALID_INPUT", None),
    ("number-amount", _line(amount=1200, currency="EUR"), "INVALID_EVENT", "amount"),
    ("nan-string-amount", _line(amount="NaN", currency="EUR"), "INVALID_EVENT", "amount"),
    ("exponent-amount", _line(amount="1.2e3", currency="EUR"), "INVALID_EVENT", "amount"),
    ("int-where-string", _line(order_id=7), "INVALID_EVENT", "order_id"),
    ("object-where-string", _line(order_id={"id": "ORD-7"}), "INVALID_EVENT", "order_id"),
    ("list-where-string", _line(order_id=["ORD-7"]), "INVALID_EVENT", "order_id"),
    ("naive-timestamp", _line(funded_at="2026-11-20T10:00:00"), "INVALID_EVENT", "funded_at"),
    ("epoch-timestamp", _line(funded_at=1700000000), "INVALID_EVENT", "funded_at"),
    ("misspelt-field", _line(fundedat="2026-11-20T10:00:00Z"), "INVALID_EVENT", "fundedat"),
    ("trailing-newline-id", _line(order_id="ORD-7\n"), "INVALID_EVENT", "order_id"),
    ("bool-where-string", _line(order_id=True), "INVALID_EVENT", "order_id"),
]


@pytest.fixture
def prepared(db_url: str) -> str:
    with Ledger.connect(db_url) as ledger:
        open_buyer(ledger)
    return db_url


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args])


@pytest.mark.parametrize(
    ("line", "code", "field"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE]
)
def test_a_hostile_line_is_refused_naming_it_and_nothing_is_written(
    prepared: str, tmp_path: Path, line: bytes, code: str, field: str | None
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(json.dumps(journey()[0]).encode() + b"\n" + line + b"\n" + FUNDED + b"\n")
    with Ledger.connect(prepared) as ledger:
        before = snapshot(ledger)
        result = run(prepared, "events", "ingest", str(path))
        assert result.exit_code == 2, result.output
        assert f"error: {code}: line 2:" in result.output
        assert "Traceback" not in result.output
        if field is not None:
            assert repr(field) in result.output
        assert_unchanged(ledger, before)
        assert ledger.escrow.orders() == []


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_a_file_that_cannot_be_read_is_invalid_input(
    prepared: str, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "nowhere.jsonl" if kind == "missing" else tmp_path
    result = run(prepared, "events", "ingest", str(path))
    assert result.exit_code == 2
    assert "error: INVALID_INPUT:" in result.output
    assert "Traceback" not in result.output


def test_an_empty_file_ingests_nothing(prepared: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    result = run(prepared, "--json", "events", "ingest", str(path))
    assert result.exit_code == 0
    assert json.loads(result.output) == {"events": 0, "by_type": {}}


def test_no_progress_bar_off_a_terminal(prepared: str, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in journey()), encoding="utf-8")
    result = run(prepared, "events", "ingest", "--batch-size", "1", str(path))
    assert result.exit_code == 0
    assert result.output == (
        "ingested 6 events (EscrowFunded 1, MilestoneReached 4, OrderPlaced 1)\n"
    )


# -- the same refusals through the Python API ------------------------------------------------


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({**journey()[1], "amount": 1200, "currency": "EUR"}, "amount"),
        ({**journey()[1], "amount": 1200.0, "currency": "EUR"}, "amount"),
        ({**journey()[1], "amount": True, "currency": "EUR"}, "amount"),
        ({**journey()[1], "order_id": b"ORD-7"}, "order_id"),
        ({**journey()[1], "funded_at": "2026-11-20T10:00:00"}, "funded_at"),
        ({**journey()[1], "funded_at": "2026-11-20"}, "funded_at"),
        ({**journey()[1], "funded_at": "someday"}, "funded_at"),
        ({"type": "OrderCancelled", "order_id": "ORD-7", "reason": "bad \ud800"}, "reason"),
        ({**journey()[2], "location": "Khorgos \udfff"}, "location"),
        (order_placed(release_plan=({"milestone": "departed", "share": "100"},)), "release_plan"),
        (order_placed(release_plan=[{"milestone": "departed", "share": 100}]), None),
        (order_placed(currency="EURO" * 1000), "currency"),
        (order_placed(amount="1" * 100), "amount"),
    ],
)
def test_the_api_refuses_what_the_file_door_refuses(
    ledger: Ledger, event: dict[str, Any], field: str | None
) -> None:
    open_buyer(ledger)
    before = snapshot(ledger)
    with pytest.raises(InvalidEventError) as caught:
        ledger.ingest(event)
    expected = field or "release_plan.0.share"
    assert caught.value.details["field"] == expected
    assert_unchanged(ledger, before)


def test_timestamps_are_kept_in_utc() -> None:
    event = parse_event({**journey()[1], "funded_at": "2026-11-20T18:00:00+08:00"})
    assert event.funded_at == parse_event(journey()[1]).funded_at  # type: ignore[attr-defined]
    assert event.model_dump(mode="json")["funded_at"] == "2026-11-20T10:00:00Z"

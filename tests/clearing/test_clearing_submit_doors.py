"""``jiaolong clearing submit FILE`` and the Python API: a strict obligation model, every
refusal typed and naming the line and the field, no traceback, nothing submitted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.clearing import ObligationRequest
from jiaolong_ledger.clearing.requests import obligation_request
from jiaolong_ledger.cli import clearing as clearing_cli
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.errors import InvalidInputError, LedgerError
from jiaolong_ledger.testing import assert_unchanged, snapshot

GOOD = {"payer": "lyon", "payee": "lodz", "amount": "300.00", "currency": "EUR", "reference": "r1"}


def good(reference: str, **changes: Any) -> dict[str, Any]:
    return {**GOOD, "reference": reference, **changes}


def line(**changes: Any) -> bytes:
    return json.dumps({**good("r2"), **changes}).encode()


@pytest.fixture
def registered(ledger: Ledger) -> Ledger:
    for name in ("lyon", "lodz", "chengdu"):
        ledger.clearing.register_participant(name, "EUR")
    return ledger


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args])


def submitted(ledger: Ledger) -> list[str]:
    return [o.reference for o in ledger.clearing.obligations(ledger.clearing.open_cycle().id)]


def write(tmp_path: Path, *lines: bytes) -> str:
    path = tmp_path / "obligations.jsonl"
    path.write_bytes(b"".join(item + b"\n" for item in lines))
    return str(path)


# (id, line 2, code, field named or None)
HOSTILE: list[tuple[str, bytes, str, str | None]] = [
    ("not-utf-8", b'{"payer": "ly\xffon"}', "INVALID_INPUT", None),
    ("lone-surrogate", line(reference="r\ud800"), "INVALID_INPUT", None),
    ("too-deep", b'{"payer": ' + b"[" * 40 + b"]" * 40 + b"}", "INVALID_INPUT", None),
    ("huge-integer", b'{"amount": ' + b"9" * 5000 + b"}", "INVALID_INPUT", None),
    ("duplicate-amount", b'{"amount": "1.00", "amount": "1000.00"}', "INVALID_INPUT", None),
    ("duplicate-reference", line()[:-1] + b', "reference": "r9"}', "INVALID_INPUT", None),
    ("nan", b'{"amount": NaN}', "INVALID_INPUT", None),
    ("not-an-object", b"[1, 2]", "INVALID_INPUT", None),
    ("number-amount", line(amount=300), "INVALID_INPUT", "amount"),
    ("float-amount", line(amount=300.5), "INVALID_INPUT", "amount"),
    ("nan-string", line(amount="NaN"), "INVALID_INPUT", "amount"),
    ("infinity-string", line(amount="Infinity"), "INVALID_INPUT", "amount"),
    ("exponent-amount", line(amount="3e2"), "INVALID_INPUT", "amount"),
    ("dict-payer", line(payer={"name": "lyon"}), "INVALID_INPUT", "payer"),
    ("int-payee", line(payee=7), "INVALID_INPUT", "payee"),
    ("list-reference", line(reference=["r2"]), "INVALID_INPUT", "reference"),
    ("int-currency", line(currency=978), "INVALID_INPUT", "currency"),
    ("null-payer", line(payer=None), "INVALID_INPUT", "payer"),
    ("misspelt-field", line(referense="r3"), "INVALID_INPUT", "referense"),
    ("unknown-field", line(urgency="high"), "INVALID_INPUT", "urgency"),
    (
        "missing-field",
        json.dumps({k: v for k, v in GOOD.items() if k != "payee"}).encode(),
        "INVALID_INPUT",
        "payee",
    ),
    ("naive-at", line(at="2026-11-30T09:00:00"), "INVALID_INPUT", "at"),
    ("bare-date-at", line(at="2026-11-30"), "INVALID_INPUT", "at"),
    ("epoch-at", line(at=1700000000), "INVALID_INPUT", "at"),
    ("long-payer", line(payer="p" * 10_000), "INVALID_INPUT", "payer"),
    ("precision", line(amount="1.001"), "AMOUNT_PRECISION", None),
    ("currency", line(currency="EUX"), "UNKNOWN_CURRENCY", None),
]


@pytest.mark.parametrize(
    ("bad", "code", "field"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE]
)
def test_a_hostile_line_refuses_the_file_and_nothing_is_submitted(
    registered: Ledger, db_url: str, tmp_path: Path, bad: bytes, code: str, field: str | None
) -> None:
    path = write(tmp_path, json.dumps(GOOD).encode(), bad, json.dumps(good("r3")).encode())
    before = snapshot(registered)
    result = run(db_url, "clearing", "submit", path)
    assert result.exit_code == 2, result.output
    assert f"error: {code}: line 2:" in result.stderr
    assert "Traceback" not in result.output
    if field is not None:
        assert f"field {field!r}" in result.stderr
    assert submitted(registered) == []
    assert_unchanged(registered, before)


def test_a_ledger_refusal_late_in_the_file_names_its_line_and_keeps_nothing(
    registered: Ledger, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clearing_cli, "SUBMIT_BATCH_SIZE", 2)  # several submit_many calls
    rows = [good(f"r{n}") for n in range(1, 6)] + [good("r6", payee="nobody")]
    path = write(tmp_path, *(json.dumps(row).encode() for row in rows))
    result = run(db_url, "clearing", "submit", path)
    assert result.exit_code == 1
    assert "error: PARTICIPANT_NOT_FOUND: line 6:" in result.stderr
    assert "nothing from the file was submitted" in result.stderr
    assert submitted(registered) == []
    conflict = [good("r1"), good("r2"), good("r1", amount="1.00")]
    path = write(tmp_path, *(json.dumps(row).encode() for row in conflict))
    result = run(db_url, "clearing", "submit", path)
    assert result.exit_code == 1
    assert "error: IDEMPOTENCY_CONFLICT: line" in result.stderr
    assert submitted(registered) == []


def test_a_good_file_is_submitted_with_its_times_in_utc(
    registered: Ledger, db_url: str, tmp_path: Path
) -> None:
    rows = [good("r1", at="2026-11-30T17:00:00+08:00"), good("r2", settlement_currency="EUR")]
    path = write(tmp_path, *(json.dumps(row).encode() for row in rows), b"")
    result = run(db_url, "--json", "clearing", "submit", path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accepted"] == 2
    first = registered.clearing.obligations(registered.clearing.open_cycle().id)[0]
    assert first.submitted_at == datetime(2026, 11, 30, 9, tzinfo=UTC)
    again = run(db_url, "--json", "clearing", "submit", path)
    assert json.loads(again.stdout)["duplicates"] == 2


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_an_unreadable_file_is_invalid_input(db_url: str, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "nowhere.jsonl" if kind == "missing" else tmp_path
    result = run(db_url, "clearing", "submit", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: INVALID_INPUT:")
    assert "Traceback" not in result.output


def test_a_missing_file_creates_no_database(tmp_path: Path) -> None:
    database = tmp_path / "new.db"
    result = CliRunner().invoke(
        cli, ["--db", f"sqlite:///{database}", "clearing", "submit", str(tmp_path / "no.jsonl")]
    )
    assert result.exit_code == 2 and "INVALID_INPUT" in result.stderr
    assert not database.exists()


# -- the Python API --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"payer": 7}, "payer"),
        ({"payee": {"name": "lodz"}}, "payee"),
        ({"reference": ["r1"]}, "reference"),
        ({"reference": "r\ud800"}, "reference"),
        ({"amount": Decimal("1.00")}, "amount"),
        ({"amount": "1.00"}, "amount"),
        ({"settlement_currency": 978}, "settlement_currency"),
        ({"at": "2026-11-30T09:00:00Z"}, "at"),
        ({"at": datetime(2026, 11, 30, 9)}, "at"),
    ],
)
def test_the_api_refuses_wrong_types_and_writes_nothing(
    registered: Ledger, arguments: dict[str, Any], field: str
) -> None:
    request = {"payer": "lyon", "payee": "lodz", "amount": Money("1.00", "EUR"), "reference": "r1"}
    request.update(arguments)
    before = snapshot(registered)
    with pytest.raises(InvalidInputError) as caught:
        registered.clearing.submit(**request)
    assert caught.value.details["field"] == field
    with pytest.raises(InvalidInputError):
        registered.clearing.submit_many([ObligationRequest(**request)])
    assert submitted(registered) == []
    assert_unchanged(registered, before)


def test_obligation_request_from_a_mapping() -> None:
    request = obligation_request(good("r1", at="2026-11-30T09:00:00Z"), 4)
    assert request.amount == Money("300.00", "EUR")
    assert request.at == datetime(2026, 11, 30, 9, tzinfo=UTC)
    with pytest.raises(InvalidInputError) as caught:
        obligation_request(good("r1", colour="red"), 4)
    assert caught.value.message.startswith("line 4: field 'colour': not a field")
    assert caught.value.details["line"] == 4
    with pytest.raises(InvalidInputError) as caught:
        obligation_request(good("r1", amount=1, payer=2))
    assert {p["field"] for p in caught.value.details["problems"]} == {"amount", "payer"}
    with pytest.raises(LedgerError) as precision:
        obligation_request(good("r1", amount="1.001"), 9)
    assert precision.value.code == "AMOUNT_PRECISION"
    assert precision.value.message.startswith("line 9: ")
    with pytest.raises(InvalidInputError):
        obligation_request(["not", "a", "mapping"])

"""`jiaolong fx ...` through click's runner, on an ECB-format file the test writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fx_helpers import count_rates, open_cash

from jiaolong_ledger import Ledger
from jiaolong_ledger.cli.main import cli

ECB_FILE = """\
Date,USD,JPY,BGN,CNY,KWD,RUB,
2026-11-25,1.0812,162.45,N/A,7.8123,0.33215,N/A,
2026-11-24,1.0799,161.90,N/A,7.8011,0.33198,N/A,
"""
AT = "2026-11-25T16:00:00Z"


@pytest.fixture
def ecb_file(tmp_path: Path) -> Path:
    path = tmp_path / "eurofxref-hist.csv"
    path.write_text(ECB_FILE, encoding="utf-8")
    return path


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)


def test_import_ecb_then_reimport(db_url: str, ecb_file: Path) -> None:
    first = run(db_url, "fx", "import-ecb", str(ecb_file))
    assert first.exit_code == 0, first.output
    assert "imported 8 new rates (8 in file: 2 days, 6 currencies)" in first.output
    again = run(db_url, "fx", "import-ecb", str(ecb_file), "--json")
    assert again.exit_code == 0
    data = json.loads(again.output)
    assert (data["rates_in_file"], data["rates_stored"], data["days"]) == (8, 0, 2)


def test_rate_direct_and_triangulated(db_url: str, ecb_file: Path) -> None:
    run(db_url, "fx", "import-ecb", str(ecb_file))
    direct = run(db_url, "fx", "rate", "EUR", "JPY", "--at", AT, "--json")
    assert direct.exit_code == 0
    assert json.loads(direct.output)["rate"] == "162.45"
    cross = run(db_url, "fx", "rate", "CNY", "KWD", "--at", AT, "--json")
    data = json.loads(cross.output)
    assert data["path"] == ["CNY", "EUR", "KWD"]
    assert data["method"] == "triangulated"
    assert data["as_of"] == "2026-11-25T13:15:00.000000Z"
    human = run(db_url, "fx", "rate", "CNY", "KWD", "--at", AT)
    assert human.exit_code == 0
    assert "1 CNY = 0.042516288416983474777 KWD" in human.output
    assert "CNY -> EUR -> KWD" in human.output
    yesterday = run(db_url, "fx", "rate", "EUR", "JPY", "--at", "2026-11-25T12:00:00Z", "--json")
    assert json.loads(yesterday.output)["rate"] == "161.9"


def test_convert(db_url: str, ecb_file: Path) -> None:
    run(db_url, "fx", "import-ecb", str(ecb_file))
    result = run(db_url, "fx", "convert", "125000.00", "CNY", "EUR", "--at", AT, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["result"], data["result_currency"]) == ("16000.41", "EUR")
    assert data["rate"]["path"] == ["CNY", "EUR"]
    kwd = run(db_url, "fx", "convert", "1000", "JPY", "KWD", "--at", AT)
    assert kwd.exit_code == 0
    assert kwd.output.startswith("1000 JPY = 2.045 KWD")
    up = run(db_url, "fx", "convert", "1.00", "EUR", "JPY", "--at", AT, "--rounding", "up")
    assert up.output.startswith("1.00 EUR = 163 JPY")


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["fx", "rate", "EUR", "XYZ", "--at", AT], 2, "error: UNKNOWN_CURRENCY"),
        (["fx", "rate", "EUR", "JPY", "--at", "2026-12-25T00:00:00Z"], 1, "error: RATE_STALE"),
        (["fx", "rate", "EUR", "JPY", "--at", "2026-11-01T00:00:00Z"], 1, "RATE_NOT_FOUND"),
        (["fx", "rate", "EUR", "JPY", "--at", AT, "--max-age", "1h"], 1, "RATE_STALE"),
        (["fx", "rate", "EUR", "JPY", "--max-age", "soon"], 2, "not a duration"),
        (["fx", "convert", "10.001", "EUR", "JPY", "--at", AT], 2, "AMOUNT_PRECISION"),
        (["fx", "convert", "10", "EUR", "KZT", "--at", AT], 1, "RATE_NOT_FOUND"),
        (["fx", "set-rate", "EUR", "KZT", "0", "--as-of", AT, "--source", "NBK"], 2, "RATE"),
    ],
)
def test_errors_exit_with_their_codes(
    db_url: str, ecb_file: Path, args: list[str], exit_code: int, message: str
) -> None:
    run(db_url, "fx", "import-ecb", str(ecb_file))
    result = CliRunner().invoke(cli, ["--db", db_url, *args])
    assert result.exit_code == exit_code, result.output
    assert message in result.output


def test_a_malformed_file_names_the_line_and_imports_nothing(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(ECB_FILE + "2026-11-23,1.08,oops,N/A,7.8,0.33,N/A,\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", db_url, "fx", "import-ecb", str(bad)])
    assert result.exit_code == 2
    assert "error: INVALID_RATE: line 4:" in result.output
    missing = run(db_url, "fx", "rate", "EUR", "USD", "--at", AT)
    assert missing.exit_code == 1 and "RATE_NOT_FOUND" in missing.output


def test_set_rate_exchange_and_revalue(db_url: str, ecb_file: Path) -> None:
    run(db_url, "fx", "import-ecb", str(ecb_file))
    kzt = run(
        db_url,
        "fx", "set-rate", "EUR", "KZT", "561.40", "--as-of", "2026-11-25T13:15:00Z",
        "--source", "NBK", "--bid", "559.20", "--ask", "563.60",
    )  # fmt: skip
    assert kzt.exit_code == 0, kzt.output
    with Ledger.connect(db_url) as ledger:
        open_cash(ledger, "khorgos-crafts", "KZT", "1000000.00")
        open_cash(ledger, "khorgos-crafts", "CNY")
    exchanged = run(
        db_url,
        "fx", "exchange", "fx/1", "participant:khorgos-crafts:cash:KZT",
        "participant:khorgos-crafts:cash:CNY", "100000.00", "--at", AT, "--json",
    )  # fmt: skip
    assert exchanged.exit_code == 0, exchanged.output
    entry = json.loads(exchanged.output)
    assert entry["kind"] == "fx_conversion"
    assert entry["metadata"]["fx"]["path"] == ["KZT", "EUR", "CNY"]
    accounts = {p["account"] for p in entry["postings"]}
    assert "fx:spread-income:CNY" in accounts
    revalued = run(db_url, "fx", "revalue", "--at", AT, "--currency", "EUR")
    assert revalued.exit_code == 0, revalued.output
    assert "unrealised" in revalued.output
    verify = run(db_url, "journal", "verify")
    assert verify.exit_code == 0, verify.output


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (ECB_FILE.encode() + b"2026-11-23," + b"9" * 5_000 + b",1,1,1,1,1,\n", "line 4: a field"),
        (ECB_FILE.encode() + b"2026-11-23,1.08\xff,1,1,1,1,1,\n", "line 4: not UTF-8"),
        (b"\xef\xbb\xbfDate,USD,\n2026-11-23,1.08,\n\xc3", "line 3: not UTF-8"),
    ],
)
def test_a_hostile_file_is_invalid_input_and_stores_nothing(
    db_url: str, tmp_path: Path, content: bytes, fragment: str
) -> None:
    hostile = tmp_path / "hostile.csv"
    hostile.write_bytes(content)
    result = CliRunner().invoke(cli, ["--db", db_url, "fx", "import-ecb", str(hostile)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: INVALID_INPUT: {fragment}"), result.stderr
    assert "Traceback" not in result.output
    with Ledger.connect(db_url) as ledger:
        assert count_rates(ledger) == 0


@pytest.mark.parametrize("name", ["missing.csv", "."])
def test_a_missing_file_or_a_directory_is_invalid_input(
    db_url: str, tmp_path: Path, name: str
) -> None:
    result = CliRunner().invoke(cli, ["--db", db_url, "fx", "import-ecb", str(tmp_path / name)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: INVALID_INPUT: ECB file "), result.stderr
    assert "Traceback" not in result.output


def test_import_from_standard_input(db_url: str) -> None:
    result = CliRunner().invoke(
        cli, ["--db", db_url, "fx", "import-ecb", "-", "--json"], input=ECB_FILE
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rates_stored"] == 8

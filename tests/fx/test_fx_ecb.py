"""Import of the ECB euro reference-rate CSV: every day and currency, idempotent, all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fx_helpers import count_rates

from jiaolong_ledger import Ledger
from jiaolong_ledger.errors import InvalidInputError, InvalidRateError, LedgerError

# The history file's shape: newest day first, N/A where nothing was published (RUB since
# March 2022, withdrawn currencies), a trailing comma on every line.
HISTORY = """\
Date,USD,JPY,BGN,CYP,CZK,RUB,CNY,KRW,
2026-11-25,1.0812,162.45,N/A,N/A,25.012,N/A,7.8123,1508.11,
2026-11-24,1.0799,161.90,N/A,N/A,25.034,N/A,7.8011,1505.62,
2026-11-23,1.0805,161.72,N/A,N/A,25.051,N/A,7.8032,1506.00,
2022-02-28,1.1240,129.77,1.9558,N/A,24.655,117.0,7.0915,1350.68,
2007-12-28,1.4721,166.06,1.9558,0.585274,26.628,35.9860,10.7524,1376.36,
"""


def write(tmp_path: Path, text: str, name: str = "eurofxref-hist.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def fixing(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T13:15:00+00:00").astimezone(UTC)


def test_every_day_and_currency_loads(ledger: Ledger, tmp_path: Path) -> None:
    path = write(tmp_path, HISTORY)
    published = sum(
        cell not in ("N/A", "") for line in HISTORY.splitlines()[1:] for cell in line.split(",")[1:]
    )
    assert ledger.fx.import_ecb(path) == published == 30
    assert count_rates(ledger) == published
    for line in HISTORY.splitlines()[1:]:
        day, *cells = line.split(",")
        for code, cell in zip(HISTORY.splitlines()[0].split(",")[1:], cells, strict=True):
            if cell in ("N/A", ""):
                continue
            found = ledger.fx.rate("EUR", code, fixing(day), max_age=timedelta(0))
            assert found.rate == Decimal(cell), (day, code)
            assert (found.source, found.as_of) == ("ECB", fixing(day))


def test_reimport_is_idempotent(ledger: Ledger, tmp_path: Path) -> None:
    path = write(tmp_path, HISTORY)
    first = ledger.fx.import_ecb_report(path)
    assert (first.days, first.quotes, first.stored) == (5, 30, 30)
    assert first.currencies == ("USD", "JPY", "BGN", "CYP", "CZK", "RUB", "CNY", "KRW")
    assert ledger.fx.import_ecb(path) == 0
    assert count_rates(ledger) == 30
    daily = write(
        tmp_path,
        "Date,USD,JPY,\n2026-11-26,1.0830,162.80,\n2026-11-25,1.0812,162.45,\n",
        "eurofxref.csv",
    )
    assert ledger.fx.import_ecb(daily) == 2
    assert count_rates(ledger) == 32


def test_rates_from_the_file_triangulate(ledger: Ledger, tmp_path: Path) -> None:
    ledger.fx.import_ecb(write(tmp_path, HISTORY))
    found = ledger.fx.rate("USD", "CNY", fixing("2026-11-25"))
    assert found.path == ("USD", "EUR", "CNY") and found.legs == ("EUR/USD", "EUR/CNY")
    rub = ledger.fx.rate("EUR", "RUB", fixing("2022-03-02"))
    assert (rub.rate, rub.as_of) == (Decimal("117.0"), fixing("2022-02-28"))


def test_a_file_without_trailing_comma_or_with_crlf_and_bom_loads(
    ledger: Ledger, tmp_path: Path
) -> None:
    text = "\ufeffDate,USD,JPY\r\n2026-11-25,1.0812,N/A\r\n\r\n2026-11-24,1.0799,161.90\r\n"
    assert ledger.fx.import_ecb(write(tmp_path, text)) == 3


MALFORMED = [
    ("bad date", "2026-13-01,1.08,162.45,\n", 3, InvalidInputError),
    ("not a number", "2026-11-22,1.08,abc,\n", 3, InvalidRateError),
    ("zero", "2026-11-22,0,162.45,\n", 3, InvalidRateError),
    ("negative", "2026-11-22,-1.08,162.45,\n", 3, InvalidRateError),
    ("NaN", "2026-11-22,NaN,162.45,\n", 3, InvalidRateError),
    ("too many cells", "2026-11-22,1.08,162.45,7.1,\n", 3, InvalidInputError),
    ("too few cells", "2026-11-22,1.08\n", 3, InvalidInputError),
    ("conflicting duplicate day", "2026-11-25,1.09,162.45,\n", 3, InvalidRateError),
]


@pytest.mark.parametrize(("label", "bad_line", "line", "error"), MALFORMED)
def test_a_malformed_row_names_its_line_and_nothing_is_imported(
    ledger: Ledger,
    tmp_path: Path,
    label: str,
    bad_line: str,
    line: int,
    error: type[LedgerError],
) -> None:
    text = "Date,USD,JPY,\n2026-11-25,1.0812,162.45,\n" + bad_line + "2026-11-21,1.07,160.1,\n"
    with pytest.raises(error) as raised:
        ledger.fx.import_ecb(write(tmp_path, text))
    assert f"line {line}" in raised.value.message, label
    assert raised.value.details["line"] == line
    assert raised.value.exit_code == 2
    assert count_rates(ledger) == 0


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("Day,USD,\n2026-11-25,1.08,\n", "Date"),
        ("Date,USD,XYZ,\n2026-11-25,1.08,2,\n", "XYZ"),
        ("Date,USD,USD,\n2026-11-25,1.08,1.08,\n", "duplicate"),
        ("Date,\n2026-11-25,\n", "no currency"),
    ],
)
def test_a_bad_header_is_refused(ledger: Ledger, tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        ledger.fx.import_ecb(write(tmp_path, text))
    assert fragment in raised.value.message
    assert count_rates(ledger) == 0


def test_a_changed_rate_on_reimport_is_refused_and_nothing_new_lands(
    ledger: Ledger, tmp_path: Path
) -> None:
    ledger.fx.import_ecb(write(tmp_path, HISTORY))
    revised = HISTORY.replace("2026-11-24,1.0799", "2026-11-24,1.0800")
    revised = "Date,USD,\n2026-11-26,1.0830,\n" + "\n".join(
        line.split(",")[0] + "," + line.split(",")[1] + "," for line in revised.splitlines()[1:]
    )
    with pytest.raises(InvalidRateError) as raised:
        ledger.fx.import_ecb(write(tmp_path, revised, "revised.csv"))
    assert raised.value.details["line"] == 4
    assert raised.value.details["recorded"] == "1.0799"
    assert count_rates(ledger) == 30  # 2026-11-26 was not stored either


def test_a_missing_file_is_an_input_error(ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        ledger.fx.import_ecb(tmp_path / "nope.csv")


# -- the intake layer: hostile files are INVALID_INPUT naming the line, nothing stored ---------

GOOD_START = b"Date,USD,JPY,\n2026-11-25,1.0812,162.45,\n"


@pytest.mark.parametrize(
    ("label", "bad_line", "fragment"),
    [
        ("a field over the CSV limit", b"2026-11-24," + b"1" * 5_000 + b",162.45,\n", "field"),
        ("a byte that is not UTF-8", b"2026-11-24,1.08\xff,162.45,\n", "not UTF-8"),
        ("a lone surrogate, encoded", b"2026-11-24,1.08\xed\xa0\x80,162.45,\n", "not UTF-8"),
        ("an unterminated quote", b'2026-11-24,"1.08,162.45,\n', "malformed CSV"),
        ("a NUL byte", b"2026-11-24,1.08\x00,162.45,\n", "line 3"),
    ],
)
def test_a_hostile_line_is_invalid_input_naming_it(
    ledger: Ledger, tmp_path: Path, label: str, bad_line: bytes, fragment: str
) -> None:
    path = tmp_path / "hostile.csv"
    path.write_bytes(GOOD_START + bad_line + b"2026-11-21,1.07,160.1,\n")
    with pytest.raises((InvalidInputError, InvalidRateError)) as raised:
        ledger.fx.import_ecb(path)
    assert raised.value.message.startswith("line 3: "), (label, raised.value.message)
    assert fragment in raised.value.message, label
    assert raised.value.exit_code == 2
    assert count_rates(ledger) == 0


def test_a_directory_is_an_input_error(ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as raised:
        ledger.fx.import_ecb(tmp_path)
    assert "not a regular file" in raised.value.message
    assert count_rates(ledger) == 0


def test_a_file_with_more_rates_than_the_limit_is_refused(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jiaolong_ledger.fx import ecb

    monkeypatch.setattr(ecb, "ECB_QUOTES_MAX", 5)
    with pytest.raises(InvalidInputError) as raised:
        ledger.fx.import_ecb(write(tmp_path, HISTORY))
    assert raised.value.details["limit"] == "ecb_quotes_max"
    assert raised.value.message.startswith("line 3: ")  # lines 2 and 3 hold 5 rates each
    assert count_rates(ledger) == 0

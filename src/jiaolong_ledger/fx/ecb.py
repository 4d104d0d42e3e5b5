"""The ECB euro foreign exchange reference rates, CSV form.

The file (daily ``eurofxref.csv`` or the full history ``eurofxref-hist.csv``) has a ``Date``
column and one column per currency, each cell the units of that currency per 1 EUR; ``N/A`` (or
an empty cell) where the ECB published nothing, and a trailing comma on every line. The rates
are fixed at 14:15 CET; each day's quotes are stored as of :data:`ECB_FIXING_TIME_UTC` on that
date (13:15 UTC all year, so in summer an hour after the fixing, never before it) with source
:data:`ECB_SOURCE`.

The file is read through the intake layer (``intake.csv_rows``: a missing or unreadable file,
a directory, bytes that are not UTF-8, a line or field over the intake limits are
``INVALID_INPUT`` naming the line). Parsing is pure and checks the whole file before anything is
stored: a malformed line is an error that names its line number, and nothing is imported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Final

from jiaolong_ledger import intake
from jiaolong_ledger.errors import InvalidInputError, InvalidRateError, LedgerError
from jiaolong_ledger.fx.rates import StoredQuote, check_rate_currency, parse_rate

ECB_SOURCE: Final = "ECB"
ECB_BASE: Final = "EUR"
ECB_FIXING_TIME_UTC: Final = time(13, 15, tzinfo=UTC)
MISSING_CELLS: Final = frozenset({"", "N/A"})
ECB_QUOTES_MAX: Final = 1_000_000
"""Most rates one file may hold: the full history since 1999 has about 200,000; a file far
larger is not an ECB file (and all of it is held in memory until it is checked)."""
BYTE_ORDER_MARK: Final = "\ufeff"


@dataclass(frozen=True, slots=True)
class EcbFile:
    quotes: tuple[StoredQuote, ...]
    line_numbers: tuple[int, ...]
    days: int
    currencies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EcbImport:
    """What an ECB file held and how much of it was new."""

    path: str
    days: int
    currencies: tuple[str, ...]
    quotes: int
    stored: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "days": self.days,
            "currencies": list(self.currencies),
            "rates_in_file": self.quotes,
            "rates_stored": self.stored,
        }


def fixing_instant(day: date) -> datetime:
    return datetime.combine(day, ECB_FIXING_TIME_UTC)


def _header(cells: list[str]) -> list[str]:
    names = [cell.strip() for cell in cells]
    names[0] = names[0].removeprefix(BYTE_ORDER_MARK).strip()
    while names and names[-1] == "":
        names.pop()
    if not names or names[0] != "Date":
        raise InvalidInputError(
            "line 1: an ECB reference-rate file starts with a 'Date' column header", line=1
        )
    currencies = names[1:]
    if not currencies:
        raise InvalidInputError("line 1: no currency columns", line=1)
    for code in currencies:
        try:
            check_rate_currency(code)
        except LedgerError as error:
            raise InvalidInputError(
                f"line 1: column {code!r} is not a currency code ({error.message})",
                line=1,
                column=code,
            ) from None
        if code == ECB_BASE:
            raise InvalidInputError("line 1: EUR is the base, not a column", line=1)
    duplicates = sorted({code for code in currencies if currencies.count(code) > 1})
    if duplicates:
        raise InvalidInputError(
            f"line 1: duplicate columns {', '.join(duplicates)}", line=1, columns=duplicates
        )
    return currencies


def _day(text: str, line: int) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(
            f"line {line}: {text!r} is not a date (YYYY-MM-DD)", line=line
        ) from None


def _row_quotes(cells: list[str], currencies: list[str], line: int) -> list[StoredQuote]:
    values = [cell.strip() for cell in cells[1:]]
    while len(values) > len(currencies) and values[-1] == "":
        values.pop()
    if len(values) != len(currencies):
        raise InvalidInputError(
            f"line {line}: {len(values)} rate cells for {len(currencies)} currency columns",
            line=line,
        )
    as_of = fixing_instant(_day(cells[0], line))
    quotes = []
    for code, text in zip(currencies, values, strict=True):
        if text in MISSING_CELLS:
            continue
        try:
            rate = parse_rate(text, field=f"{ECB_BASE}/{code}")
        except InvalidRateError as error:
            raise InvalidRateError(
                f"line {line}: {error.message}", line=line, column=code, value=text
            ) from None
        quotes.append(StoredQuote(ECB_BASE, code, rate, as_of, ECB_SOURCE))
    return quotes


def parse_ecb_rows(rows: Iterable[tuple[int, list[str]]]) -> EcbFile:
    """Every quote of an ECB CSV given as ``(line number, cells)``, checked; raises on the
    first malformed line."""
    quotes: list[StoredQuote] = []
    line_numbers: list[int] = []
    currencies: list[str] | None = None
    days: set[date] = set()
    for line_number, cells in rows:
        if not any(cell.strip(BYTE_ORDER_MARK + " \t") for cell in cells):
            continue
        if currencies is None:
            if line_number != 1:
                raise InvalidInputError(f"line {line_number}: header must be line 1", line=1)
            currencies = _header(cells)
            continue
        row = _row_quotes(cells, currencies, line_number)
        days.add(_day(cells[0], line_number))
        if len(quotes) + len(row) > ECB_QUOTES_MAX:
            raise InvalidInputError(
                f"line {line_number}: more than {ECB_QUOTES_MAX} rates in one file",
                line=line_number,
                limit="ecb_quotes_max",
                limit_value=ECB_QUOTES_MAX,
            )
        quotes.extend(row)
        line_numbers.extend([line_number] * len(row))
    if currencies is None:
        raise InvalidInputError("the file is empty: no header line", line=1)
    return EcbFile(tuple(quotes), tuple(line_numbers), len(days), tuple(currencies))


def read_ecb_file(path: str | Path) -> EcbFile:
    """The ECB CSV at ``path`` (``-``: standard input), read through ``intake.csv_rows`` and
    checked whole."""
    return parse_ecb_rows(intake.csv_rows(path, what="ECB file"))

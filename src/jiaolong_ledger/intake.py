"""The intake layer: every file, line and timestamp a user hands in passes through here once.

Every door (``jiaolong post``, ``events ingest``, ``clearing submit``, ``journal verify FILE``,
``journal replay``, ``fx import-ecb``, and the timestamps of the Python API and of CLI options)
reads through these functions, so one set of named limits and one set of refusals holds
everywhere. Whatever is refused is ``INVALID_INPUT`` (exit 2) naming the file and the line, and
is refused before anything is written:

- a missing, unreadable or non-regular file (a directory, a device);
- bytes that are not UTF-8 (strictly: no encoded surrogates), and ``\\ud800``-style escapes that
  leave a lone surrogate in a string;
- a line longer than :data:`LINE_BYTES_MAX`, JSON nested deeper than :data:`JSON_DEPTH_MAX`, an
  integer with more than :data:`INTEGER_DIGITS_MAX` digits, ``NaN`` and ``Infinity``;
- a JSON object that names the same key twice (no "last one wins");
- a line that is not a JSON object.

The timestamp rule: a timestamp states its UTC offset (``Z`` or ``+08:00``); one without is
refused. In a CLI option only, a bare date (``2026-11-30``) means the start of that day in UTC.
"""

from __future__ import annotations

import csv
import io
import json
import math
import stat
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import IO, Any, Final

from jiaolong_ledger.errors import InvalidInputError

LINE_BYTES_MAX: Final = 1_048_576
"""Longest JSON Lines line (1 MiB): an entry with the most postings and metadata fits easily."""

JSON_DEPTH_MAX: Final = 32
"""Deepest nesting of JSON arrays and objects accepted in one line."""

INTEGER_DIGITS_MAX: Final = 40
"""Most digits of a JSON integer (a 64-bit amount has 19)."""

CSV_FIELD_CHARS_MAX: Final = 4_096
"""Longest CSV field (an ECB rate or date is a few characters)."""

STDIN: Final = "-"


# -- files ------------------------------------------------------------------------------------


def open_binary(path: str | Path, *, what: str = "input file") -> IO[bytes]:
    """Open ``path`` (``-``: standard input) for reading; refusals are ``INVALID_INPUT``."""
    if str(path) == STDIN:
        return sys.stdin.buffer
    target = Path(path)
    try:
        mode = target.stat().st_mode
        if not stat.S_ISREG(mode):
            raise InvalidInputError(
                f"{what} {str(target)!r} is not a regular file", path=str(target)
            )
        return target.open("rb")
    except FileNotFoundError:
        raise InvalidInputError(
            f"{what} {str(target)!r} does not exist", path=str(target)
        ) from None
    except PermissionError:
        raise InvalidInputError(
            f"{what} {str(target)!r} is not readable", path=str(target)
        ) from None
    except OSError as error:
        raise InvalidInputError(
            f"{what} {str(target)!r} cannot be read: {error.strerror or error}", path=str(target)
        ) from None


def raw_lines(path: str | Path, *, what: str = "input file") -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes without the newline)``, each at most :data:`LINE_BYTES_MAX`."""
    handle = open_binary(path, what=what)
    try:
        number = 0
        while True:
            try:
                raw = handle.readline(LINE_BYTES_MAX + 2)
            except OSError as error:
                raise InvalidInputError(
                    f"{what} {str(path)!r}: read failed at line {number + 1}: {error}",
                    path=str(path),
                    line=number + 1,
                ) from None
            if not raw:
                return
            number += 1
            line = raw.rstrip(b"\r\n")
            if len(line) > LINE_BYTES_MAX:
                raise InvalidInputError(
                    f"line {number}: longer than {LINE_BYTES_MAX} bytes",
                    line=number,
                    limit="line_bytes_max",
                    limit_value=LINE_BYTES_MAX,
                )
            yield number, line
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def decode_line(raw: bytes, number: int | None = None) -> str:
    """Strict UTF-8 (a surrogate encoded in the bytes is refused too)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInputError(
            f"{_at(number)}not UTF-8 (byte {error.start + 1} is {raw[error.start]:#04x})",
            line=number,
            byte=error.start + 1,
        ) from None


def json_lines(
    path: str | Path, *, what: str = "input file"
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line of a JSON Lines file."""
    for number, raw in raw_lines(path, what=what):
        if not raw.strip():
            continue
        yield number, parse_json_object(decode_line(raw, number), number)


# -- JSON -------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows here")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > INTEGER_DIGITS_MAX:
        raise ValueError(f"an integer of {len(text)} digits (the limit is {INTEGER_DIGITS_MAX})")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is too large for a number")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"the key {key!r} appears twice in one object")
            seen.add(key)
    return obj


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_no_duplicates,
    parse_constant=_refuse_constant,
    parse_int=_bounded_int,
    parse_float=_finite_float,
)


def parse_json(text: str, number: int | None = None) -> Any:
    """One JSON value under the intake rules (limits, no duplicates, no NaN, no lone surrogate)."""
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise _too_deep(number) from None
    except ValueError as error:  # JSONDecodeError is a ValueError, as are the hooks' refusals
        message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        raise InvalidInputError(f"{_at(number)}malformed JSON: {message}", line=number) from None
    # Cheap screens (C speed) before the walk: depth <= brackets opened; a lone surrogate can
    # only come from a \u escape.
    if text.count("[") + text.count("{") > JSON_DEPTH_MAX or "\\u" in text or "\\U" in text:
        _walk(value, number)
    return value


def parse_json_object(text: str, number: int | None = None) -> dict[str, Any]:
    value = parse_json(text, number)
    if not isinstance(value, dict):
        raise InvalidInputError(f"{_at(number)}expected a JSON object", line=number)
    return value


def _walk(value: Any, number: int | None) -> None:
    """Check nesting depth and strings without recursion (the value may be very deep)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > JSON_DEPTH_MAX:
                raise _too_deep(number)
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                if isinstance(key, str):
                    _check_text(key, number)
                stack.append((child, depth + 1))
        elif isinstance(item, str):
            _check_text(item, number)


def _check_text(text: str, number: int | None) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(
            f"{_at(number)}a string holds a lone surrogate (an unpaired \\ud800-\\udfff escape)",
            line=number,
        ) from None


def _too_deep(number: int | None) -> InvalidInputError:
    return InvalidInputError(
        f"{_at(number)}JSON nested deeper than {JSON_DEPTH_MAX} levels",
        line=number,
        limit="json_depth_max",
        limit_value=JSON_DEPTH_MAX,
    )


def _at(number: int | None) -> str:
    return f"line {number}: " if number is not None else ""


# -- CSV --------------------------------------------------------------------------------------


def csv_rows(path: str | Path, *, what: str = "CSV file") -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of a UTF-8 CSV file, each field at most
    :data:`CSV_FIELD_CHARS_MAX` characters."""
    for number, raw in raw_lines(path, what=what):
        text = decode_line(raw, number)
        if not text.strip():
            continue
        try:
            rows = list(csv.reader(io.StringIO(text), strict=True))
        except csv.Error as error:
            raise InvalidInputError(f"line {number}: malformed CSV: {error}", line=number) from None
        for row in rows:
            for field in row:
                if len(field) > CSV_FIELD_CHARS_MAX:
                    raise InvalidInputError(
                        f"line {number}: a field of {len(field)} characters (the limit is "
                        f"{CSV_FIELD_CHARS_MAX})",
                        line=number,
                        limit="csv_field_chars_max",
                        limit_value=CSV_FIELD_CHARS_MAX,
                    )
            yield number, row


# -- timestamps -------------------------------------------------------------------------------


def parse_timestamp(
    value: object, field: str = "timestamp", *, bare_date: bool = False
) -> datetime:
    """The one timestamp rule: ISO 8601 text (or an aware ``datetime``) with a UTC offset or
    ``Z``, returned in UTC. Naive values are refused. ``bare_date`` (CLI options only): a plain
    ``YYYY-MM-DD`` means 00:00 UTC of that day."""
    if isinstance(value, datetime):
        return require_aware(value, field)
    if not isinstance(value, str):
        raise InvalidInputError(
            f"{field}: a timestamp is text like 2026-11-30T09:00:00Z, not {type(value).__name__}",
            field=field,
        )
    text = value.strip()
    if bare_date and len(text) == 10:
        try:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise InvalidInputError(
            f"{field}: not an ISO 8601 timestamp: {value[:64]!r}", field=field
        ) from None
    return require_aware(parsed, field)


def require_aware(value: datetime, field: str = "timestamp") -> datetime:
    """``value`` in UTC; a naive datetime (no offset) is ``INVALID_INPUT``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(
            f"{field}: {value.isoformat()} has no UTC offset; write it with Z or +HH:MM",
            field=field,
        )
    return value.astimezone(UTC)


__all__ = [
    "CSV_FIELD_CHARS_MAX",
    "INTEGER_DIGITS_MAX",
    "JSON_DEPTH_MAX",
    "LINE_BYTES_MAX",
    "csv_rows",
    "decode_line",
    "json_lines",
    "open_binary",
    "parse_json",
    "parse_json_object",
    "parse_timestamp",
    "raw_lines",
    "require_aware",
]

"""The ``post`` door: entries in the JSON Lines form of SPEC §5, without ``seq`` and ``hash``.

Each line passes the intake layer (:func:`jiaolong_ledger.intake.json_lines`: encoding, size,
depth, duplicate keys) and then a strict model of one entry: unknown members are refused,
strings must be strings, an amount is a decimal *string* (a JSON number is refused, never
rounded), and timestamps follow the one rule (:func:`jiaolong_ledger.intake.parse_timestamp`:
an offset or ``Z`` is required). A refusal is ``INVALID_INPUT`` naming the line and the field.

:class:`CheckedEntries` is the file checked in full before anything is posted: every line is
converted and put through the entry's pure validation passes, then kept on disk (a temporary
spool, so standard input works too and memory stays flat), ready to be handed to the writer
in batches.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Annotated, Any, Final, Literal

from moneyed import Currency, Money
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from jiaolong_ledger.errors import InvalidInputError, LedgerError
from jiaolong_ledger.intake import json_lines, parse_timestamp
from jiaolong_ledger.journal.entry import Entry, Posting
from jiaolong_ledger.journal.validation import validate_shape
from jiaolong_ledger.limits import ACCOUNT_CODE_LENGTH_MAX
from jiaolong_ledger.money import check_currency

ASSIGNED_FIELDS: Final = frozenset({"seq", "recorded_at", "prev_hash", "hash"})
"""Members of an exported entry that the ledger assigns; ``post`` input does not carry them."""

AMOUNT_CHARS_MAX: Final = 64
"""Longest amount text (a 64-bit minor amount with decimals and sign has about 22)."""

KIND_CHARS_MAX: Final = 32
"""Longest ``kind`` (the longest kind SPEC §5 names has 14 characters)."""

_AMOUNT_RULE: Final = 'a decimal string such as "12.50", never a JSON float or integer'


_DECIMAL_TEXT: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _decimal_text(value: str) -> str:
    """Plain decimal notation only: no exponent, no separators, no NaN or Infinity."""
    if not _DECIMAL_TEXT.fullmatch(value):
        raise ValueError(f"must be {_AMOUNT_RULE}; got {value!r}")
    return value


AmountText = Annotated[str, Field(max_length=AMOUNT_CHARS_MAX), AfterValidator(_decimal_text)]


class PostingLine(BaseModel):
    """One posting of a ``post`` line."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    account: Annotated[str, Field(min_length=1, max_length=ACCOUNT_CODE_LENGTH_MAX)]
    side: Literal["debit", "credit"]
    amount: AmountText
    currency: Annotated[str, Field(min_length=1, max_length=8)]


class EntryLine(BaseModel):
    """One line of a ``post`` file: SPEC §5's entry without what the ledger assigns."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    key: str
    kind: Annotated[str, Field(max_length=KIND_CHARS_MAX)] | None = None
    status: Literal["posted", "pending"] = "posted"
    effective_at: str | None = None
    expires_at: str | None = None
    description: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    postings: list[PostingLine]

    def to_entry(self) -> Entry:
        """The client :class:`Entry` this line asks for (timestamps under the one rule)."""
        pending = self.status == "pending"
        kind = self.kind or ("pending" if pending else "transfer")
        return Entry(
            key=self.key,
            postings=[_posting(posting) for posting in self.postings],
            effective_at=_timestamp(self.effective_at, "effective_at"),
            description=self.description,
            metadata=self.metadata,
            kind="transfer" if pending and kind == "pending" else kind,
            pending=pending,
            expires_at=_timestamp(self.expires_at, "expires_at"),
        )


def _posting(line: PostingLine) -> Posting:
    currency = check_currency(line.currency)
    return Posting(line.account, line.side, Money(Decimal(line.amount), Currency(currency)))


def _timestamp(value: str | None, field: str) -> datetime | None:
    return None if value is None else parse_timestamp(value, field)


def _field_name(location: tuple[int | str, ...]) -> str:
    name = ""
    for part in location:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "entry"


def _problem(error: ErrorDetails) -> tuple[str, str]:
    """``(field, message)`` of one pydantic error, in the words of this format."""
    field = _field_name(tuple(error["loc"]))
    last = error["loc"][-1] if error["loc"] else None
    if error["type"] == "extra_forbidden":
        if last in ASSIGNED_FIELDS:
            return field, (
                "is assigned by the ledger; post takes entries without seq, recorded_at, "
                "prev_hash and hash (journal replay takes an exported journal)"
            )
        return field, "unknown field"
    if last == "amount" and error["type"] == "string_type":
        return field, f"must be {_AMOUNT_RULE}"
    if error["type"] in ("model_type", "dict_type"):
        return field, "must be a JSON object"
    if error["type"] == "list_type":
        return field, "must be a JSON array"
    message = str(error["msg"]).removeprefix("Value error, ")
    return field, message[0].lower() + message[1:] if message else message


def entry_from_object(obj: dict[str, Any]) -> Entry:
    """The :class:`Entry` of one ``post`` object; a malformed one is ``INVALID_INPUT`` naming
    the field. Ledger rules (balance, kinds, precision...) are the validation passes' to judge.
    """
    try:
        line = EntryLine.model_validate(obj)
    except ValidationError as failure:
        problems = [_problem(error) for error in failure.errors(include_url=False)]
        field, message = problems[0]
        raise InvalidInputError(
            f"{field}: {message}",
            field=field,
            problems=[{"field": name, "message": text} for name, text in problems],
        ) from None
    return line.to_entry()


def entry_from_line(obj: dict[str, Any], line: int) -> Entry:
    """Like :func:`entry_from_object`, with the line number in any error."""
    try:
        return entry_from_object(obj)
    except LedgerError as error:
        raise name_line(error, line) from None


def name_line(error: LedgerError, line: int) -> LedgerError:
    """``error`` pointed at ``line`` of the input file (once)."""
    if "line" not in error.details:
        error.details["line"] = line
        error.message = f"line {line}: {error.message}"
    return error


class CheckedEntries:
    """A ``post`` file read once and checked in full: every line converted to an entry and put
    through the entry's pure validation passes. Nothing is posted by this class; what it
    keeps (a spool on disk) is read back by :meth:`batches` for the writer.

    Use as a context manager; the spool is removed on exit.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.count = 0
        self._spool: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        try:
            self._check()
        except BaseException:
            self._spool.close()
            raise

    def _check(self) -> None:
        for number, obj in json_lines(self.path, what="entries file"):
            entry = entry_from_line(obj, number)
            try:
                validate_shape(entry)
            except LedgerError as error:
                raise name_line(error, number) from None
            # Valid lines passed the intake: no lone surrogates, no NaN, bounded integers.
            self._spool.write(f"{number}\t{json.dumps(obj, ensure_ascii=False)}\n")
            self.count += 1
        self._spool.flush()

    def batches(self, size: int) -> Iterator[list[tuple[int, Entry]]]:
        """``(line number, entry)`` in file order, ``size`` at a time."""
        assert size > 0
        self._spool.seek(0)
        batch: list[tuple[int, Entry]] = []
        for text in self._spool:
            number, _, obj = text.partition("\t")
            batch.append((int(number), entry_from_object(json.loads(obj))))
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    def batch_count(self, size: int) -> int:
        return -(-self.count // size)

    def close(self) -> None:
        self._spool.close()

    def __enter__(self) -> CheckedEntries:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def line_of(error: LedgerError, batch: list[tuple[int, Entry]]) -> int | None:
    """The line of the entry in ``batch`` that a rejection names (by its key).

    A conflicting reuse of a key is the later line; any other rejection names the first."""
    key = error.details.get("key")
    numbers = [number for number, entry in batch if entry.key == key]
    if not numbers:
        return None
    return numbers[-1] if error.code == "IDEMPOTENCY_CONFLICT" else numbers[0]


__all__ = [
    "ASSIGNED_FIELDS",
    "CheckedEntries",
    "EntryLine",
    "PostingLine",
    "entry_from_line",
    "entry_from_object",
    "line_of",
    "name_line",
]

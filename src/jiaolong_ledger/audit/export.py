"""Journal export: JSON Lines (SPEC §5), beancount, CSV; whole journal or a range; streamed.

JSON Lines is the stored, hashed text itself, written byte for byte. Beancount and CSV are
rendered from those lines one at a time. A range is a seq range (``start_seq``/``end_seq``,
inclusive) and/or a ``recorded_at`` window (``since`` inclusive, ``until`` exclusive): the
journal's own timeline, along which ``seq`` increases, so a range is a contiguous slice of the
chain that ``journal verify --slice`` can check from its first ``prev_hash``.

Memory stays flat: lines are streamed from the database; beancount keeps one small record per
account (its kind and last posting date, to date ``close`` directives validly).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TextIO

from sqlalchemy import Connection, Select, func, select

from jiaolong_ledger.audit import beancount_format as beancount
from jiaolong_ledger.audit.source import JournalSource
from jiaolong_ledger.errors import InvalidInputError
from jiaolong_ledger.journal import reads
from jiaolong_ledger.journal.entry import ACCOUNT_RECORD_KINDS
from jiaolong_ledger.journal.validation import check_timestamp, raise_problems
from jiaolong_ledger.storage.tables import journal_entries

FORMATS: Final = ("jsonl", "beancount", "csv")
STREAM_ROWS: Final = 5_000
CSV_COLUMNS: Final = (
    "seq",
    "key",
    "kind",
    "status",
    "effective_at",
    "recorded_at",
    "description",
    "posting",
    "account",
    "side",
    "amount",
    "currency",
    "pending_key",
    "expires_at",
    "metadata",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which entries to export: seq range and recorded_at window, all optional."""

    start_seq: int = 1
    end_seq: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        raise_problems(check_timestamp(self.since, "since") + check_timestamp(self.until, "until"))
        if self.start_seq < 1 or (self.end_seq is not None and self.end_seq < self.start_seq):
            raise InvalidInputError(
                "the seq range must start at 1 or later and not end before it starts",
                start_seq=self.start_seq,
                end_seq=self.end_seq,
            )

    @property
    def windowed(self) -> bool:
        """True when a ``recorded_at`` window narrows the seq range."""
        return self.since is not None or self.until is not None

    def where(self, query: Select[Any]) -> Select[Any]:
        query = query.where(journal_entries.c.seq >= self.start_seq)
        if self.end_seq is not None:
            query = query.where(journal_entries.c.seq <= self.end_seq)
        if self.since is not None:
            query = query.where(journal_entries.c.recorded_at >= self.since)
        if self.until is not None:
            query = query.where(journal_entries.c.recorded_at < self.until)
        return query


def export_journal(
    ledger: JournalSource,
    path: str | Path,
    format: str = "jsonl",
    *,
    start_seq: int = 1,
    end_seq: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Write the selected entries to ``path`` ('-' for stdout); returns how many were written."""
    if format not in FORMATS:
        raise InvalidInputError(f"unknown export format {format!r}", format=format, formats=FORMATS)
    selection = Selection(start_seq, end_seq, since, until)
    writer = {"jsonl": write_jsonl, "beancount": write_beancount, "csv": write_csv}[format]
    with _output(path, newline="" if format == "csv" else "\n") as handle:
        return writer(ledger, handle, selection)


@contextmanager
def _output(path: str | Path, newline: str) -> Iterator[TextIO]:
    if str(path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    with open(path, "w", encoding="utf-8", newline=newline) as handle:
        yield handle


def selected_lines(ledger: JournalSource, selection: Selection | None = None) -> Iterator[str]:
    """The stored lines of the selected entries, in seq order, streamed."""
    selection = selection or Selection()
    with ledger.reading() as connection:
        if not selection.windowed:
            yield from reads.journal_lines(connection, selection.start_seq, selection.end_seq)
            return
        query = selection.where(select(journal_entries.c.line)).order_by(journal_entries.c.seq)
        yield from _stream_lines(connection, query)


def _stream_lines(connection: Connection, query: Select[Any]) -> Iterator[str]:
    # Options on the statement, not the connection: Connection.execution_options() changes the
    # connection itself, and a streaming cursor must not outlive this query.
    streamed = {"stream_results": True, "yield_per": STREAM_ROWS}
    for (line,) in connection.execute(query, execution_options=streamed):
        yield line


def write_jsonl(ledger: JournalSource, handle: TextIO, selection: Selection | None = None) -> int:
    count = 0
    write = handle.write
    for line in selected_lines(ledger, selection):
        write(line)
        write("\n")
        count += 1
    return count


def write_csv(ledger: JournalSource, handle: TextIO, selection: Selection | None = None) -> int:
    """One row per posting; an entry without postings (account record, void) is one row."""
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for line in selected_lines(ledger, selection):
        obj = json.loads(line)
        common = [
            obj["seq"],
            obj["key"],
            obj["kind"],
            obj["status"],
            obj["effective_at"],
            obj["recorded_at"],
            obj["description"],
        ]
        tail = [
            obj.get("pending_key") or "",
            obj.get("expires_at") or "",
            json.dumps(obj["metadata"], sort_keys=True, ensure_ascii=False)
            if obj["metadata"]
            else "",
            obj["prev_hash"],
            obj["hash"],
        ]
        postings = obj["postings"]
        if not postings:
            account = obj.get("account") or {}
            writer.writerow(
                [*common, "", account.get("code", ""), "", "", account.get("currency", ""), *tail]
            )
        for position, posting in enumerate(postings):
            writer.writerow(
                [
                    *common,
                    position,
                    posting["account"],
                    posting["side"],
                    posting["amount"],
                    posting["currency"],
                    *tail,
                ]
            )
        count += 1
    return count


def write_beancount(
    ledger: JournalSource, handle: TextIO, selection: Selection | None = None
) -> int:
    """A bean-check-valid file whose balances equal trial-balance's (see ``audit.beancount``)."""
    selection = selection or Selection()
    handle.write(beancount.HEADER + "\n")
    open_day = _first_day(ledger, selection)
    kinds: dict[str, str] = {}
    last_day: dict[str, str] = {}
    for record in _open_records(ledger, selection):
        kinds[record["account"]["code"]] = record["account"]["kind"]
        handle.write(beancount.open_directive(record, min(open_day, record["effective_at"][:10])))
    count = 0
    for line in selected_lines(ledger, selection):
        obj = json.loads(line)
        count += 1
        kind = obj["kind"]
        if kind == "open_account":
            continue  # written above, dated before anything that names the account
        if kind in ACCOUNT_RECORD_KINDS:
            code = obj["account"]["code"]
            kinds.setdefault(code, obj["account"]["kind"])
            when = max(beancount.day(obj["effective_at"]), last_day.get(code, ""))
            handle.write(beancount.status_directive(obj, when))
            continue
        when = beancount.day(obj["effective_at"])
        for posting in obj["postings"]:
            if last_day.get(posting["account"], "") < when:
                last_day[posting["account"]] = when
        handle.write(beancount.entry_directive(obj, kinds))
    return count


def _first_day(ledger: JournalSource, selection: Selection) -> str:
    query = selection.where(select(func.min(journal_entries.c.effective_at)))
    with ledger.reading() as connection:
        first = connection.execute(query).scalar()
    return first.date().isoformat() if first is not None else "1970-01-01"


def _open_records(ledger: JournalSource, selection: Selection) -> Iterator[dict[str, Any]]:
    """Every open_account record up to the selection's end (accounts its entries may name)."""
    query = select(journal_entries.c.line).where(journal_entries.c.kind == "open_account")
    if selection.end_seq is not None:
        query = query.where(journal_entries.c.seq <= selection.end_seq)
    if selection.until is not None:
        query = query.where(journal_entries.c.recorded_at < selection.until)
    with ledger.reading() as connection:
        for line in _stream_lines(connection, query.order_by(journal_entries.c.seq)):
            yield json.loads(line)

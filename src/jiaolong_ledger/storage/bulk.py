"""Bulk inserts of journal and posting rows: one driver-level statement per table and append.

The journal writer hands over plain tuples, in the column order named here, and never SQL.
SQLite gets ``executemany`` on the writer's own DB-API cursor, with timestamps pre-rendered by
the column type's own bind processor so SQLAlchemy reads them back as usual. PostgreSQL gets one
``COPY ... FROM STDIN`` per table on the transaction's own psycopg connection: a single
statement, which is also what lets the statement-level balance trigger see every posting of
every entry of the append at once.

Both paths skip SQLAlchemy's per-statement machinery on purpose: on the append path it costs
more than the database's own work. Table names come from the table objects, so a rename is made
in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Connection, Table

from jiaolong_ledger.storage.engine import is_postgres
from jiaolong_ledger.storage.tables import journal_entries, postings

Row = tuple[Any, ...]

JOURNAL_COLUMNS: Final = (
    "seq",
    "key",
    "kind",
    "status",
    "effective_at",
    "recorded_at",
    "link_key",
    "request_digest",
    "prev_hash",
    "hash",
    "line",
)
"""Order of the values in a journal row."""

POSTING_COLUMNS: Final = (
    "entry_seq",
    "position",
    "account_id",
    "is_debit",
    "amount_minor",
    "currency",
    "is_pending",
)
"""Order of the values in a posting row."""

_EFFECTIVE_AT, _RECORDED_AT = 4, 5
assert JOURNAL_COLUMNS[_EFFECTIVE_AT] == "effective_at"
assert JOURNAL_COLUMNS[_RECORDED_AT] == "recorded_at"


def insert_journal_rows(connection: Connection, cursor: Any, rows: Sequence[Row]) -> None:
    """Insert journal rows (in :data:`JOURNAL_COLUMNS` order) with one statement."""
    if not rows:
        return
    if is_postgres(connection):
        _copy(connection, journal_entries, JOURNAL_COLUMNS, rows)
    else:
        rendered = _render_timestamps(connection, rows)
        cursor.executemany(_insert_statement(journal_entries, JOURNAL_COLUMNS), rendered)


def insert_posting_rows(connection: Connection, cursor: Any, rows: Sequence[Row]) -> None:
    """Insert posting rows (in :data:`POSTING_COLUMNS` order) with one statement."""
    if not rows:
        return
    if is_postgres(connection):
        _copy(connection, postings, POSTING_COLUMNS, rows)
    else:
        cursor.executemany(_insert_statement(postings, POSTING_COLUMNS), rows)


def _copy(
    connection: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[Row]
) -> None:
    """``COPY ... FROM STDIN`` on the transaction's own psycopg connection: one statement."""
    driver: Any = connection.connection.driver_connection
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _insert_statement(table: Table, columns: tuple[str, ...]) -> str:
    placeholders = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})"


def _render_timestamps(connection: Connection, rows: Sequence[Row]) -> list[Row]:
    """Journal rows with both timestamps as SQLite stores them (a batch shares few instants)."""
    dialect = connection.dialect
    render = journal_entries.c.effective_at.type.dialect_impl(dialect).bind_processor(dialect)
    assert render is not None
    rendered = {}
    result = []
    for row in rows:
        effective, recorded = row[_EFFECTIVE_AT], row[_RECORDED_AT]
        if effective not in rendered:
            rendered[effective] = render(effective)
        if recorded not in rendered:
            rendered[recorded] = render(recorded)
        result.append(
            (
                *row[:_EFFECTIVE_AT],
                rendered[effective],
                rendered[recorded],
                *row[_RECORDED_AT + 1 :],
            )
        )
    return result


__all__ = [
    "JOURNAL_COLUMNS",
    "POSTING_COLUMNS",
    "Row",
    "insert_journal_rows",
    "insert_posting_rows",
]

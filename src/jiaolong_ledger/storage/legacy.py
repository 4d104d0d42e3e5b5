"""Adopting a database made before every table had the ``jl_`` prefix.

Until 2026-12-01 the ledger's tables were unprefixed (``accounts``, ``journal_entries``, ...) and
Alembic kept the revision in ``alembic_version``. Every revision now speaks of ``jl_`` tables, so
such a database is brought to the new layout once, before any migration runs
(``storage.migrate``): tables, their constraints, indexes and (PostgreSQL) sequences get the names
the migrations would have given them; rows, triggers and foreign keys are kept. PostgreSQL
renames in place. SQLite cannot rename a constraint, so each table is rebuilt from its own stored
DDL with the names replaced and its rows copied, foreign keys checked at commit. Nothing here is
undone by a downgrade: the old layout is gone for good.
"""

from __future__ import annotations

import re
from typing import Any, Final

from sqlalchemy import Connection, Row, inspect, text
from sqlalchemy.util import md5_hex

PREFIX: Final = "jl_"
POSTGRES_NAME_LENGTH_MAX: Final = 63

LEGACY_TABLES: Final = (  # parents before children
    "accounts",
    "journal_entries",
    "postings",
    "pending_entries",
    "chain_head",
    "fx_rates",
    "fx_revaluations",
    "escrow_orders",
    "escrow_plan_items",
    "escrow_milestones",
    "clearing_participants",
    "clearing_participant_accounts",
    "clearing_cycles",
    "clearing_obligations",
    "financing_facilities",
    "financing_movements",
)


def adopt_legacy_tables(connection: Connection) -> None:
    """Rename this ledger's unprefixed tables (and their constraints, indexes and sequences) to
    the ``jl_`` names, in the caller's transaction. Tables that are absent are skipped."""
    present = set(inspect(connection).get_table_names())
    tables: dict[str, str] = {t: PREFIX + t for t in LEGACY_TABLES if t in present}
    if not tables:
        return
    if connection.dialect.name == "postgresql":
        _rename_postgres(connection, tables)
    else:
        _rebuild_sqlite(connection, tables)


def _truncate(name: str) -> str:
    """SQLAlchemy's rule for a convention name longer than PostgreSQL's identifier limit."""
    if len(name) <= POSTGRES_NAME_LENGTH_MAX:
        return name
    return name[: POSTGRES_NAME_LENGTH_MAX - 8] + "_" + md5_hex(name)[-4:]


def _renamed(name: str, tables: dict[str, str]) -> str:
    """``ix_<table>...`` -> ``ix_<new table>...`` (and an fk's trailing referred table too)."""
    kind, _, rest = name.partition("_")
    for old in sorted(tables, key=len, reverse=True):
        if rest.startswith(old):
            rest = tables[old] + rest[len(old) :]
            break
    if kind == "fk":
        for old in sorted(tables, key=len, reverse=True):
            if rest.endswith("_" + old):
                rest = rest[: -len(old)] + tables[old]
                break
    return f"{kind}_{rest}"


# -- PostgreSQL: rename in place -------------------------------------------------------------

_CONSTRAINTS = text(
    """
    SELECT c.conname, c.contype, t.relname AS table_name, a.attname AS first_column,
           r.relname AS referred_table
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    LEFT JOIN pg_class r ON r.oid = c.confrelid
    WHERE t.relname = ANY(:tables) AND c.contype IN ('p', 'u', 'f', 'c')
    """
)

_INDEXES = text(
    """
    SELECT i.relname AS index_name
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
    WHERE t.relname = ANY(:tables)
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
    """
)

_SEQUENCES = text(
    """
    SELECT s.relname AS sequence_name, t.relname AS table_name, a.attname AS column_name
    FROM pg_depend d
    JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
    JOIN pg_class t ON t.oid = d.refobjid
    JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
    WHERE t.relname = ANY(:tables)
    """
)


def _constraint_name(row: Row[Any], tables: dict[str, str]) -> str:
    """The name the migrations give this constraint of a prefixed table."""
    table = tables[row.table_name]
    if row.contype == "p":
        return _truncate(f"pk_{table}")
    if row.contype == "u":
        return _truncate(f"uq_{table}_{row.first_column}")
    if row.contype == "f":
        referred = tables.get(row.referred_table, row.referred_table)
        return _truncate(f"fk_{table}_{row.first_column}_{referred}")
    return _truncate(_renamed(row.conname, tables))


def _rename_postgres(connection: Connection, tables: dict[str, str]) -> None:
    names = list(tables)
    for row in connection.execute(_CONSTRAINTS, {"tables": names}).all():
        new = _constraint_name(row, tables)
        if new != row.conname:
            connection.exec_driver_sql(
                f'ALTER TABLE "{row.table_name}" RENAME CONSTRAINT "{row.conname}" TO "{new}"'
            )
    for row in connection.execute(_INDEXES, {"tables": names}).all():
        new = _truncate(_renamed(row.index_name, tables))
        if new != row.index_name:
            connection.exec_driver_sql(f'ALTER INDEX "{row.index_name}" RENAME TO "{new}"')
    for row in connection.execute(_SEQUENCES, {"tables": names}).all():
        new = f"{tables[row.table_name]}_{row.column_name}_seq"
        connection.exec_driver_sql(f'ALTER SEQUENCE "{row.sequence_name}" RENAME TO "{new}"')
    for old, new in tables.items():
        connection.exec_driver_sql(f'ALTER TABLE "{old}" RENAME TO "{new}"')


# -- SQLite: rebuild each table from its own DDL with the new names ---------------------------


def _sqlite_ddl(sql: str, tables: dict[str, str]) -> str:
    """The statement with our table, constraint and index names replaced, nothing else."""

    def table_name(match: re.Match[str]) -> str:
        name = match.group(2)
        return f'{match.group(1)}"{tables[name]}"' if name in tables else match.group(0)

    def object_name(match: re.Match[str]) -> str:
        name = match.group(2)
        renamed = _renamed(name, tables)
        return f'{match.group(1)}"{renamed}"' if renamed != name else match.group(0)

    sql = re.sub(r'(\b(?:TABLE|REFERENCES|ON)\s+)"?(\w+)"?', table_name, sql, flags=re.I)
    return re.sub(r'(\b(?:CONSTRAINT|INDEX)\s+)"?(\w+)"?', object_name, sql, flags=re.I)


def _rebuild_sqlite(connection: Connection, tables: dict[str, str]) -> None:
    connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    schema = {
        row.name: (row.type, row.tbl_name, row.sql)
        for row in connection.execute(
            text("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        )
    }
    for old, new in tables.items():
        connection.exec_driver_sql(_sqlite_ddl(schema[old][2], tables))
        connection.exec_driver_sql(f'INSERT INTO "{new}" SELECT * FROM "{old}"')
    indexes = [sql for kind, table, sql in schema.values() if kind == "index" and table in tables]
    for old in reversed(tables):
        connection.exec_driver_sql(f'DROP TABLE "{old}"')
    for sql in indexes:
        connection.exec_driver_sql(_sqlite_ddl(sql, tables))


__all__ = ["LEGACY_TABLES", "PREFIX", "adopt_legacy_tables"]

"""The escrow migration mirrors the tables and downgrades for real, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from jiaolong_ledger import Ledger
from jiaolong_ledger.schema import metadata
from jiaolong_ledger.storage.migrate import downgrade, upgrade

ESCROW_TABLES = {"jl_escrow_orders", "jl_escrow_plan_items", "jl_escrow_milestones"}


def _escrow_diffs(ledger: Ledger) -> list[object]:
    with ledger.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    return [diff for diff in diffs if "escrow_" in repr(diff)]


def test_migration_matches_the_models(ledger: Ledger) -> None:
    assert set(inspect(ledger.engine).get_table_names()) >= ESCROW_TABLES
    assert _escrow_diffs(ledger) == []


def test_downgrade_drops_the_escrow_tables_and_upgrade_restores_them(ledger: Ledger) -> None:
    downgrade(ledger.engine, "20261126_0002")
    assert not ESCROW_TABLES & set(inspect(ledger.engine).get_table_names())
    upgrade(ledger.engine)
    assert set(inspect(ledger.engine).get_table_names()) >= ESCROW_TABLES
    assert _escrow_diffs(ledger) == []

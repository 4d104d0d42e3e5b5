"""The fx migration creates exactly the tables the models describe, and its downgrade drops them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from jiaolong_ledger import Ledger
from jiaolong_ledger.schema import metadata
from jiaolong_ledger.storage.migrate import current_revision, downgrade, upgrade

FX_TABLES = {"jl_fx_rates", "jl_fx_revaluations"}


def _fx_differences(ledger: Ledger) -> list[object]:
    with ledger.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    return [diff for diff in differences if any(name in repr(diff) for name in FX_TABLES)]


def test_the_migrated_schema_matches_the_models(ledger: Ledger) -> None:
    assert set(inspect(ledger.engine).get_table_names()) >= FX_TABLES
    assert _fx_differences(ledger) == []


def test_upgrade_and_downgrade_of_the_fx_revision(db_url: str) -> None:
    ledger = Ledger.connect(db_url, migrate=False)
    try:
        upgrade(ledger.engine, "20261126_0001")
        assert not FX_TABLES & set(inspect(ledger.engine).get_table_names())
        upgrade(ledger.engine, "20261126_0002")
        assert current_revision(ledger.engine) == "20261126_0002"
        assert set(inspect(ledger.engine).get_table_names()) >= FX_TABLES
        downgrade(ledger.engine, "20261126_0001")
        assert not FX_TABLES & set(inspect(ledger.engine).get_table_names())
        assert "jl_journal_entries" in inspect(ledger.engine).get_table_names()
    finally:
        ledger.close()

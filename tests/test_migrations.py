"""Migrations: head, base, head again on both backends; the schema at head is exactly the
models' metadata; ``jiaolong db upgrade`` / ``db current``."""

from __future__ import annotations

import json
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from moneyed import Money
from sqlalchemy import inspect

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.schema import metadata
from jiaolong_ledger.storage import create_database_engine
from jiaolong_ledger.storage.migrate import (
    VERSION_TABLE,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)

CORE_TABLES = {
    f"jl_{name}"
    for name in ("accounts", "journal_entries", "postings", "pending_entries", "chain_head")
}


def tables(ledger: Ledger) -> set[str]:
    return set(inspect(ledger.engine).get_table_names()) - {"jl_alembic_version"}


def post_something(ledger: Ledger, key: str) -> None:
    amount = Money("1.00", "EUR")
    ledger.ensure_account("m:a:EUR", currency="EUR", kind="asset")
    ledger.ensure_account("m:b:EUR", currency="EUR", kind="equity")
    ledger.post(Entry(key, [debit("m:a:EUR", amount), credit("m:b:EUR", amount)]))


def test_upgrade_downgrade_upgrade(db_url: str) -> None:
    ledger = Ledger.connect(db_url)
    head = head_revision(ledger.engine)
    assert head is not None and current_revision(ledger.engine) == head
    assert tables(ledger) >= CORE_TABLES
    post_something(ledger, "before")

    downgrade(ledger.engine, "base")
    assert current_revision(ledger.engine) is None
    assert tables(ledger) == set(), "downgrade to base left tables behind"

    upgrade(ledger.engine)
    assert current_revision(ledger.engine) == head
    post_something(ledger, "after")  # a working, empty ledger: seq starts again at 1
    assert [entry.seq for entry in ledger.entries()][-1] == 3
    assert ledger.verify().ok
    ledger.close()


def test_each_revision_downgrades_one_step_at_a_time(db_url: str) -> None:
    ledger = Ledger.connect(db_url)
    seen = []
    while (revision := current_revision(ledger.engine)) is not None:
        seen.append(revision)
        downgrade(ledger.engine, "-1")
    assert seen[0] == head_revision(ledger.engine) and len(seen) == len(set(seen))
    assert tables(ledger) == set()
    for revision in reversed(seen):
        upgrade(ledger.engine, revision)
        assert current_revision(ledger.engine) == revision
    ledger.close()


def test_schema_at_head_matches_the_models(db_url: str) -> None:
    """Every table, column, type, index and constraint of the models is in the migrations."""
    ledger = Ledger.connect(db_url)
    with ledger.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []
    ledger.close()


def test_connect_is_idempotent_and_migrates_an_old_database(db_url: str) -> None:
    engine = create_database_engine(db_url)
    upgrade(engine, "20261126_0001")
    engine.dispose()
    ledger = Ledger.connect(db_url)  # brings it to head
    assert current_revision(ledger.engine) == head_revision(ledger.engine)
    post_something(ledger, "k")
    ledger.close()
    again = Ledger.connect(db_url)
    assert [entry.key for entry in again.entries()][-1] == "k"
    again.close()


def test_cli_db_current_and_upgrade(db_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", db_url, "db", "current", "--json"])
    if db_url.startswith("sqlite"):  # a read never creates the file it was asked about
        assert result.exit_code == 2 and "no ledger at" in result.output
        assert not Path(db_url.removeprefix("sqlite:///")).exists()
        state = {"head": head_revision(create_database_engine(db_url))}
    else:  # an empty schema: no revision yet
        assert result.exit_code == 0, result.output
        state = json.loads(result.stdout)
        assert state["current"] is None and state["head"]

    result = runner.invoke(cli, ["--db", db_url, "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"database at revision {state['head']}"

    result = runner.invoke(cli, ["--db", db_url, "db", "current"])
    assert result.stdout.strip() == f"current {state['head']} (head {state['head']})"

    result = runner.invoke(cli, ["--db", db_url, "db", "upgrade"])  # again: nothing to do
    assert result.exit_code == 0

    result = runner.invoke(cli, ["--db", db_url, "db", "upgrade", "--revision", "no-such-rev"])
    assert result.exit_code != 0

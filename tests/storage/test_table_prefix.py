"""Sharing a database with a host application: every table is ``jl_``-prefixed, Alembic keeps
its revision in ``jl_alembic_version``, and a database from before the prefix migrates in place
with its rows, constraints and triggers (and back down again)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from moneyed import Money
from sqlalchemy import create_engine, inspect, text

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.storage.migrate import (
    VERSION_TABLE,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)

BEFORE_PREFIX = "20261126_0006"
DATA = Path(__file__).parent / "data"
AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _post(ledger: Ledger, key: str) -> None:
    amount = Money("12.34", "EUR")
    ledger.ensure_account("platform:bank:EUR", currency="EUR", kind="asset")
    ledger.ensure_account("participant:acme:cash:EUR", currency="EUR", kind="liability")
    ledger.post(
        Entry(
            key=key,
            postings=[
                debit("platform:bank:EUR", amount),
                credit("participant:acme:cash:EUR", amount),
            ],
        )
    )


def _load_previous_release(url: str) -> None:
    """A database exactly as the previous release (revision 20261126_0006: unprefixed tables,
    ``alembic_version``) left it after a little trading: dumps made with that release."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        script = (DATA / "legacy-20261126_0006.sqlite.sql").read_text(encoding="utf-8")
        raw = engine.raw_connection()
        raw.driver_connection.executescript(script)  # type: ignore[union-attr]
        raw.close()
    else:
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar()
        script = (DATA / "legacy-20261126_0006.postgres.sql").read_text(encoding="utf-8")
        raw = engine.raw_connection()
        raw.driver_connection.execute(script.replace("{schema}", f'"{schema}"'))  # type: ignore[union-attr]
        raw.commit()
        raw.close()
    engine.dispose()


def test_every_table_is_prefixed(ledger: Ledger) -> None:
    names = set(inspect(ledger.engine).get_table_names())
    assert names and all(name.startswith("jl_") for name in names), sorted(names)


def test_an_old_database_migrates_in_place_and_keeps_everything(db_url: str) -> None:
    _load_previous_release(db_url)
    engine = create_engine(db_url)
    assert "journal_entries" in inspect(engine).get_table_names()
    assert current_revision(engine) == BEFORE_PREFIX  # read from the legacy table
    engine.dispose()

    ledger = Ledger.connect(db_url)  # upgrades to head
    tables = set(inspect(ledger.engine).get_table_names())
    assert "alembic_version" not in tables and VERSION_TABLE in tables
    assert current_revision(ledger.engine) == head_revision(ledger.engine)
    assert not {"journal_entries", "accounts"} & tables
    assert ledger.verify().ok  # chain, balances and pending state came over intact
    assert ledger.entry("before/1").seq > 0
    assert ledger.escrow.state("order-9").funded_minor == 500
    assert ledger.fx.rate("EUR", "CNY", at=AT).source == "test"
    assert [p.name for p in ledger.clearing.participants()] == ["acme", "shu-brocade"]
    assert ledger.financing.state("fac-1").principal_minor == 1_000
    ledger.void_pending("hold/1", "hold/1/void")  # pending state survived the move
    _post(ledger, "after/1")  # the writer, the chain and the constraints work on the new names
    assert ledger.balance("participant:acme:cash:EUR").available == Money("107.34", "EUR")
    assert ledger.verify().ok

    downgrade(ledger.engine, "base")  # every revision now speaks of the jl_ names
    assert set(inspect(ledger.engine).get_table_names()) == {VERSION_TABLE}
    upgrade(ledger.engine)
    assert ledger.verify().ok
    ledger.close()


def test_a_host_applications_own_alembic_history_is_left_alone(db_url: str) -> None:
    host = create_engine(db_url)
    with host.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('host_0042')"))
        connection.execute(text("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)"))
    ledger = Ledger.connect(db_url)
    _post(ledger, "shared/1")
    with host.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            "host_0042"
        )
        assert connection.execute(text("SELECT count(*) FROM accounts")).scalar() == 0
    assert current_revision(ledger.engine) == head_revision(ledger.engine)
    assert ledger.verify().ok
    ledger.close()
    host.dispose()

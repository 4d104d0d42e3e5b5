"""The escrow migrations mirror the tables and downgrade for real, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from escrow_helpers import PLAN, at, open_market
from moneyed import Money
from sqlalchemy import inspect, text

from jiaolong_ledger import Ledger
from jiaolong_ledger.schema import metadata
from jiaolong_ledger.storage.migrate import current_revision, downgrade, head_revision, upgrade

SHIPMENT_MILESTONES = "jl_escrow_shipment_milestones"
ESCROW_TABLES = {
    "jl_escrow_orders",
    "jl_escrow_plan_items",
    "jl_escrow_milestones",
    SHIPMENT_MILESTONES,
}
SHIPMENT_MILESTONES_REVISION = "20261201_0007"
BEFORE_SHIPMENT_MILESTONES = "20261126_0006"


def _escrow_diffs(ledger: Ledger) -> list[object]:
    with ledger.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    return [diff for diff in diffs if "escrow_" in repr(diff)]


def _tables(ledger: Ledger) -> set[str]:
    return set(inspect(ledger.engine).get_table_names())


def _count(ledger: Ledger, table: str) -> int:
    with ledger.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_migration_matches_the_models(ledger: Ledger) -> None:
    assert _tables(ledger) >= ESCROW_TABLES
    assert _escrow_diffs(ledger) == []


def test_downgrade_drops_the_escrow_tables_and_upgrade_restores_them(ledger: Ledger) -> None:
    downgrade(ledger.engine, "20261126_0002")
    assert not ESCROW_TABLES & _tables(ledger)
    upgrade(ledger.engine)
    assert _tables(ledger) >= ESCROW_TABLES
    assert _escrow_diffs(ledger) == []


def test_the_shipment_milestones_revision_round_trips(ledger: Ledger) -> None:
    """Down one revision: only the shipment record goes, the orders stay; up again: an empty
    record, and a milestone reported before it is recorded the next time it is reported."""
    open_market(ledger)
    ledger.escrow.place(
        "A",
        buyer="lodz-gallery",
        seller="shu-brocade",
        amount=Money("1000.00", "EUR"),
        incoterm="FCA",
        release_plan=PLAN,
        shipment_id="X1",
        at=at(0),
    )
    ledger.escrow.fund("A", at=at(1))
    ledger.escrow.milestone("departed", shipment_id="X1", at=at(24))
    assert _count(ledger, SHIPMENT_MILESTONES) == 1

    downgrade(ledger.engine, BEFORE_SHIPMENT_MILESTONES)
    assert current_revision(ledger.engine) == BEFORE_SHIPMENT_MILESTONES
    assert SHIPMENT_MILESTONES not in _tables(ledger)
    assert _tables(ledger) >= ESCROW_TABLES - {SHIPMENT_MILESTONES}
    assert (_count(ledger, "jl_escrow_orders"), _count(ledger, "jl_escrow_milestones")) == (1, 1)

    upgrade(ledger.engine, SHIPMENT_MILESTONES_REVISION)  # this revision alone makes it
    assert _escrow_diffs(ledger) == []
    assert _count(ledger, SHIPMENT_MILESTONES) == 0
    upgrade(ledger.engine)
    assert current_revision(ledger.engine) == head_revision(ledger.engine)
    before = ledger.escrow.state("A")
    assert before.released_minor == 30_000
    (again,) = ledger.escrow.milestone("departed", shipment_id="X1", at=at(24))
    assert again == before  # A saw it already: nothing moves, the shipment records it
    assert _count(ledger, SHIPMENT_MILESTONES) == 1
    assert ledger.verify().ok

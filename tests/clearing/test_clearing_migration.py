"""The clearing revision downgrades cleanly and upgrades again (both backends)."""

from __future__ import annotations

from sqlalchemy import inspect

from jiaolong_ledger import Ledger
from jiaolong_ledger.storage.migrate import current_revision, downgrade, upgrade

CLEARING_TABLES = {
    "jl_clearing_participants",
    "jl_clearing_participant_accounts",
    "jl_clearing_cycles",
    "jl_clearing_obligations",
}


def test_clearing_revision_round_trip(ledger: Ledger) -> None:
    engine = ledger.engine
    assert set(inspect(engine).get_table_names()) >= CLEARING_TABLES
    downgrade(engine, "20261126_0003")
    assert current_revision(engine) == "20261126_0003"
    assert not CLEARING_TABLES & set(inspect(engine).get_table_names())
    upgrade(engine, "20261126_0004")
    tables = set(inspect(engine).get_table_names())
    assert tables >= CLEARING_TABLES
    upgrade(engine)
    indexes = {index["name"] for index in inspect(engine).get_indexes("jl_clearing_obligations")}
    assert {"ix_jl_clearing_obligations_by_payer", "ix_jl_clearing_obligations_by_payee"} <= indexes
    ledger.clearing.register_participant("p", "EUR")
    assert ledger.clearing.open_cycle().id == 1

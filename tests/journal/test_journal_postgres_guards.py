"""On PostgreSQL the database itself guards the journal, even against raw SQL that bypasses the
engine: an unbalanced set of postings is refused, and journal rows cannot be updated or deleted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moneyed import Money
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.testing import assert_unchanged, snapshot

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(make_url_for: Any) -> Iterator[Ledger]:
    ledger = Ledger.connect(make_url_for())
    ledger.open_account("a:EUR", currency="EUR", kind="asset")
    ledger.open_account("b:EUR", currency="EUR", kind="equity")
    amount = Money("10.00", "EUR")
    ledger.post(Entry("first", [debit("a:EUR", amount), credit("b:EUR", amount)]))
    yield ledger
    assert ledger.verify().ok
    ledger.close()


def account_ids(connection: Connection) -> tuple[int, int]:
    rows = dict(connection.execute(text("SELECT code, id FROM jl_accounts")).all())
    return rows["a:EUR"], rows["b:EUR"]


def insert_entry_row(connection: Connection, seq: int) -> None:
    connection.execute(
        text(
            "INSERT INTO jl_journal_entries (seq, key, kind, status, effective_at, recorded_at, "
            "request_digest, prev_hash, hash, line) VALUES (:seq, :key, 'transfer', 'posted', "
            "now(), now(), :h, :h, :h, '{}')"
        ),
        {"seq": seq, "key": f"raw/{seq}", "h": "0" * 64},
    )


POSTING = (
    "INSERT INTO jl_postings (entry_seq, position, account_id, is_debit, amount_minor, currency, "
    "is_pending) VALUES "
)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_unbalanced_raw_insert_is_refused(pg: Ledger) -> None:
    before = snapshot(pg)
    with pytest.raises(DBAPIError) as caught, pg.engine.begin() as connection:
        debit_id, credit_id = account_ids(connection)
        insert_entry_row(connection, 100)
        connection.execute(
            text(
                POSTING + "(100, 0, :d, true, 1000, 'EUR', false), "
                "(100, 1, :c, false, 999, 'EUR', false)"
            ),
            {"d": debit_id, "c": credit_id},
        )
    assert "unbalanced entry" in str(caught.value)
    assert_unchanged(pg, before)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_one_leg_at_a_time_is_refused(pg: Ledger) -> None:
    """Each INSERT statement must carry whole entries: half an entry never lands."""
    with pytest.raises(DBAPIError), pg.engine.begin() as connection:
        debit_id, _ = account_ids(connection)
        insert_entry_row(connection, 100)
        connection.execute(
            text(POSTING + "(100, 0, :d, true, 1000, 'EUR', false)"), {"d": debit_id}
        )


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_balanced_raw_insert_passes_the_trigger(pg: Ledger) -> None:
    """The trigger refuses imbalance, not inserts: a balanced one goes in (rolled back here)."""
    with pg.engine.connect() as connection:
        transaction = connection.begin()
        debit_id, credit_id = account_ids(connection)
        insert_entry_row(connection, 100)
        connection.execute(
            text(
                POSTING + "(100, 0, :d, true, 1000, 'EUR', false), "
                "(100, 1, :c, false, 1000, 'EUR', false)"
            ),
            {"d": debit_id, "c": credit_id},
        )
        count = connection.execute(text("SELECT count(*) FROM jl_postings")).scalar()
        assert count == 4
        transaction.rollback()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE jl_journal_entries SET kind = 'reversal' WHERE seq = 3",
        "UPDATE jl_journal_entries SET line = '{}' WHERE seq = 3",
        "DELETE FROM jl_journal_entries WHERE seq = 3",
        "UPDATE jl_postings SET amount_minor = 1 WHERE entry_seq = 3",
        "DELETE FROM jl_postings WHERE entry_seq = 3",
        "TRUNCATE jl_postings",
        "TRUNCATE jl_journal_entries CASCADE",
    ],
)
def test_journal_rows_cannot_be_changed(pg: Ledger, statement: str) -> None:
    before = snapshot(pg)
    with pytest.raises(DBAPIError) as caught, pg.engine.begin() as connection:
        connection.execute(text(statement))
    assert "append-only" in str(caught.value)
    assert_unchanged(pg, before)

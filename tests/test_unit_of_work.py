"""The unit of work: several sub-domains in one transaction, all or nothing; embedding in a
host application's own SQLAlchemy transaction; the database seam's typed errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from moneyed import Money
from sqlalchemy import create_engine, text

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.errors import (
    ConstraintViolatedError,
    InvalidInputError,
    LedgerError,
    StorageUnavailableError,
)
from jiaolong_ledger.testing.checks import assert_unchanged, snapshot
from jiaolong_ledger.unit_of_work import UnitOfWork

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PLAN = [{"milestone": "departed", "share": "40"}, {"milestone": "delivered", "share": "60"}]


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def market(ledger: Ledger) -> None:
    with ledger.transaction() as tx:
        tx.ensure_account("platform:bank:EUR", "EUR", "asset")
        for name in ("lodz-gallery", "shu-brocade"):
            tx.ensure_account(
                f"participant:{name}:cash:EUR", "EUR", "liability", "debits_must_not_exceed_credits"
            )
        tx.post(
            Entry(
                key="deposit/lodz",
                postings=[
                    debit("platform:bank:EUR", eur("1000.00")),
                    credit("participant:lodz-gallery:cash:EUR", eur("1000.00")),
                ],
            )
        )


def every_sub_domain(tx: UnitOfWork) -> None:
    """One step in each sub-domain, all inside the unit ``tx``."""
    tx.escrow.place(
        "order-1",
        buyer="lodz-gallery",
        seller="shu-brocade",
        amount=eur("300.00"),
        incoterm="DAP",
        release_plan=PLAN,
        at=AT,
    )
    tx.escrow.fund("order-1", at=AT)
    tx.fx.set_rate("EUR", "CNY", "7.8125", AT, "test")
    for name in ("lodz-gallery", "shu-brocade"):
        tx.clearing.register_participant(name, "EUR")
    tx.clearing.submit("lodz-gallery", "shu-brocade", eur("50.00"), "invoice-7", at=AT)
    tx.financing.open_facility(
        "fac-1",
        borrower="shu-brocade",
        lender="platform",
        limit=eur("500.00"),
        annual_rate="0.05",
        day_count="ACT/360",
        at=AT,
    )
    tx.financing.draw("fac-1", eur("100.00"), reference="d1", at=AT)


def test_a_unit_across_every_sub_domain_commits_together(ledger: Ledger) -> None:
    market(ledger)
    with ledger.transaction() as tx:
        every_sub_domain(tx)
        assert tx.balance("participant:lodz-gallery:cash:EUR").available == eur("700.00")
    assert ledger.escrow.state("order-1").funded_minor == 30_000
    assert ledger.fx.rate("EUR", "CNY", at=AT).rate == Decimal("7.8125")
    assert [o.reference for o in ledger.clearing.obligations(ledger.clearing.open_cycle().id)] == [
        "invoice-7"
    ]
    assert ledger.financing.state("fac-1").principal_minor == 10_000
    assert ledger.verify().ok


def test_a_unit_whose_last_step_fails_keeps_nothing(ledger: Ledger) -> None:
    market(ledger)
    before = snapshot(ledger)
    with pytest.raises(ConstraintViolatedError), ledger.transaction() as tx:
        every_sub_domain(tx)
        tx.post(  # the buyer has 700.00 left: 5,000.00 breaks its constraint
            Entry(
                key="too-much",
                postings=[
                    debit("participant:lodz-gallery:cash:EUR", eur("5000.00")),
                    credit("platform:bank:EUR", eur("5000.00")),
                ],
            )
        )
    assert_unchanged(ledger, before)
    with pytest.raises(LedgerError):
        ledger.escrow.state("order-1")
    with pytest.raises(LedgerError):
        ledger.financing.state("fac-1")
    with pytest.raises(LedgerError):
        ledger.fx.rate("EUR", "CNY", at=AT)
    assert ledger.clearing.cycles() == [] or all(
        cycle.obligations == 0 for cycle in ledger.clearing.cycles()
    )
    # Nothing was consumed: the same unit succeeds now.
    with ledger.transaction() as tx:
        every_sub_domain(tx)
    assert ledger.escrow.state("order-1").funded_minor == 30_000


def test_the_per_call_api_is_one_unit_per_call(ledger: Ledger) -> None:
    market(ledger)
    ledger.escrow.place(
        "order-2",
        buyer="lodz-gallery",
        seller="shu-brocade",
        amount=eur("2000.00"),
        incoterm="DAP",
        release_plan=PLAN,
        at=AT,
    )
    before = snapshot(ledger)
    with pytest.raises(ConstraintViolatedError):
        ledger.escrow.fund("order-2", at=AT)  # 2,000.00 > 1,000.00 available
    assert_unchanged(ledger, before)
    assert ledger.escrow.state("order-2").status == "placed"


def test_a_host_application_transaction_owns_the_commit(db_url: str) -> None:
    ledger = Ledger.connect(db_url)
    market(ledger)
    host = create_engine(db_url)
    entry = Entry(
        key="host/1",
        postings=[
            debit("participant:lodz-gallery:cash:EUR", eur("10.00")),
            credit("participant:shu-brocade:cash:EUR", eur("10.00")),
        ],
    )
    with host.connect() as connection:
        transaction = connection.begin()
        with ledger.transaction(connection=connection) as tx:
            tx.post(entry)
        transaction.rollback()  # the host changes its mind: nothing of the ledger's is kept
    with pytest.raises(LedgerError):
        ledger.entry("host/1")
    with host.connect() as connection, connection.begin():
        with ledger.transaction(connection=connection) as tx:
            tx.post(entry)
        connection.execute(text("SELECT 1"))  # the host's own work, same transaction
    assert ledger.entry("host/1").seq > 0
    assert ledger.balance("participant:shu-brocade:cash:EUR").available == eur("10.00")
    assert ledger.verify().ok
    host.dispose()
    ledger.close()


def test_a_host_connection_outside_a_transaction_is_refused(db_url: str) -> None:
    ledger = Ledger.connect(db_url)
    host = create_engine(db_url)
    with host.connect() as connection:
        connection.commit()  # end the autobegun transaction, if any
        with pytest.raises(InvalidInputError), ledger.transaction(connection=connection):
            pass
    host.dispose()
    ledger.close()


@pytest.mark.parametrize(
    "url",
    [
        "garbage://",
        "garbage",
        "",
        "mysql://u@h/db",
        "postgresql+nosuchdriver://u@h/db",
        "postgresql://u@h:notaport/db",
        "postgresql://u@h:99999/db",
        "sqlite:///\x00bad",
        "x" * 10_000,
    ],
)
def test_a_malformed_url_is_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        Ledger.connect(url)
    assert raised.value.code == "INVALID_INPUT"


def test_an_unreachable_database_is_storage_unavailable_without_the_password() -> None:
    url = "postgresql+psycopg://jl:very-secret-pw@127.0.0.1:1/nowhere?connect_timeout=2"
    with pytest.raises(StorageUnavailableError) as raised:
        Ledger.connect(url)
    assert "very-secret-pw" not in str(raised.value)
    assert "very-secret-pw" not in repr(raised.value.details)

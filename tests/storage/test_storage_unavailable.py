"""A database that goes away under a live ledger is STORAGE_UNAVAILABLE, on every call (SPEC §6).

Each test copies a database holding a little of everything (accounts, entries, a funded escrow
order, a drawn financing facility, an FX rate, a settled clearing cycle and a frozen one), opens
a Ledger on it with a password in the URL, stops the server, and makes one public call. The call
must raise ``StorageUnavailableError`` — not a SQLAlchemy or psycopg exception, nor another
ledger error, nor a result — and the password must not appear in what it says. Then the server
comes back and the same call, on the same Ledger object, succeeds: a retry after recovery works
and the refused attempt left nothing behind that would block it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money
from pg_cluster import PgCluster, StoppablePostgres

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.errors import StorageUnavailableError

pytestmark = pytest.mark.postgres

BANK = "platform:bank:EUR"
BUYER, SELLER = "lodz-gallery", "shu-brocade"
PLAN = [
    {"milestone": "departed", "share": "30"},
    {"milestone": "customs_cleared", "share": "60"},
    {"milestone": "delivered", "share": "10"},
]
OPENED = datetime(2026, 1, 1, 9, tzinfo=UTC)
FIXING = datetime(2026, 11, 25, 13, 15, tzinfo=UTC)
SETTLED_CYCLE, FROZEN_CYCLE = 1, 2

Call = Callable[[Ledger, Path], object]


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def cash(name: str) -> str:
    return f"participant:{name}:cash:EUR"


def deposit(key: str, name: str, amount: str) -> Entry:
    return Entry(key=key, postings=[debit(BANK, eur(amount)), credit(cash(name), eur(amount))])


def place(ledger: Ledger, order_id: str) -> object:
    return ledger.escrow.place(
        order_id,
        buyer=BUYER,
        seller=SELLER,
        amount=eur("1200.00"),
        incoterm="CIP",
        release_plan=PLAN,
        fee_rate="0.015",
        shipment_id=f"ship-{order_id}",
    )


def seed(ledger: Ledger) -> None:
    """A little of every sub-domain, through the public API only."""
    ledger.open_account(BANK, currency="EUR", kind="asset")
    for name in (BUYER, SELLER):
        ledger.open_account(
            cash(name),
            currency="EUR",
            kind="liability",
            constraint="debits_must_not_exceed_credits",
        )
    ledger.post_many(
        [deposit(f"seed/deposit/{name}", name, "10000.00") for name in (BUYER, SELLER)]
    )
    place(ledger, "order-1")
    ledger.escrow.fund("order-1")
    place(ledger, "order-2")  # left unfunded: the escrow.fund case funds it
    ledger.financing.open_facility(
        "fac-1", SELLER, "platform", eur("50000.00"), "0.05", "ACT/360", at=OPENED
    )
    ledger.financing.draw("fac-1", eur("1000.00"), reference="d1", at=OPENED + timedelta(days=1))
    ledger.fx.set_rate("EUR", "CNY", "7.8123", FIXING, "ECB")
    clearing = ledger.clearing
    clearing.register_participant(BUYER, "EUR")
    clearing.register_participant(SELLER, "EUR")
    clearing.submit(BUYER, SELLER, eur("300.00"), "obligation-1")
    clearing.submit(SELLER, BUYER, eur("120.00"), "obligation-2")
    settled = clearing.cutoff()
    clearing.settle(settled.id)
    clearing.submit(BUYER, SELLER, eur("40.00"), "obligation-3")
    frozen = clearing.cutoff()  # frozen, not settled: the clearing.settle case settles it
    clearing.submit(BUYER, SELLER, eur("7.00"), "obligation-4")  # in the open cycle
    assert (settled.id, frozen.id) == (SETTLED_CYCLE, FROZEN_CYCLE)


def in_unit_of_work(ledger: Ledger) -> object:
    with ledger.transaction() as tx:
        return tx.post(deposit("test/unit-of-work", BUYER, "3.00"))


def order_placed_event() -> dict[str, Any]:
    return {
        "type": "OrderPlaced",
        "order_id": "order-4",
        "buyer": BUYER,
        "seller": SELLER,
        "amount": "800.00",
        "currency": "EUR",
        "incoterm": "CIP",
        "shipment_id": "ship-order-4",
        "release_plan": PLAN,
        "platform_fee_rate": "0.015",
    }


READS: dict[str, Call] = {
    "balance": lambda ledger, _: ledger.balance(cash(BUYER)),
    "balance_as_of": lambda ledger, _: ledger.balance(cash(BUYER), as_of=FIXING),
    "trial_balance": lambda ledger, _: ledger.trial_balance(),
    "statement": lambda ledger, _: ledger.statement(cash(BUYER), OPENED, None),
    "account": lambda ledger, _: ledger.account(cash(BUYER)),
    "accounts": lambda ledger, _: ledger.accounts(),
    "entry": lambda ledger, _: ledger.entry(f"seed/deposit/{BUYER}"),
    "escrow.state": lambda ledger, _: ledger.escrow.state("order-1"),
    "escrow.orders": lambda ledger, _: ledger.escrow.orders(),
    "financing.state": lambda ledger, _: ledger.financing.state("fac-1"),
    "financing.facilities": lambda ledger, _: ledger.financing.facilities(),
    "fx.rate": lambda ledger, _: ledger.fx.rate("EUR", "CNY", at=FIXING + timedelta(hours=3)),
    "export_journal": lambda ledger, path: ledger.export_journal(path),
    "verify": lambda ledger, _: ledger.verify(),
    "clearing.report": lambda ledger, _: ledger.clearing.report(SETTLED_CYCLE),
    "clearing.participants": lambda ledger, _: ledger.clearing.participants(),
    "clearing.cycles": lambda ledger, _: ledger.clearing.cycles(),
}

WRITES: dict[str, Call] = {
    "post": lambda ledger, _: ledger.post(deposit("test/post", BUYER, "1.00")),
    "post_many": lambda ledger, _: ledger.post_many(
        [deposit("test/many/1", BUYER, "1.00"), deposit("test/many/2", SELLER, "2.00")]
    ),
    "open_account": lambda ledger, _: ledger.open_account(
        "platform:suspense:EUR", currency="EUR", kind="asset"
    ),
    "escrow.place": lambda ledger, _: place(ledger, "order-3"),
    "escrow.fund": lambda ledger, _: ledger.escrow.fund("order-2"),
    "fx.set_rate": lambda ledger, _: ledger.fx.set_rate("EUR", "USD", "1.0812", FIXING, "ECB"),
    "financing.draw": lambda ledger, _: ledger.financing.draw(
        "fac-1", eur("500.00"), reference="d2", at=OPENED + timedelta(days=2)
    ),
    "clearing.submit": lambda ledger, _: ledger.clearing.submit(
        BUYER, SELLER, eur("5.00"), "obligation-5"
    ),
    "clearing.cutoff": lambda ledger, _: ledger.clearing.cutoff(),
    "clearing.settle": lambda ledger, _: ledger.clearing.settle(FROZEN_CYCLE),
    "ingest": lambda ledger, _: ledger.ingest(order_placed_event()),
    "transaction": lambda ledger, _: in_unit_of_work(ledger),
}


@pytest.fixture(scope="module")
def postgres_template(private_postgres: PgCluster) -> str:
    """The seeded database, built once per module; each test gets a copy."""
    private_postgres.execute('CREATE DATABASE "seeded"')
    ledger = Ledger.connect(private_postgres.url("seeded"))
    try:
        seed(ledger)
    finally:
        ledger.close()  # a template must have no open connections
    return "seeded"


@pytest.fixture
def live_ledger(stoppable_postgres: StoppablePostgres) -> Iterator[Ledger]:
    """A Ledger with a pooled connection open, as a running service would have."""
    ledger = Ledger.connect(stoppable_postgres.url)
    assert ledger.balance(cash(BUYER)).posted_minor > 0
    yield ledger
    ledger.close()


def attempt(call: Call, ledger: Ledger, path: Path) -> Exception | None:
    try:
        call(ledger, path)
    except Exception as error:
        return error
    return None


def name_of(error: BaseException) -> str:
    return f"{type(error).__module__}.{type(error).__qualname__}: {str(error)[:300]}"


def outage_problems(outcome: Exception | None, password: str) -> list[str]:
    """What is wrong with how a call failed while the database was down (nothing: [])."""
    if outcome is None:
        return ["the call returned a result while the database was stopped"]
    if not isinstance(outcome, StorageUnavailableError):
        return [f"leaked instead of STORAGE_UNAVAILABLE: {name_of(outcome)}"]
    problems = []
    if outcome.code != "STORAGE_UNAVAILABLE":
        problems.append(f"code {outcome.code!r}")
    if password in str(outcome) or password in repr(outcome.details):
        problems.append(f"the password is in the error: {outcome!s} {outcome.details!r}")
    return problems


@pytest.mark.parametrize("call", [*READS.values(), *WRITES.values()], ids=[*READS, *WRITES])
def test_a_stopped_database_is_storage_unavailable_and_a_retry_recovers(
    call: Call, live_ledger: Ledger, stoppable_postgres: StoppablePostgres, tmp_path: Path
) -> None:
    stoppable_postgres.stop()
    outcome = attempt(call, live_ledger, tmp_path / "during-outage.jsonl")
    stoppable_postgres.start()
    # The same Ledger, not reconnected: the refused call left nothing that blocks its retry.
    retry = attempt(call, live_ledger, tmp_path / "after-recovery.jsonl")

    problems = outage_problems(outcome, stoppable_postgres.password)
    if retry is not None:
        problems.append(f"the retry after recovery failed: {name_of(retry)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", ["balance", "post"])
def test_a_killed_server_is_storage_unavailable_too(
    name: str, live_ledger: Ledger, stoppable_postgres: StoppablePostgres, tmp_path: Path
) -> None:
    """SIGKILL, not a shutdown: the pooled connection's backend dies without a goodbye."""
    call = {**READS, **WRITES}[name]
    stoppable_postgres.kill()
    outcome = attempt(call, live_ledger, tmp_path / "during-outage.jsonl")
    stoppable_postgres.start()
    retry = attempt(call, live_ledger, tmp_path / "after-recovery.jsonl")

    problems = outage_problems(outcome, stoppable_postgres.password)
    if retry is not None:
        problems.append(f"the retry after recovery failed: {name_of(retry)}")
    assert not problems, "\n".join(problems)

"""Fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``JIAOLONG_TEST_POSTGRES_URL``. Each test run (each xdist worker) creates
its own database and drops it at the end; each test gets a fresh schema in it, so runs and tests
never see each other's data. Without the variable, PostgreSQL cases are skipped, and the run
says so loudly in its header and summary.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from jiaolong_ledger import Ledger

POSTGRES_URL = os.environ.get("JIAOLONG_TEST_POSTGRES_URL")
SKIP_REASON = "JIAOLONG_TEST_POSTGRES_URL is not set: PostgreSQL tests SKIPPED"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_URL:
        return f"jiaolong: PostgreSQL tests run against {make_url(POSTGRES_URL).render_as_string()}"
    return f"jiaolong: WARNING {SKIP_REASON}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not POSTGRES_URL:
        terminalreporter.write_sep("!", SKIP_REASON, yellow=True, bold=True)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of this run's own; dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip(SKIP_REASON)
    base = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"jiaolong_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class _Schemas:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.engine = create_engine(database_url, isolation_level="AUTOCOMMIT")

    def new_url(self) -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with self.engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(self.database_url).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_schemas(postgres_database: str) -> Iterator[_Schemas]:
    schemas = _Schemas(postgres_database)
    yield schemas
    schemas.engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_url_for(backend: str, request: pytest.FixtureRequest, tmp_path: Any) -> Callable[[], str]:
    """Factory of fresh, empty database URLs on the current backend."""
    counter = iter(range(1_000_000))

    def factory() -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path}/ledger-{next(counter)}.db"
        schemas: _Schemas = request.getfixturevalue("postgres_schemas")
        return schemas.new_url()

    return factory


@pytest.fixture
def db_url(make_url_for: Callable[[], str]) -> str:
    return make_url_for()


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    instance = Ledger.connect(db_url)
    yield instance
    instance.close()


@pytest.fixture
def make_ledger(make_url_for: Callable[[], str]) -> Iterator[Callable[[], Ledger]]:
    """Factory of fresh ledgers on the current backend (closed at teardown)."""
    opened: list[Ledger] = []

    def factory() -> Ledger:
        instance = Ledger.connect(make_url_for())
        opened.append(instance)
        return instance

    yield factory
    for instance in opened:
        instance.close()

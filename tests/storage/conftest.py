"""Fixtures for tests that take the database away from a live ledger.

``private_postgres`` is one throwaway cluster per test module (``pg_cluster.PgCluster``; each
xdist worker has its own), never the system cluster nor ``JIAOLONG_TEST_POSTGRES_URL``, since
these tests stop and kill the server. ``stoppable_postgres`` gives each test a fresh database on
it, copied from ``postgres_template`` when a module overrides that fixture (build the data once,
copy it per test), and a running server at the start of every test, whatever the last one did.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from pg_cluster import PgCluster, StoppablePostgres


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PgCluster]:
    """A running private cluster for the module; skipped loudly without PostgreSQL binaries."""
    cluster = PgCluster(name="storage")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture(scope="module")
def postgres_template() -> str | None:
    """Override (module scope) to return a database that ``stoppable_postgres`` copies."""
    return None


@pytest.fixture
def stoppable_postgres(
    private_postgres: PgCluster, postgres_template: str | None
) -> Iterator[StoppablePostgres]:
    if not private_postgres.is_running():
        private_postgres.start()
    name = f"t_{uuid.uuid4().hex[:12]}"
    template = f' TEMPLATE "{postgres_template}"' if postgres_template else ""
    private_postgres.execute(f'CREATE DATABASE "{name}"{template}')
    yield StoppablePostgres(private_postgres, name)
    if not private_postgres.is_running():
        private_postgres.start()
    private_postgres.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

"""Engine setup per dialect.

SQLite runs in WAL mode with ``synchronous=FULL`` (every commit is fsynced: durable across power
loss), foreign keys on, and a busy timeout. ``sqlite_synchronous="NORMAL"`` trades the last
commits before a power cut (not an application crash) for commits that do not wait on fsync.
Write transactions start with ``BEGIN IMMEDIATE`` so that two writers never both read the
chain head and then fight over the upgrade to a write lock. PostgreSQL writers serialise on
the ``chain_head`` row (``SELECT ... FOR UPDATE``), taken first in every write transaction, then
lock accounts in ascending id order: one fixed order, so writers cannot deadlock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

WRITE_OPTION = "jiaolong_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def is_postgres(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


def create_database_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("psycopg2", ""):
        # psycopg 3 is the supported driver; accept plain postgresql:// URLs.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


SQLITE_SYNCHRONOUS = ("FULL", "NORMAL")


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    synchronous = str(kwargs.pop("sqlite_synchronous", "FULL")).upper()
    if synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"sqlite_synchronous must be one of {SQLITE_SYNCHRONOUS}")
    database = make_url(url).database
    if not database or database == ":memory:":
        # One shared connection so an in-memory database survives between transactions.
        from sqlalchemy.pool import StaticPool

        kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    else:
        kwargs.setdefault("poolclass", NullPool if kwargs.pop("null_pool", False) else None)
        if kwargs["poolclass"] is None:
            del kwargs["poolclass"]
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine

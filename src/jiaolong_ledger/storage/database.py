"""The database seam: the only code that opens connections and transactions.

Everything above ``storage`` reaches the database through a :class:`Database`:
``reading()`` for a read connection, ``writing()`` for one write transaction (``BEGIN IMMEDIATE``
on SQLite; the caller then takes the chain-head lock), or ``writing(connection=conn)`` to work
inside a host application's own transaction, which the host commits or rolls back.

Failures are mapped here, once:

- a malformed URL (unknown dialect or driver, a port that is not a number, garbage) is
  ``INVALID_INPUT`` when the :class:`Database` is made;
- every driver or connection failure, on every read and write, is ``STORAGE_UNAVAILABLE`` with a
  message that never contains the URL's password.

A ``LedgerError`` raised inside ``writing()`` rolls the transaction back and passes through
unchanged; the one place that logs rejections is the unit of work above.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, NoSuchModuleError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from jiaolong_ledger.errors import InvalidInputError, StorageUnavailableError
from jiaolong_ledger.storage.engine import WRITE_OPTION, create_database_engine

URL_LENGTH_MAX: Final = 4_096
"""Longest database URL accepted (a libpq multi-host URL is well under this)."""

SUPPORTED_BACKENDS: Final = ("sqlite", "postgresql")


def parse_database_url(url: object) -> URL:
    """A checked SQLAlchemy URL for SQLite or PostgreSQL; anything else is ``INVALID_INPUT``."""
    if not isinstance(url, str | URL):
        raise InvalidInputError(
            f"a database URL is a string, not {type(url).__name__}", field="url"
        )
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    if not text or len(text) > URL_LENGTH_MAX or not text.isprintable():
        raise InvalidInputError(
            f"a database URL is 1 to {URL_LENGTH_MAX} printable characters", field="url"
        )
    try:
        parsed = make_url(text)
        backend = parsed.get_backend_name()
        port = parsed.port  # a non-numeric port raises here
    except (ArgumentError, ValueError) as error:
        raise InvalidInputError(
            f"malformed database URL {redact(text)!r}: {_reason(error)}; "
            "expected sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB",
            url=redact(text),
        ) from error
    if backend not in SUPPORTED_BACKENDS:
        raise InvalidInputError(
            f"unsupported database {backend!r} in {redact(text)!r}: "
            "use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB",
            url=redact(text),
        )
    if port is not None and not 0 < port < 65_536:
        raise InvalidInputError(f"port {port} is out of range", url=redact(text))
    return parsed


def redact(url: str | URL) -> str:
    """The URL as text without its password (safe for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable database URL>"


def _reason(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


class Database:
    """A SQLAlchemy engine behind the seam: connections in, typed errors out."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url = redact(engine.url)
        self._password = engine.url.password
        # SQLAlchemy wraps driver errors in DBAPIError; the hot paths use the driver's cursor
        # directly, whose errors arrive unwrapped (the dialect's DB-API module's Error).
        driver_error: type[BaseException] = getattr(engine.dialect.dbapi, "Error", DBAPIError)
        self._failures: tuple[type[BaseException], ...] = (
            DBAPIError,
            DisconnectionError,
            PoolTimeoutError,
            driver_error,
        )

    @classmethod
    def open(cls, url: str | URL, **engine_options: Any) -> Database:
        """Make the engine (no connection yet); a malformed URL is ``INVALID_INPUT``."""
        parsed = parse_database_url(url)
        try:
            engine = create_database_engine(
                parsed.render_as_string(hide_password=False), **engine_options
            )
        except (NoSuchModuleError, ImportError) as error:
            raise InvalidInputError(
                f"no database driver for {redact(parsed)!r}: {_reason(error)}",
                url=redact(parsed),
            ) from error
        except (ArgumentError, TypeError, ValueError) as error:
            raise InvalidInputError(
                f"bad database options for {redact(parsed)!r}: {_reason(error)}",
                url=redact(parsed),
            ) from error
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read connection (no writer's lock); its implicit transaction is rolled back."""
        with self.unavailable_as_error(), self.engine.connect() as connection:
            yield connection

    @contextmanager
    def writing(self, connection: Connection | None = None) -> Iterator[Connection]:
        """One write transaction, committed when the block ends without an exception.

        With ``connection`` (a host application's, already in its own transaction) the work
        joins that transaction: nothing is committed or rolled back here.
        """
        if connection is not None:
            if not connection.in_transaction():
                raise InvalidInputError(
                    "ledger.transaction(connection=...) needs a connection inside a transaction "
                    "the host application began (with connection.begin(): ...)"
                )
            with self.unavailable_as_error():
                yield connection
            return
        with (
            self.unavailable_as_error(),
            self.engine.connect() as own,
        ):
            own = own.execution_options(**{WRITE_OPTION: True})
            with own.begin():
                yield own

    @contextmanager
    def unavailable_as_error(self) -> Iterator[None]:
        """Turn a database failure raised inside the block into ``STORAGE_UNAVAILABLE``."""
        try:
            yield
        except self._failures as error:
            raise StorageUnavailableError(
                f"database unavailable at {self.url}: {self._describe(error)}",
                url=self.url,
                cause=type(getattr(error, "orig", None) or error).__name__,
            ) from error

    def _describe(self, error: BaseException) -> str:
        cause = getattr(error, "orig", None) or error
        text = " ".join(str(cause).split())[:500] or type(cause).__name__
        if self._password:
            text = text.replace(self._password, "***")
        return text


__all__ = ["URL_LENGTH_MAX", "Database", "parse_database_url", "redact"]

"""Shared CLI plumbing: the context object, output, errors, output paths, TIMESTAMP options.

Which commands may create a ledger: :data:`CREATING_COMMANDS` (``db upgrade`` and ``demo`` open
their databases themselves). Every other command is read-only: it opens an existing ledger and
refuses, creating nothing, when there is none at ``--db`` or its schema is not at head.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import click

from jiaolong_ledger import intake
from jiaolong_ledger.errors import InvalidInputError, LedgerError, OutputNotWrittenError

if TYPE_CHECKING:
    from jiaolong_ledger.ledger import Ledger
    from jiaolong_ledger.storage.database import Database

DEFAULT_DB_URL = "sqlite:///jiaolong.db"
SQLITE_HEADER: Final = b"SQLite format 3\x00"
F = TypeVar("F", bound=Callable[..., Any])

CREATING_COMMANDS: Final = frozenset(
    {
        "accounts open",
        "accounts freeze",
        "accounts unfreeze",
        "accounts close",
        "post",
        "events ingest",
        "fx import-ecb",
        "fx set-rate",
        "fx exchange",
        "fx revalue",
        "escrow expire",
        "clearing register",
        "clearing submit",
        "clearing cutoff",
        "clearing settle",
        "clearing cancel",
        "clearing set-cap",
        "financing open",
        "financing draw",
        "financing repay",
        "financing accrue",
    }
)
"""Write commands: on their first use of ``--db`` they create the database and migrate it."""

READ_ONLY_COMMANDS: Final = frozenset(
    {
        "accounts list",
        "balance",
        "trial-balance",
        "statement",
        "fx rate",
        "fx convert",
        "escrow show",
        "escrow list",
        "clearing participants",
        "clearing cycles",
        "clearing report",
        "clearing obligations",
        "clearing export-iso20022",
        "clearing export-obligations",
        "financing show",
        "journal export",
        "journal verify",
    }
)
"""Commands that only read ``--db``: they never create or migrate it. (A command in neither set
is treated as read-only; a test keeps every command classified.)"""

OWN_DATABASE_COMMANDS: Final = frozenset({"db upgrade", "db current", "demo", "journal replay"})
"""Commands that open their database themselves: ``db upgrade`` creates it, ``db current`` only
reads it (through :func:`open_existing_database`), ``demo`` makes its own file, ``journal
replay`` writes into ``--into``."""


@dataclass
class CliState:
    db_url: str = DEFAULT_DB_URL
    json: bool = False
    _ledger: Any = field(default=None, repr=False)

    def ledger(self, *, read_only: bool | None = None) -> Any:
        """The Ledger at ``--db``, opened on first use.

        A write command (``read_only=False``; by default: the running command is in
        :data:`CREATING_COMMANDS`) creates and migrates the database. Any other command opens
        an existing ledger only (:func:`open_existing_ledger`)."""
        if self._ledger is None:
            from jiaolong_ledger.ledger import Ledger

            if read_only is None:
                read_only = command_name() not in CREATING_COMMANDS
            if read_only:
                self._ledger = open_existing_ledger(self.db_url)
            else:
                self._ledger = Ledger.connect(self.db_url)
        return self._ledger


def command_name(ctx: click.Context | None = None) -> str:
    """The running subcommand's path without the program name: ``"escrow show"``."""
    ctx = ctx or click.get_current_context(silent=True)
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.command.name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


# -- an existing ledger ----------------------------------------------------------------------


def open_existing_ledger(url: str) -> Ledger:
    """The ledger at ``url`` without creating or migrating anything.

    ``INVALID_INPUT`` (exit 2) when there is no ledger there (a missing or empty SQLite file; a
    database or schema without the ledger's tables) or its schema is not at this version's head
    (``jiaolong db upgrade`` brings it there). A malformed URL is ``INVALID_INPUT`` too; a
    database that cannot be reached is ``STORAGE_UNAVAILABLE``."""
    from jiaolong_ledger.ledger import Ledger

    database = open_existing_database(url)
    try:
        _check_schema(database)
    except BaseException:
        database.dispose()
        raise
    return Ledger(database)


def open_existing_database(url: str) -> Database:
    """The database at ``url`` (no connection yet), refusing a SQLite file that does not exist
    or is empty before anything could create it (``INVALID_INPUT``, exit 2)."""
    from jiaolong_ledger.storage.database import Database, parse_database_url

    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_file(url, parsed.database, parsed.query)
    return Database.open(url)


def _no_ledger(url: str, where: str = "", **details: Any) -> InvalidInputError:
    from jiaolong_ledger.storage.database import redact

    shown = redact(url)
    return InvalidInputError(
        f"no ledger at {shown}{where}; jiaolong db upgrade creates one", url=shown, **details
    )


def _check_sqlite_file(url: str, database: str | None, query: Any) -> None:
    """A SQLite ledger is a non-empty SQLite file; look before connecting, which would create
    a missing one."""
    from jiaolong_ledger.storage.database import redact

    name = database or ""
    if str(query.get("uri", "")).lower() in ("1", "true") and name.startswith("file:"):
        name = name[len("file:") :].partition("?")[0]
    if name in ("", ":memory:"):
        raise _no_ledger(url, " (an in-memory database is always empty)")
    path = Path(name)
    where = "" if path.is_absolute() else f" ({path.resolve()})"
    if path.is_dir():
        raise InvalidInputError(
            f"{redact(url)}: {str(path)!r} is a directory, not a database file", path=str(path)
        )
    if not path.exists() or path.stat().st_size == 0:
        raise _no_ledger(url, where, path=str(path.resolve()))
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise InvalidInputError(
            f"{redact(url)}: cannot read {str(path)!r}: {error.strerror or error}", path=str(path)
        ) from None
    if header != SQLITE_HEADER:
        raise InvalidInputError(
            f"{redact(url)}: {str(path)!r} is not a SQLite database file", path=str(path)
        )


def _check_schema(database: Database) -> None:
    from sqlalchemy import inspect

    from jiaolong_ledger.storage.migrate import VERSION_TABLE, current_revision, head_revision

    with database.reading() as connection:
        has_version_table = inspect(connection).has_table(VERSION_TABLE)
    with database.unavailable_as_error():
        current = current_revision(database.engine)
    if current is None:
        raise _no_ledger(database.url)
    head = head_revision(database.engine)
    if not has_version_table or current != head:
        raise InvalidInputError(
            f"the ledger at {database.url} has schema revision {current} and this jiaolong "
            f"needs {head}: run jiaolong db upgrade first (read-only commands never migrate)",
            url=database.url,
            current=current,
            head=head,
        )


# -- context and output ----------------------------------------------------------------------


def state() -> CliState:
    ctx = click.get_current_context()
    obj = ctx.find_object(CliState)
    if obj is None:
        obj = ctx.ensure_object(CliState)
    return obj


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(CliState).json = True


def json_option(function: F) -> F:
    """``--json`` on a subcommand (the global ``jiaolong --json`` works too)."""
    return click.option(
        "--json",
        "json_output",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        is_eager=True,
        help="Print machine-readable JSON instead of a table.",
    )(function)


def emit(data: Any, human: Callable[[], None] | None = None) -> None:
    """Print ``data`` as JSON under ``--json``; otherwise call ``human`` (or print JSON)."""
    if state().json or human is None:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        human()


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> None:
    """A plain aligned table on stdout (no colours: safe to pipe)."""
    right = right or set()
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def fmt(row: list[str]) -> str:
        cells = [
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    click.echo(fmt(headers))
    click.echo("  ".join("-" * w for w in widths))
    for row in rows:
        click.echo(fmt(row))


def fail(error: LedgerError) -> None:
    click.echo(f"error: {error.code}: {error.message}", err=True)
    if state().json:
        click.echo(json.dumps({"error": error.to_dict()}, ensure_ascii=False, default=str))
    raise SystemExit(error.exit_code)


def check_output_path(path: str | Path, *, directory: bool = False) -> Path:
    """Refuse (``INVALID_INPUT``, exit 2) an output path that cannot be written, before anything
    is committed: its folder (or, with ``directory``, the folder itself) must exist and be
    writable, and a file path must not name a directory."""
    target = Path(path)
    folder = target if directory else (target.parent if str(target.parent) else Path("."))
    if not folder.is_dir():
        raise InvalidInputError(f"output folder {str(folder)!r} does not exist", path=str(target))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidInputError(f"output folder {str(folder)!r} is not writable", path=str(target))
    if not directory and target.is_dir():
        raise InvalidInputError(f"output path {str(target)!r} is a directory", path=str(target))
    if not directory and target.exists() and not os.access(target, os.W_OK):
        raise InvalidInputError(f"output file {str(target)!r} is not writable", path=str(target))
    return target


@contextmanager
def writing_after_commit(committed: str, rerender: str) -> Iterator[None]:
    """Around a file write that follows a commit: a failure says what was committed and the
    command that writes the file again (``OUTPUT_NOT_WRITTEN``, exit 3), never a traceback."""
    try:
        yield
    except OSError as error:
        raise OutputNotWrittenError(
            f"{committed}, but the file was not written ({error.strerror or error}); "
            f"write it again with: {rerender}",
            committed=committed,
            rerender=rerender,
        ) from error


class TimestampType(click.ParamType):  # type: ignore[type-arg]
    """A TIMESTAMP option under the one timestamp rule (``intake.parse_timestamp``): an offset
    or ``Z`` is required; a bare date is 00:00 UTC of that day. A refusal is ``INVALID_INPUT``
    (exit 2) naming the option."""

    name = "TIMESTAMP"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        return intake.parse_timestamp(value, _option_name(param), bare_date=True)


def _option_name(param: click.Parameter | None) -> str:
    if param is None:
        return "timestamp"
    return param.opts[0] if param.opts else (param.name or "timestamp")


TIMESTAMP = TimestampType()


def progress(iterable: Any, total: int | None, label: str) -> Any:
    """A progress bar on a terminal, nothing when piped or under --json."""
    if state().json or not sys.stderr.isatty():
        return iterable
    from rich.progress import track

    return track(
        iterable, total=total, description=label, console=_stderr_console(), transient=True
    )


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)

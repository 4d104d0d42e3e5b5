"""Run Alembic migrations programmatically (``Ledger.connect`` and ``jiaolong db``).

Alembic keeps the schema revision in ``jl_alembic_version`` (not the default
``alembic_version``), so the ledger can live in a host application's database beside the host's
own Alembic history. A database made before that change (unprefixed tables, revision in
``alembic_version``) is adopted before anything else runs: when ``alembic_version`` holds one of
this project's revisions and ``jl_alembic_version`` does not exist yet, the tables get their
``jl_`` names (``storage.legacy``) and the revision moves over, in one transaction. An
``alembic_version`` holding anyone else's revision is never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, inspect, text

from jiaolong_ledger.errors import InvalidInputError
from jiaolong_ledger.storage.legacy import adopt_legacy_tables

VERSION_TABLE = "jl_alembic_version"
LEGACY_VERSION_TABLE = "alembic_version"


def migrations_path() -> Path:
    """Top-level ``migrations/`` in a checkout; ``_migrations`` inside an installed wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_migrations", package.parent.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("jiaolong-ledger migrations are missing from this installation")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    config.attributes["engine"] = engine
    return config


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        legacy = _legacy_revision(connection, engine)
        if legacy is not None:
            return legacy
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    adopt_legacy_layout(engine)
    if revision == "head" and current_revision(engine) == head_revision(engine):
        return
    with _known_revision(revision):
        command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    adopt_legacy_layout(engine)
    with _known_revision(revision):
        command.downgrade(alembic_config(engine), revision)


def _legacy_revision(connection: Connection, engine: Engine) -> str | None:
    """This project's revision in a pre-``jl_`` ``alembic_version`` table, if that is where
    this database keeps it."""
    tables = set(inspect(connection).get_table_names())
    if LEGACY_VERSION_TABLE not in tables or VERSION_TABLE in tables:
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {LEGACY_VERSION_TABLE}")).all()
    script = ScriptDirectory.from_config(alembic_config(engine))
    ours = {revision.revision for revision in script.walk_revisions()}
    if len(rows) != 1 or rows[0][0] not in ours:
        return None
    return str(rows[0][0])


def adopt_legacy_layout(engine: Engine) -> None:
    """Bring a database of the unprefixed layout to the ``jl_`` one: tables renamed, the
    revision moved from ``alembic_version`` to ``jl_alembic_version``; all or nothing."""
    with engine.begin() as connection:
        legacy = _legacy_revision(connection, engine)
        if legacy is None:
            return
        adopt_legacy_tables(connection)
        connection.execute(
            text(
                f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
                f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))"
            )
        )
        connection.execute(
            text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:revision)"),
            {"revision": legacy},
        )
        connection.execute(text(f"DROP TABLE {LEGACY_VERSION_TABLE}"))


@contextmanager
def _known_revision(revision: str) -> Iterator[None]:
    """An unknown target revision is bad input (INVALID_INPUT), not a traceback."""
    try:
        yield
    except CommandError as error:
        raise InvalidInputError(
            f"cannot migrate to {revision!r}: {error}", revision=revision
        ) from error

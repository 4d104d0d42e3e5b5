"""Run Alembic migrations programmatically (``Ledger.connect`` and ``jiaolong db``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine

from jiaolong_ledger.errors import InvalidInputError


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
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    if revision == "head" and current_revision(engine) == head_revision(engine):
        return
    with _known_revision(revision):
        command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with _known_revision(revision):
        command.downgrade(alembic_config(engine), revision)


@contextmanager
def _known_revision(revision: str) -> Iterator[None]:
    """An unknown target revision is bad input (INVALID_INPUT), not a traceback."""
    try:
        yield
    except CommandError as error:
        raise InvalidInputError(
            f"cannot migrate to {revision!r}: {error}", revision=revision
        ) from error

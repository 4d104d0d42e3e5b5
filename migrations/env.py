"""Alembic environment: one metadata (``jiaolong_ledger.schema``), types compared, the version
kept in ``jl_alembic_version`` so the ledger can share a database with its host application."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from jiaolong_ledger.schema import metadata
from jiaolong_ledger.storage import create_database_engine
from jiaolong_ledger.storage.migrate import VERSION_TABLE

config = context.config
target_metadata = metadata


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine  # type: ignore[no-any-return]
    url = context.get_x_argument(as_dictionary=True).get("url") or "sqlite:///jiaolong.db"
    return create_database_engine(url)


def run_migrations_offline() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url") or "sqlite:///jiaolong.db"
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            version_table=VERSION_TABLE,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

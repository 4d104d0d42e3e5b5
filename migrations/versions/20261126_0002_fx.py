"""FX: the rate store (``fx_rates``) and period-end revaluation runs (``fx_revaluations``).

Revision ID: 20261126_0002
Revises: 20261126_0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jiaolong_ledger.storage.base import UTCDateTime

revision: str = "20261126_0002"
down_revision: str | None = "20261126_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jl_fx_rates",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("base", sa.String(3), nullable=False),
        sa.Column("quote", sa.String(3), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("rate", sa.String(64), nullable=False),
        sa.Column("bid", sa.String(64), nullable=True),
        sa.Column("ask", sa.String(64), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jl_fx_rates")),
        sa.UniqueConstraint("base", "quote", "as_of", "source", name=op.f("uq_jl_fx_rates_base")),
    )
    op.create_index(
        "ix_jl_fx_rates_base_quote_as_of", "jl_fx_rates", ["base", "quote", "as_of", "id"]
    )
    op.create_table(
        "jl_fx_revaluations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("reporting_currency", sa.String(3), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("entry_key", sa.String(128), nullable=True),
        sa.Column("unrealised_minor", sa.BigInteger(), nullable=False),
        sa.Column("delta_minor", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_key"],
            ["jl_journal_entries.key"],
            name=op.f("fk_jl_fx_revaluations_entry_key_jl_journal_entries"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jl_fx_revaluations")),
        sa.UniqueConstraint(
            "reporting_currency", "at", name=op.f("uq_jl_fx_revaluations_reporting_currency")
        ),
    )


def downgrade() -> None:
    op.drop_table("jl_fx_revaluations")
    op.drop_index("ix_jl_fx_rates_base_quote_as_of", table_name="jl_fx_rates")
    op.drop_table("jl_fx_rates")

"""Clearing: participants, their settlement accounts, cycles (one open at a time), obligations.

Revision ID: 20261126_0004
Revises: 20261126_0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jiaolong_ledger.storage.base import UTCDateTime

revision: str = "20261126_0004"
down_revision: str | None = "20261126_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OBLIGATION_INDEX_COLUMNS = {
    "ix_jl_clearing_obligations_by_payer": [
        "cycle_id",
        "payer_id",
        "currency",
        "settlement_currency",
        "payee_id",
        "amount_minor",
    ],
    "ix_jl_clearing_obligations_by_payee": [
        "cycle_id",
        "payee_id",
        "currency",
        "settlement_currency",
        "payer_id",
        "amount_minor",
    ],
}


def upgrade() -> None:
    op.create_table(
        "jl_clearing_participants",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("settlement_currency", sa.String(3), nullable=False),
        sa.Column("legal_name", sa.String(140), nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("iban", sa.String(34), nullable=True),
        sa.Column("bic", sa.String(11), nullable=True),
        sa.Column("other_id", sa.String(34), nullable=True),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jl_clearing_participants")),
        sa.UniqueConstraint("name", name=op.f("uq_jl_clearing_participants_name")),
    )
    op.create_table(
        "jl_clearing_participant_accounts",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("account_code", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["jl_clearing_participants.id"],
            name=op.f(
                "fk_jl_clearing_participant_accounts_participant_id_jl_clearing_participants"
            ),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "participant_id", "currency", name=op.f("pk_jl_clearing_participant_accounts")
        ),
    )
    op.create_table(
        "jl_clearing_cycles",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("cutoff_at", UTCDateTime(), nullable=True),
        sa.Column("frozen_obligations", sa.BigInteger(), nullable=True),
        sa.Column("settled_at", UTCDateTime(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jl_clearing_cycles")),
    )
    op.create_index(
        "uq_jl_clearing_cycles_one_open",
        "jl_clearing_cycles",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "jl_clearing_obligations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("reference", sa.String(128), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("first_cycle_id", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("payee_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("settlement_currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["jl_clearing_cycles.id"],
            name=op.f("fk_jl_clearing_obligations_cycle_id_jl_clearing_cycles"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["first_cycle_id"],
            ["jl_clearing_cycles.id"],
            name=op.f("fk_jl_clearing_obligations_first_cycle_id_jl_clearing_cycles"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payer_id"],
            ["jl_clearing_participants.id"],
            name=op.f("fk_jl_clearing_obligations_payer_id_jl_clearing_participants"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payee_id"],
            ["jl_clearing_participants.id"],
            name=op.f("fk_jl_clearing_obligations_payee_id_jl_clearing_participants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jl_clearing_obligations")),
        sa.UniqueConstraint("reference", name=op.f("uq_jl_clearing_obligations_reference")),
    )
    for name, columns in _OBLIGATION_INDEX_COLUMNS.items():
        op.create_index(name, "jl_clearing_obligations", columns)


def downgrade() -> None:
    for name in _OBLIGATION_INDEX_COLUMNS:
        op.drop_index(name, table_name="jl_clearing_obligations")
    op.drop_table("jl_clearing_obligations")
    op.drop_index("uq_jl_clearing_cycles_one_open", table_name="jl_clearing_cycles")
    op.drop_table("jl_clearing_cycles")
    op.drop_table("jl_clearing_participant_accounts")
    op.drop_table("jl_clearing_participants")

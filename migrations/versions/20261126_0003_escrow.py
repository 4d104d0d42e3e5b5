"""Escrow: orders with their running totals, release plan items, milestones seen.

Revision ID: 20261126_0003
Revises: 20261126_0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jiaolong_ledger.storage.base import UTCDateTime

revision: str = "20261126_0003"
down_revision: str | None = "20261126_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jl_escrow_orders",
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("buyer", sa.String(64), nullable=False),
        sa.Column("seller", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_rate", sa.String(40), nullable=True),
        sa.Column("incoterm", sa.String(3), nullable=False),
        sa.Column("shipment_id", sa.String(64), nullable=True),
        sa.Column("escrow_account", sa.String(100), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("placed_at", UTCDateTime(), nullable=False),
        sa.Column("funding_deadline", UTCDateTime(), nullable=True),
        sa.Column("release_deadline", UTCDateTime(), nullable=True),
        sa.Column("funded_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("funded_minor", sa.BigInteger(), nullable=False),
        sa.Column("released_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_charged_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("disputed", sa.Boolean(), nullable=False),
        sa.Column("dispute_id", sa.String(64), nullable=True),
        sa.Column("dispute_reason", sa.Text(), nullable=True),
        sa.Column("dispute_outcome", sa.String(10), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_jl_escrow_orders")),
        sa.UniqueConstraint("escrow_account", name=op.f("uq_jl_escrow_orders_escrow_account")),
    )
    op.create_index(op.f("ix_jl_escrow_orders_shipment_id"), "jl_escrow_orders", ["shipment_id"])
    op.create_index(op.f("ix_jl_escrow_orders_status"), "jl_escrow_orders", ["status"])
    op.create_index(
        op.f("ix_jl_escrow_orders_funding_deadline"), "jl_escrow_orders", ["funding_deadline"]
    )
    op.create_index(
        op.f("ix_jl_escrow_orders_release_deadline"), "jl_escrow_orders", ["release_deadline"]
    )
    op.create_table(
        "jl_escrow_plan_items",
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("milestone", sa.String(20), nullable=False),
        sa.Column("share", sa.String(20), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=True),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("entry_key", sa.String(128), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["jl_escrow_orders.order_id"],
            name=op.f("fk_jl_escrow_plan_items_order_id_jl_escrow_orders"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("order_id", "position", name=op.f("pk_jl_escrow_plan_items")),
    )
    op.create_table(
        "jl_escrow_milestones",
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("milestone", sa.String(20), nullable=False),
        sa.Column("reached_at", UTCDateTime(), nullable=False),
        sa.Column("location", sa.String(100), nullable=True),
        sa.Column("shipment_id", sa.String(64), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["jl_escrow_orders.order_id"],
            name=op.f("fk_jl_escrow_milestones_order_id_jl_escrow_orders"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("order_id", "milestone", name=op.f("pk_jl_escrow_milestones")),
    )


def downgrade() -> None:
    op.drop_table("jl_escrow_milestones")
    op.drop_table("jl_escrow_plan_items")
    op.drop_index(op.f("ix_jl_escrow_orders_release_deadline"), table_name="jl_escrow_orders")
    op.drop_index(op.f("ix_jl_escrow_orders_funding_deadline"), table_name="jl_escrow_orders")
    op.drop_index(op.f("ix_jl_escrow_orders_status"), table_name="jl_escrow_orders")
    op.drop_index(op.f("ix_jl_escrow_orders_shipment_id"), table_name="jl_escrow_orders")
    op.drop_table("jl_escrow_orders")

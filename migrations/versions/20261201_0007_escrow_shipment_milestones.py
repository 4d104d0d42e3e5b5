"""Escrow: the first report of each milestone of a shipment.

A shipment milestone is recorded once per (shipment, milestone), the first report winning, so a
replayed milestone changes nothing and an order placed on the shipment at or before the
milestone's time sees it whenever its ``OrderPlaced`` arrives. The table starts empty: the
milestones of ``jl_escrow_milestones`` are per order and do not tell a shipment report from one
naming the order, so none is carried over (a shipment milestone reported before this revision
is recorded here the next time it is reported).

Revision ID: 20261201_0007
Revises: 20261126_0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jiaolong_ledger.storage.base import UTCDateTime

revision: str = "20261201_0007"
down_revision: str | None = "20261126_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jl_escrow_shipment_milestones",
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("milestone", sa.String(20), nullable=False),
        sa.Column("reached_at", UTCDateTime(), nullable=False),
        sa.Column("location", sa.String(100), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "shipment_id", "milestone", name=op.f("pk_jl_escrow_shipment_milestones")
        ),
    )


def downgrade() -> None:
    op.drop_table("jl_escrow_shipment_milestones")

"""Clearing: obligation priority, net debit caps, cancellation before cut-off.

``jl_clearing_obligations`` gains ``priority`` (``urgent`` | ``normal``; existing rows are
``normal``), ``cancelled_at`` and ``cancelled_cycle_id``; ``cycle_id`` becomes nullable (a
cancelled obligation is in no cycle, so no netting, carry or cut-off sees it).
``jl_clearing_net_debit_caps`` holds each participant's cap per currency (starts empty: no cap).

Downgrade drops the caps and the cancelled obligations (they were never netted and the old schema
has no place for an obligation outside a cycle), then the new columns.

Revision ID: 20261201_0008
Revises: 20261201_0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jiaolong_ledger.storage.base import UTCDateTime

revision: str = "20261201_0008"
down_revision: str | None = "20261201_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jl_clearing_obligations") as batch:
        batch.add_column(
            sa.Column("priority", sa.String(6), nullable=False, server_default="normal")
        )
        batch.add_column(sa.Column("cancelled_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("cancelled_cycle_id", sa.Integer(), nullable=True))
        batch.alter_column("cycle_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(
            op.f("fk_jl_clearing_obligations_cancelled_cycle_id_jl_clearing_cycles"),
            "jl_clearing_cycles",
            ["cancelled_cycle_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    op.create_index(
        "ix_jl_clearing_obligations_cancelled", "jl_clearing_obligations", ["cancelled_cycle_id"]
    )
    op.create_table(
        "jl_clearing_net_debit_caps",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("cap_minor", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["jl_clearing_participants.id"],
            name=op.f("fk_jl_clearing_net_debit_caps_participant_id_jl_clearing_participants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "participant_id", "currency", name=op.f("pk_jl_clearing_net_debit_caps")
        ),
    )


def downgrade() -> None:
    op.drop_table("jl_clearing_net_debit_caps")
    op.execute("DELETE FROM jl_clearing_obligations WHERE cycle_id IS NULL")
    op.drop_index("ix_jl_clearing_obligations_cancelled", table_name="jl_clearing_obligations")
    with op.batch_alter_table("jl_clearing_obligations") as batch:
        batch.drop_constraint(
            op.f("fk_jl_clearing_obligations_cancelled_cycle_id_jl_clearing_cycles"),
            type_="foreignkey",
        )
        batch.alter_column("cycle_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("cancelled_cycle_id")
        batch.drop_column("cancelled_at")
        batch.drop_column("priority")

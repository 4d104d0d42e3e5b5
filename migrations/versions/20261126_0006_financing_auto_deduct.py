"""Financing: a facility may opt in to automatic deduction from clearing proceeds.

Revision ID: 20261126_0006
Revises: 20261126_0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261126_0006"
down_revision: str | None = "20261126_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jl_financing_facilities") as batch:
        batch.add_column(
            sa.Column("auto_deduct", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35) rather than batch mode: rebuilding the table
    # would drop a parent of jl_financing_movements' rows and fail the foreign key.
    op.drop_column("jl_financing_facilities", "auto_deduct")

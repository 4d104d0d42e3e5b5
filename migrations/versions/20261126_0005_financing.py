"""Financing: facilities with their running totals, drawdowns and repayments.

Revision ID: 20261126_0005
Revises: 20261126_0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jiaolong_ledger.storage.base import UTCDateTime

revision: str = "20261126_0005"
down_revision: str | None = "20261126_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jl_financing_facilities",
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("borrower", sa.String(64), nullable=False),
        sa.Column("lender", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("limit_minor", sa.BigInteger(), nullable=False),
        sa.Column("annual_rate", sa.String(40), nullable=False),
        sa.Column("day_count", sa.String(8), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("accrued_until", UTCDateTime(), nullable=True),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("drawn_minor", sa.BigInteger(), nullable=False),
        sa.Column("principal_repaid_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_accrued_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_numerator", sa.Text(), nullable=False),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("facility_id", name=op.f("pk_jl_financing_facilities")),
    )
    op.create_index(
        op.f("ix_jl_financing_facilities_borrower"), "jl_financing_facilities", ["borrower"]
    )
    op.create_table(
        "jl_financing_movements",
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("effective_at", UTCDateTime(), nullable=False),
        sa.Column("entry_key", sa.String(128), nullable=False),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["jl_financing_facilities.facility_id"],
            name=op.f("fk_jl_financing_movements_facility_id_jl_financing_facilities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "facility_id", "kind", "reference", name=op.f("pk_jl_financing_movements")
        ),
    )


def downgrade() -> None:
    op.drop_table("jl_financing_movements")
    op.drop_index(op.f("ix_jl_financing_facilities_borrower"), table_name="jl_financing_facilities")
    op.drop_table("jl_financing_facilities")

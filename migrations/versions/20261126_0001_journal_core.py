"""Journal core: accounts with balances, journal entries, postings, pending state, chain head.

On PostgreSQL the database itself refuses an unbalanced entry (a statement-level trigger over
the inserted postings) and refuses any UPDATE, DELETE or TRUNCATE of journal entries and
postings.

Every table of every revision carries the ``jl_`` prefix (since 2026-12-01, so the ledger can share
a database with a host application); a database made with the unprefixed names is adopted by
``jiaolong_ledger.storage.legacy`` before any revision runs.

Revision ID: 20261126_0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jiaolong_ledger.storage.base import UTCDateTime

revision: str = "20261126_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64

POSTGRES_UP = [
    """
    CREATE FUNCTION jiaolong_check_entry_balance() RETURNS trigger AS $$
    DECLARE
        bad RECORD;
    BEGIN
        SELECT entry_seq, currency INTO bad
        FROM new_postings
        GROUP BY entry_seq, currency
        HAVING SUM(CASE WHEN is_debit THEN amount_minor ELSE -amount_minor END) <> 0
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'unbalanced entry: seq % currency %', bad.entry_seq, bad.currency
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER postings_balanced_per_entry
    AFTER INSERT ON jl_postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION jiaolong_check_entry_balance()
    """,
    """
    CREATE FUNCTION jiaolong_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'the journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER journal_entries_append_only
    BEFORE UPDATE OR DELETE ON jl_journal_entries
    FOR EACH ROW EXECUTE FUNCTION jiaolong_refuse_change()
    """,
    """
    CREATE TRIGGER postings_append_only
    BEFORE UPDATE OR DELETE ON jl_postings
    FOR EACH ROW EXECUTE FUNCTION jiaolong_refuse_change()
    """,
    """
    CREATE TRIGGER journal_entries_no_truncate
    BEFORE TRUNCATE ON jl_journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION jiaolong_refuse_change()
    """,
    """
    CREATE TRIGGER postings_no_truncate
    BEFORE TRUNCATE ON jl_postings
    FOR EACH STATEMENT EXECUTE FUNCTION jiaolong_refuse_change()
    """,
]

POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS postings_no_truncate ON jl_postings",
    "DROP TRIGGER IF EXISTS journal_entries_no_truncate ON jl_journal_entries",
    "DROP TRIGGER IF EXISTS postings_append_only ON jl_postings",
    "DROP TRIGGER IF EXISTS journal_entries_append_only ON jl_journal_entries",
    "DROP FUNCTION IF EXISTS jiaolong_refuse_change()",
    "DROP TRIGGER IF EXISTS postings_balanced_per_entry ON jl_postings",
    "DROP FUNCTION IF EXISTS jiaolong_check_entry_balance()",
]


def upgrade() -> None:
    op.create_table(
        "jl_accounts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("balance_constraint", sa.String(40), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("debits_posted_minor", sa.BigInteger(), nullable=False),
        sa.Column("credits_posted_minor", sa.BigInteger(), nullable=False),
        sa.Column("debits_pending_minor", sa.BigInteger(), nullable=False),
        sa.Column("credits_pending_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jl_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_jl_accounts_code")),
    )
    op.create_table(
        "jl_journal_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("effective_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("link_key", sa.String(128), nullable=True),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_jl_journal_entries")),
        sa.UniqueConstraint("key", name=op.f("uq_jl_journal_entries_key")),
    )
    op.create_index(
        op.f("ix_jl_journal_entries_effective_at"), "jl_journal_entries", ["effective_at"]
    )
    op.create_index(op.f("ix_jl_journal_entries_link_key"), "jl_journal_entries", ["link_key"])
    op.create_table(
        "jl_postings",
        sa.Column("entry_seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("is_debit", sa.Boolean(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("is_pending", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_seq"],
            ["jl_journal_entries.seq"],
            name=op.f("fk_jl_postings_entry_seq_jl_journal_entries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["jl_accounts.id"],
            name=op.f("fk_jl_postings_account_id_jl_accounts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("entry_seq", "position", name=op.f("pk_jl_postings")),
    )
    op.create_index(
        "ix_jl_postings_account_id_entry_seq", "jl_postings", ["account_id", "entry_seq"]
    )
    op.create_table(
        "jl_pending_entries",
        sa.Column("entry_seq", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("resolved_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_seq"],
            ["jl_journal_entries.seq"],
            name=op.f("fk_jl_pending_entries_entry_seq_jl_journal_entries"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("entry_seq", name=op.f("pk_jl_pending_entries")),
        sa.UniqueConstraint("key", name=op.f("uq_jl_pending_entries_key")),
    )
    op.create_index(op.f("ix_jl_pending_entries_expires_at"), "jl_pending_entries", ["expires_at"])
    chain_head = op.create_table(
        "jl_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jl_chain_head")),
    )
    op.bulk_insert(chain_head, [{"id": 1, "last_seq": 0, "last_hash": GENESIS_HASH}])
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_DOWN:
            op.execute(statement)
    op.drop_table("jl_chain_head")
    op.drop_index(op.f("ix_jl_pending_entries_expires_at"), table_name="jl_pending_entries")
    op.drop_table("jl_pending_entries")
    op.drop_index("ix_jl_postings_account_id_entry_seq", table_name="jl_postings")
    op.drop_table("jl_postings")
    op.drop_index(op.f("ix_jl_journal_entries_link_key"), table_name="jl_journal_entries")
    op.drop_index(op.f("ix_jl_journal_entries_effective_at"), table_name="jl_journal_entries")
    op.drop_table("jl_journal_entries")
    op.drop_table("jl_accounts")

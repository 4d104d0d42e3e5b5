"""Core tables: accounts (with their running balances), the journal, postings, pending state.

``journal_entries.line`` holds the entry's exact JSON Lines form (SPEC §5) as hashed, so export
is a straight read and an auditor's recomputation sees the very bytes we hashed. The structured
columns beside it exist for queries; ``audit.verify`` checks that both agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from jiaolong_ledger.limits import ACCOUNT_CODE_LENGTH_MAX, KEY_LENGTH_MAX
from jiaolong_ledger.storage.base import Base, UTCDateTime

HASH_LENGTH = 64


class AccountRow(Base):
    __tablename__ = "jl_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(ACCOUNT_CODE_LENGTH_MAX), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    balance_constraint: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    debits_posted_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_pending_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class JournalEntryRow(Base):
    __tablename__ = "jl_journal_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH_MAX), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    link_key: Mapped[str | None] = mapped_column(String(KEY_LENGTH_MAX), index=True)
    request_digest: Mapped[str] = mapped_column(String(HASH_LENGTH))
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    line: Mapped[str] = mapped_column(Text)


class PostingRow(Base):
    __tablename__ = "jl_postings"

    entry_seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("jl_journal_entries.seq", ondelete="RESTRICT"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("jl_accounts.id", ondelete="RESTRICT")
    )
    is_debit: Mapped[bool] = mapped_column(Boolean)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    is_pending: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_jl_postings_account_id_entry_seq", "account_id", "entry_seq"),)


class PendingEntryRow(Base):
    """Mutable state of a two-phase entry; the journal itself never changes."""

    __tablename__ = "jl_pending_entries"

    entry_seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("jl_journal_entries.seq", ondelete="RESTRICT"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(KEY_LENGTH_MAX), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    state: Mapped[str] = mapped_column(String(10))
    resolved_seq: Mapped[int | None] = mapped_column(BigInteger)


class ChainHeadRow(Base):
    """One row: the last seq and hash. Writers lock it first; it is the chain's mutex."""

    __tablename__ = "jl_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


accounts = cast(Table, AccountRow.__table__)
journal_entries = cast(Table, JournalEntryRow.__table__)
postings = cast(Table, PostingRow.__table__)
pending_entries = cast(Table, PendingEntryRow.__table__)
chain_head = cast(Table, ChainHeadRow.__table__)

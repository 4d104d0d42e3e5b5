"""Clearing tables: participants, their settlement accounts, cycles and obligations.

Obligations are stored one row each and netted where they are stored: the two covering indexes
(``cycle_id, payer_id, ...`` and ``cycle_id, payee_id, ...``) let the ``GROUP BY participant,
currency`` of a cycle run as an index scan on SQLite and PostgreSQL alike. At most one cycle is
``open`` at any time (a partial unique index); submitters take that row ``FOR SHARE`` and the
cut-off takes it ``FOR UPDATE``, so an obligation lands in exactly one cycle and never in a
frozen one. A cancelled obligation leaves its cycle (``cycle_id`` NULL, ``cancelled_at`` and
``cancelled_cycle_id`` set): every netting, carry and cut-off query selects by ``cycle_id`` and
so never sees it. A settled cycle keeps its report (JSON) beside it: history does not depend on rows
that a later cycle may carry away.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, cast

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from jiaolong_ledger.limits import ACCOUNT_CODE_LENGTH_MAX, PARTICIPANT_NAME_LENGTH_MAX
from jiaolong_ledger.storage.base import Base, UTCDateTime

LEGAL_NAME_LENGTH_MAX: Final = 140
REFERENCE_LENGTH_MAX: Final = 128
IBAN_LENGTH_MAX: Final = 34
BIC_LENGTH_MAX: Final = 11
OTHER_ID_LENGTH_MAX: Final = 34

CYCLE_OPEN: Final = "open"
CYCLE_FROZEN: Final = "frozen"
CYCLE_SETTLED: Final = "settled"

PRIORITY_LENGTH_MAX: Final = 6

# SQLite only auto-increments an INTEGER PRIMARY KEY; BIGINT on PostgreSQL.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class ClearingParticipantRow(Base):
    __tablename__ = "jl_clearing_participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(PARTICIPANT_NAME_LENGTH_MAX), unique=True)
    settlement_currency: Mapped[str] = mapped_column(String(3))
    legal_name: Mapped[str | None] = mapped_column(String(LEGAL_NAME_LENGTH_MAX))
    country: Mapped[str | None] = mapped_column(String(2))
    iban: Mapped[str | None] = mapped_column(String(IBAN_LENGTH_MAX))
    bic: Mapped[str | None] = mapped_column(String(BIC_LENGTH_MAX))
    other_id: Mapped[str | None] = mapped_column(String(OTHER_ID_LENGTH_MAX))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClearingParticipantAccountRow(Base):
    """A settlement account other than the default ``participant:<name>:cash:<CCY>``."""

    __tablename__ = "jl_clearing_participant_accounts"

    participant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("jl_clearing_participants.id", ondelete="RESTRICT"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    account_code: Mapped[str] = mapped_column(String(ACCOUNT_CODE_LENGTH_MAX))


class ClearingCycleRow(Base):
    __tablename__ = "jl_clearing_cycles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(10))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cutoff_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    frozen_obligations: Mapped[int | None] = mapped_column(BigInteger)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    report: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(
            "uq_jl_clearing_cycles_one_open",
            "status",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )


class ClearingObligationRow(Base):
    __tablename__ = "jl_clearing_obligations"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(REFERENCE_LENGTH_MAX), unique=True)
    cycle_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("jl_clearing_cycles.id", ondelete="RESTRICT")
    )
    """The cycle the obligation is in; NULL once cancelled (so no cycle ever nets it)."""
    first_cycle_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("jl_clearing_cycles.id", ondelete="RESTRICT")
    )
    payer_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("jl_clearing_participants.id", ondelete="RESTRICT")
    )
    payee_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("jl_clearing_participants.id", ondelete="RESTRICT")
    )
    currency: Mapped[str] = mapped_column(String(3))
    settlement_currency: Mapped[str] = mapped_column(String(3))
    """Equal to ``currency`` unless the obligation settles in another currency at the fixing."""
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    priority: Mapped[str] = mapped_column(String(PRIORITY_LENGTH_MAX), server_default="normal")
    """``urgent`` or ``normal``: the obligation unwind defers urgent obligations last."""
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_cycle_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("jl_clearing_cycles.id", ondelete="RESTRICT")
    )
    """The (open) cycle the obligation was cancelled from."""

    __table_args__ = (
        Index("ix_jl_clearing_obligations_cancelled", "cancelled_cycle_id"),
        Index(
            "ix_jl_clearing_obligations_by_payer",
            "cycle_id",
            "payer_id",
            "currency",
            "settlement_currency",
            "payee_id",
            "amount_minor",
        ),
        Index(
            "ix_jl_clearing_obligations_by_payee",
            "cycle_id",
            "payee_id",
            "currency",
            "settlement_currency",
            "payer_id",
            "amount_minor",
        ),
    )


class ClearingNetDebitCapRow(Base):
    """A participant's risk limit: the largest net debit a cycle settles for it in a currency."""

    __tablename__ = "jl_clearing_net_debit_caps"

    participant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("jl_clearing_participants.id", ondelete="RESTRICT"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    cap_minor: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


clearing_participants = cast(Table, ClearingParticipantRow.__table__)
clearing_participant_accounts = cast(Table, ClearingParticipantAccountRow.__table__)
clearing_cycles = cast(Table, ClearingCycleRow.__table__)
clearing_obligations = cast(Table, ClearingObligationRow.__table__)
clearing_net_debit_caps = cast(Table, ClearingNetDebitCapRow.__table__)

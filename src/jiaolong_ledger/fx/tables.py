"""FX tables: the rate store and the record of period-end revaluation runs.

Rates are stored as decimal text (``rate``, ``bid``, ``ask``), never as a binary float or a
dialect-specific NUMERIC: SQLite has no exact decimal type, and the text written is the exact
normalised ``Decimal`` that was validated, so both engines give back the very same value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, cast

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jiaolong_ledger.limits import KEY_LENGTH_MAX
from jiaolong_ledger.storage.base import Base, UTCDateTime

RATE_TEXT_LENGTH_MAX: Final = 64
SOURCE_LENGTH_MAX: Final = 64


class FxRateRow(Base):
    """One quote: ``rate`` units of ``quote`` per 1 ``base``, as of ``as_of``, from ``source``."""

    __tablename__ = "jl_fx_rates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(SOURCE_LENGTH_MAX))
    rate: Mapped[str] = mapped_column(String(RATE_TEXT_LENGTH_MAX))
    bid: Mapped[str | None] = mapped_column(String(RATE_TEXT_LENGTH_MAX))
    ask: Mapped[str | None] = mapped_column(String(RATE_TEXT_LENGTH_MAX))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("base", "quote", "as_of", "source"),
        Index("ix_jl_fx_rates_base_quote_as_of", "base", "quote", "as_of", "id"),
    )


class FxRevaluationRow(Base):
    """One revaluation run per (reporting currency, instant); its entry if it posted one."""

    __tablename__ = "jl_fx_revaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reporting_currency: Mapped[str] = mapped_column(String(3))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    entry_key: Mapped[str | None] = mapped_column(
        String(KEY_LENGTH_MAX), ForeignKey("jl_journal_entries.key", ondelete="RESTRICT")
    )
    unrealised_minor: Mapped[int] = mapped_column(BigInteger)
    delta_minor: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("reporting_currency", "at"),)


fx_rates = cast(Table, FxRateRow.__table__)
fx_revaluations = cast(Table, FxRevaluationRow.__table__)

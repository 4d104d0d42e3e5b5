"""Financing tables: facilities (terms and running totals) and their drawdowns and repayments.

The money lives in the journal (``financing:loan:<facility>``, ``financing:interest:<facility>``
and, for a participant lender, ``financing:lender:<facility>``); these rows hold the terms, the
exact interest accrued so far and what has happened, written on the same connection as the
entries so both commit together. ``interest_numerator`` is the exact accrued interest in minor
units times ``basis * 10**rate_scale`` (an integer, kept as decimal text because it can exceed
64 bits): no rounding is ever lost (see ``financing.interest``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, cast

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Table, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from jiaolong_ledger.limits import PARTICIPANT_NAME_LENGTH_MAX
from jiaolong_ledger.storage.base import Base, UTCDateTime

FACILITY_ID_LENGTH_MAX: Final = 64
REFERENCE_LENGTH_MAX: Final = 64


class FinancingFacilityRow(Base):
    __tablename__ = "jl_financing_facilities"

    facility_id: Mapped[str] = mapped_column(String(FACILITY_ID_LENGTH_MAX), primary_key=True)
    borrower: Mapped[str] = mapped_column(String(PARTICIPANT_NAME_LENGTH_MAX), index=True)
    lender: Mapped[str] = mapped_column(String(PARTICIPANT_NAME_LENGTH_MAX))
    currency: Mapped[str] = mapped_column(String(3))
    limit_minor: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[str] = mapped_column(String(40))
    day_count: Mapped[str] = mapped_column(String(8))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accrued_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    principal_minor: Mapped[int] = mapped_column(BigInteger)
    drawn_minor: Mapped[int] = mapped_column(BigInteger)
    principal_repaid_minor: Mapped[int] = mapped_column(BigInteger)
    interest_accrued_minor: Mapped[int] = mapped_column(BigInteger)
    interest_paid_minor: Mapped[int] = mapped_column(BigInteger)
    interest_numerator: Mapped[str] = mapped_column(Text)
    request_digest: Mapped[str] = mapped_column(String(64))
    auto_deduct: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    """Repay from the borrower's net clearing proceeds at settlement (``clearing.settlement``)."""


class FinancingMovementRow(Base):
    """A drawdown or a repayment, under the caller's reference (its idempotency key)."""

    __tablename__ = "jl_financing_movements"

    facility_id: Mapped[str] = mapped_column(
        String(FACILITY_ID_LENGTH_MAX),
        ForeignKey("jl_financing_facilities.facility_id", ondelete="RESTRICT"),
        primary_key=True,
    )
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    reference: Mapped[str] = mapped_column(String(REFERENCE_LENGTH_MAX), primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    interest_minor: Mapped[int] = mapped_column(BigInteger)
    principal_minor: Mapped[int] = mapped_column(BigInteger)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    entry_key: Mapped[str] = mapped_column(String(128))
    request_digest: Mapped[str] = mapped_column(String(64))


financing_facilities = cast(Table, FinancingFacilityRow.__table__)
financing_movements = cast(Table, FinancingMovementRow.__table__)

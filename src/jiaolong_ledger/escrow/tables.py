"""Escrow tables: orders (the agreement and its running totals), plan items, milestones seen
by each order, and the milestones reported for each shipment.

The money itself lives in the journal (the order's ``platform:escrow:<order>`` account); these
rows hold the agreement and what has happened to it, and are written on the same connection as
the entries, so both commit together. ``escrow_orders`` totals are a cache of the journal: the
service asserts after every write that ``funded = released + refunded + remaining`` and that
``remaining`` equals the escrow account's posted balance.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, cast

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from jiaolong_ledger.limits import ACCOUNT_CODE_LENGTH_MAX, PARTICIPANT_NAME_LENGTH_MAX
from jiaolong_ledger.storage.base import Base, UTCDateTime

ORDER_ID_LENGTH_MAX: Final = 64
LOCATION_LENGTH_MAX: Final = 100
REASON_LENGTH_MAX: Final = 500


class EscrowOrderRow(Base):
    __tablename__ = "jl_escrow_orders"

    order_id: Mapped[str] = mapped_column(String(ORDER_ID_LENGTH_MAX), primary_key=True)
    buyer: Mapped[str] = mapped_column(String(PARTICIPANT_NAME_LENGTH_MAX))
    seller: Mapped[str] = mapped_column(String(PARTICIPANT_NAME_LENGTH_MAX))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    fee_rate: Mapped[str | None] = mapped_column(String(40))
    incoterm: Mapped[str] = mapped_column(String(3))
    shipment_id: Mapped[str | None] = mapped_column(String(ORDER_ID_LENGTH_MAX), index=True)
    escrow_account: Mapped[str] = mapped_column(String(ACCOUNT_CODE_LENGTH_MAX), unique=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    funding_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    release_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    funded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    funded_minor: Mapped[int] = mapped_column(BigInteger)
    released_minor: Mapped[int] = mapped_column(BigInteger)
    fee_charged_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger)
    disputed: Mapped[bool] = mapped_column(Boolean)
    dispute_id: Mapped[str | None] = mapped_column(String(ORDER_ID_LENGTH_MAX))
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    dispute_outcome: Mapped[str | None] = mapped_column(String(10))
    close_reason: Mapped[str | None] = mapped_column(Text)
    request_digest: Mapped[str] = mapped_column(String(64))


class EscrowPlanItemRow(Base):
    __tablename__ = "jl_escrow_plan_items"

    order_id: Mapped[str] = mapped_column(
        String(ORDER_ID_LENGTH_MAX),
        ForeignKey("jl_escrow_orders.order_id", ondelete="RESTRICT"),
        primary_key=True,
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    milestone: Mapped[str] = mapped_column(String(20))
    share: Mapped[str] = mapped_column(String(20))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    released: Mapped[bool] = mapped_column(Boolean)
    fee_minor: Mapped[int | None] = mapped_column(BigInteger)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    entry_key: Mapped[str | None] = mapped_column(String(128))


class EscrowMilestoneRow(Base):
    """The first time each milestone was reported for an order (later reports are duplicates)."""

    __tablename__ = "jl_escrow_milestones"

    order_id: Mapped[str] = mapped_column(
        String(ORDER_ID_LENGTH_MAX),
        ForeignKey("jl_escrow_orders.order_id", ondelete="RESTRICT"),
        primary_key=True,
    )
    milestone: Mapped[str] = mapped_column(String(20), primary_key=True)
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime())
    location: Mapped[str | None] = mapped_column(String(LOCATION_LENGTH_MAX))
    shipment_id: Mapped[str | None] = mapped_column(String(ORDER_ID_LENGTH_MAX))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EscrowShipmentMilestoneRow(Base):
    """The first report of each milestone of a shipment (later reports are duplicates): what
    an order placed on the shipment at or before ``reached_at`` sees, whenever it arrives.
    Milestones naming one order are not recorded here."""

    __tablename__ = "jl_escrow_shipment_milestones"

    shipment_id: Mapped[str] = mapped_column(String(ORDER_ID_LENGTH_MAX), primary_key=True)
    milestone: Mapped[str] = mapped_column(String(20), primary_key=True)
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime())
    location: Mapped[str | None] = mapped_column(String(LOCATION_LENGTH_MAX))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


escrow_orders = cast(Table, EscrowOrderRow.__table__)
escrow_plan_items = cast(Table, EscrowPlanItemRow.__table__)
escrow_milestones = cast(Table, EscrowMilestoneRow.__table__)
escrow_shipment_milestones = cast(Table, EscrowShipmentMilestoneRow.__table__)

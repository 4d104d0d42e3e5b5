"""What an escrow order looks like from outside: immutable snapshots for the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from moneyed import Money

from jiaolong_ledger.escrow.plan import format_share
from jiaolong_ledger.money import format_minor, minor_to_money

PLACED: Final = "placed"
"""Agreed, escrow account open, waiting for the buyer's money."""
FUNDED: Final = "funded"
"""The buyer's money is in escrow; milestones release it."""
COMPLETED: Final = "completed"
"""Every share released to the seller."""
CANCELLED: Final = "cancelled"
"""Cancelled; whatever was unreleased went back to the buyer."""
EXPIRED: Final = "expired"
"""Closed by ``expire_due``: unfunded by its funding deadline, or unreleased by its release
deadline (the remainder refunded)."""
RESOLVED: Final = "resolved"
"""A dispute was resolved: the remainder went to the seller, the buyer, or was split."""

OPEN_STATUSES: Final = (PLACED, FUNDED)
STATUSES: Final = (PLACED, FUNDED, COMPLETED, CANCELLED, EXPIRED, RESOLVED)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True, slots=True)
class MilestoneSeen:
    milestone: str
    reached_at: datetime
    location: str | None
    shipment_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "milestone": self.milestone,
            "reached_at": _time(self.reached_at),
            "location": self.location,
            "shipment_id": self.shipment_id,
        }


@dataclass(frozen=True, slots=True)
class PlanItemState:
    milestone: str
    share: Decimal
    amount_minor: int
    """Gross amount this item releases (the last item takes the remainder)."""
    released: bool
    fee_minor: int | None
    released_at: datetime | None
    entry_key: str | None

    def to_dict(self, currency: str) -> dict[str, Any]:
        return {
            "milestone": self.milestone,
            "share": format_share(self.share),
            "amount": format_minor(self.amount_minor, currency),
            "released": self.released,
            "fee": format_minor(self.fee_minor, currency) if self.fee_minor is not None else None,
            "released_at": _time(self.released_at),
            "entry_key": self.entry_key,
        }


@dataclass(frozen=True, slots=True)
class EscrowState:
    """An order's escrow: ``funded = released + refunded + remaining`` always holds.

    ``released`` is the gross amount paid out of escrow toward the seller; of it,
    ``fee_charged`` went to the platform's fee income and ``seller_received`` to the seller.
    """

    order_id: str
    status: str
    buyer: str
    seller: str
    currency: str
    incoterm: str
    shipment_id: str | None
    escrow_account: str
    amount_minor: int
    fee_minor: int
    fee_rate: str | None
    funded_minor: int
    released_minor: int
    fee_charged_minor: int
    refunded_minor: int
    disputed: bool
    dispute_id: str | None
    dispute_reason: str | None
    dispute_outcome: str | None
    close_reason: str | None
    placed_at: datetime
    funding_deadline: datetime | None
    release_deadline: datetime | None
    funded_at: datetime | None
    closed_at: datetime | None
    plan: tuple[PlanItemState, ...]
    milestones: tuple[MilestoneSeen, ...]

    @property
    def remaining_minor(self) -> int:
        return self.funded_minor - self.released_minor - self.refunded_minor

    @property
    def seller_received_minor(self) -> int:
        return self.released_minor - self.fee_charged_minor

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def milestones_seen(self) -> tuple[str, ...]:
        return tuple(seen.milestone for seen in self.milestones)

    def _money(self, minor: int) -> Money:
        return minor_to_money(minor, self.currency)

    @property
    def amount(self) -> Money:
        return self._money(self.amount_minor)

    @property
    def funded(self) -> Money:
        return self._money(self.funded_minor)

    @property
    def released(self) -> Money:
        return self._money(self.released_minor)

    @property
    def refunded(self) -> Money:
        return self._money(self.refunded_minor)

    @property
    def remaining(self) -> Money:
        return self._money(self.remaining_minor)

    @property
    def fee(self) -> Money:
        return self._money(self.fee_minor)

    @property
    def fee_charged(self) -> Money:
        return self._money(self.fee_charged_minor)

    def to_dict(self) -> dict[str, Any]:
        ccy = self.currency
        return {
            "order_id": self.order_id,
            "status": self.status,
            "buyer": self.buyer,
            "seller": self.seller,
            "currency": ccy,
            "incoterm": self.incoterm,
            "shipment_id": self.shipment_id,
            "escrow_account": self.escrow_account,
            "amount": format_minor(self.amount_minor, ccy),
            "platform_fee": format_minor(self.fee_minor, ccy),
            "platform_fee_rate": self.fee_rate,
            "funded": format_minor(self.funded_minor, ccy),
            "released": format_minor(self.released_minor, ccy),
            "fee_charged": format_minor(self.fee_charged_minor, ccy),
            "seller_received": format_minor(self.seller_received_minor, ccy),
            "refunded": format_minor(self.refunded_minor, ccy),
            "remaining": format_minor(self.remaining_minor, ccy),
            "disputed": self.disputed,
            "dispute_id": self.dispute_id,
            "dispute_reason": self.dispute_reason,
            "dispute_outcome": self.dispute_outcome,
            "close_reason": self.close_reason,
            "placed_at": _time(self.placed_at),
            "funding_deadline": _time(self.funding_deadline),
            "release_deadline": _time(self.release_deadline),
            "funded_at": _time(self.funded_at),
            "closed_at": _time(self.closed_at),
            "milestones_seen": [seen.to_dict() for seen in self.milestones],
            "release_plan": [item.to_dict(ccy) for item in self.plan],
        }


__all__ = [
    "CANCELLED",
    "COMPLETED",
    "EXPIRED",
    "FUNDED",
    "PLACED",
    "RESOLVED",
    "STATUSES",
    "EscrowState",
    "MilestoneSeen",
    "PlanItemState",
]

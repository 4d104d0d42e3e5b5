"""What clearing needs from other sub-domains, as small protocols the unit of work wires.

Clearing imports neither FX nor financing: it declares here the two services it uses, and
``unit_of_work.build_book`` hands a :class:`~jiaolong_ledger.clearing.ClearingBook` the FX book
(:class:`FixingRates`) and the financing book (:class:`Deductions`) of the same unit of work, so
fixing lookups and automatic deductions run in the settlement's own transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol


class QuotedRate(Protocol):
    """A rate found for an instant: ``rate`` units of quote per 1 base."""

    @property
    def rate(self) -> Decimal: ...

    @property
    def as_of(self) -> datetime: ...

    @property
    def source(self) -> str: ...


class FixingRates(Protocol):
    """The rate between two currencies at an instant (the FX book's ``rate``)."""

    def rate(
        self,
        base: str,
        quote: str,
        at: datetime | None = None,
        max_age: timedelta | None = None,
    ) -> QuotedRate:
        """The latest rate at or before ``at``; ``RATE_NOT_FOUND`` / ``RATE_STALE`` otherwise."""
        ...


class Deductions(Protocol):
    """Repayment of a borrower's facilities from its settlement proceeds (the financing book)."""

    def auto_deduct_borrowers(self) -> set[tuple[str, str]]:
        """``(borrower, currency)`` pairs that have a facility repaid from proceeds (one read,
        so a cycle with many receivers asks about each facility holder only)."""
        ...

    def deduct_from_proceeds(
        self, borrower: str, currency: str, amount_minor: int, *, reference: str, at: datetime
    ) -> list[tuple[str, int, int, str]]:
        """Repay at most ``amount_minor`` of what ``borrower``'s ``auto_deduct`` facilities in
        ``currency`` owe at ``at`` (bound book only). One ``(facility_id, interest_minor,
        principal_minor, entry key)`` per facility repaid."""
        ...

    def preview_deductions(
        self, borrower: str, currency: str, amount_minor: int, *, at: datetime
    ) -> list[tuple[str, int, int]]:
        """What ``deduct_from_proceeds`` would take, booking nothing (dry run):
        ``(facility_id, interest_minor, principal_minor)`` per facility."""
        ...


__all__ = ["Deductions", "FixingRates", "QuotedRate"]

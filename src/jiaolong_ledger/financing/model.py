"""Financing values: account codes, entry keys, a facility's terms, state and projected debt.

Everything here is pure: a facility is handled as its stored row (a ``dict`` of the
``financing_facilities`` columns), and nothing reads a connection or a clock.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Final

from moneyed import Money

from jiaolong_ledger.accounts.chart import check_participant_name
from jiaolong_ledger.errors import InvalidInputError
from jiaolong_ledger.financing.interest import (
    check_day_count,
    day_numerator,
    exact_interest,
    parse_rate,
    rate_fraction,
    rounded_minor,
)
from jiaolong_ledger.journal.canonical import format_timestamp
from jiaolong_ledger.money import format_minor, minor_to_money, positive_minor

PLATFORM_LENDER: Final = "platform"
"""The lender name meaning the exchange itself lends (no lender cash account is involved)."""
DRAWDOWN: Final = "drawdown"
REPAYMENT: Final = "repayment"


def loan_account(facility_id: str) -> str:
    return f"financing:loan:{facility_id.lower()}"


def interest_account(facility_id: str) -> str:
    return f"financing:interest:{facility_id.lower()}"


def lender_account(facility_id: str) -> str:
    return f"financing:lender:{facility_id.lower()}"


def interest_income_account(currency: str) -> str:
    return f"financing:interest-income:{currency}"


def interest_counterpart(row: dict[str, Any]) -> str:
    """Where a facility's interest is credited: the platform's income, or the lender's claim."""
    if row["lender"] == PLATFORM_LENDER:
        return interest_income_account(row["currency"])
    return lender_account(row["facility_id"])


def entry_key(facility_id: str, step: str) -> str:
    return f"financing/{facility_id}/{step}"


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


@dataclass(frozen=True, slots=True)
class FacilityState:
    """A facility's terms and where it stands (amounts in minor units)."""

    facility_id: str
    borrower: str
    lender: str
    currency: str
    limit_minor: int
    annual_rate: str
    day_count: str
    opened_at: datetime
    accrued_until: datetime | None
    principal_minor: int
    drawn_minor: int
    principal_repaid_minor: int
    interest_accrued_minor: int
    interest_paid_minor: int
    auto_deduct: bool
    interest_exact: Decimal

    @property
    def interest_due_minor(self) -> int:
        return self.interest_accrued_minor - self.interest_paid_minor

    @property
    def available_minor(self) -> int:
        return self.limit_minor - self.principal_minor

    def money(self, amount_minor: int) -> Money:
        return minor_to_money(amount_minor, self.currency)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        fmt = {k: v for k, v in data.items() if k.endswith("_minor")}
        for name, value in fmt.items():
            del data[name]
            data[name.removesuffix("_minor")] = format_minor(value, self.currency)
        data["interest_due"] = format_minor(self.interest_due_minor, self.currency)
        data["available"] = format_minor(self.available_minor, self.currency)
        data["interest_exact"] = str(self.interest_exact)
        data["opened_at"] = format_timestamp(self.opened_at)
        data["accrued_until"] = (
            None if self.accrued_until is None else format_timestamp(self.accrued_until)
        )
        data["accounts"] = {
            "loan": loan_account(self.facility_id),
            "interest": interest_account(self.facility_id),
            "lender": (
                interest_income_account(self.currency)
                if self.lender == PLATFORM_LENDER
                else lender_account(self.facility_id)
            ),
        }
        return data


def snapshot(row: dict[str, Any]) -> FacilityState:
    _, denominator = rate_fraction(Decimal(row["annual_rate"]), row["day_count"])
    fields = {k: v for k, v in row.items() if k not in ("interest_numerator", "request_digest")}
    exact = exact_interest(int(row["interest_numerator"]), denominator, row["currency"])
    return FacilityState(**fields, interest_exact=exact)


def projected_debt(row: dict[str, Any], at: datetime) -> tuple[int, int]:
    """``(interest due, principal)`` of a facility row once every day before ``at``'s UTC date
    is accrued, computed without booking anything (the principal is constant until then)."""
    interest_due = row["interest_accrued_minor"] - row["interest_paid_minor"]
    accrued = row["accrued_until"]
    if accrued is None:
        return interest_due, row["principal_minor"]
    days = (at.astimezone(UTC).date() - accrued.astimezone(UTC).date()).days
    if days <= 0:
        return interest_due, row["principal_minor"]
    units, denominator = rate_fraction(Decimal(row["annual_rate"]), row["day_count"])
    numerator = int(row["interest_numerator"]) + day_numerator(row["principal_minor"], units, days)
    total = rounded_minor(numerator, denominator, row["currency"])
    return total - row["interest_paid_minor"], row["principal_minor"]


def deduction_due(row: dict[str, Any], available_minor: int, at: datetime) -> tuple[int, int]:
    """``(interest, principal)`` an automatic deduction of at most ``available_minor`` takes
    from the facility at ``at``: interest accrued up to ``at``'s UTC date first, then
    principal. ``(0, 0)`` when nothing is available, nothing is due, or the facility is
    already accrued past ``at`` (a repayment could not be booked there)."""
    accrued = row["accrued_until"]
    if available_minor <= 0 or (accrued is not None and accrued > at):
        return 0, 0
    interest_due, principal = projected_debt(row, at)
    amount_minor = min(available_minor, interest_due + principal)
    if amount_minor <= 0:
        return 0, 0
    interest_minor = min(amount_minor, interest_due)
    return interest_minor, amount_minor - interest_minor


def facility_terms(
    borrower: str,
    lender: str,
    limit: Money,
    annual_rate: str | int | Decimal,
    day_count: str,
    auto_deduct: bool,
) -> dict[str, Any]:
    """A facility's validated terms (what its request digest is computed from)."""
    check_participant_name(borrower, "borrower")
    check_participant_name(lender, "lender")
    if borrower == lender:
        raise InvalidInputError("borrower and lender must differ", field="lender")
    if borrower == PLATFORM_LENDER:
        raise InvalidInputError("the platform lends; it cannot borrow", field="borrower")
    limit_minor, currency = positive_minor(limit)
    terms: dict[str, Any] = {
        "borrower": borrower,
        "lender": lender,
        "currency": currency,
        "limit_minor": limit_minor,
        "annual_rate": str(parse_rate(annual_rate)),
        "day_count": check_day_count(day_count),
    }
    if auto_deduct is not False:
        if auto_deduct is not True:
            raise InvalidInputError("auto_deduct must be true or false", field="auto_deduct")
        terms["auto_deduct"] = True  # absent when False: digests of older facilities hold
    return terms


def check_borrower(row: dict[str, Any], borrower: str | None, kind: str) -> None:
    """A caller that names the borrower (an adapter event) must name the facility's."""
    if borrower is not None and borrower != row["borrower"]:
        raise InvalidInputError(
            f"{kind}: facility {row['facility_id']!r} lends to {row['borrower']!r}, "
            f"not {borrower!r}",
            field="borrower",
            facility_id=row["facility_id"],
        )


__all__ = [
    "DRAWDOWN",
    "PLATFORM_LENDER",
    "REPAYMENT",
    "FacilityState",
    "check_borrower",
    "day_start",
    "deduction_due",
    "entry_key",
    "facility_terms",
    "interest_account",
    "interest_counterpart",
    "interest_income_account",
    "lender_account",
    "loan_account",
    "projected_debt",
    "snapshot",
]

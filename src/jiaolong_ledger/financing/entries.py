"""The journal entries a facility posts, built from its row (pure: the book posts them)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from jiaolong_ledger.financing.interest import (
    day_numerator,
    exact_interest,
    rate_fraction,
    rounded_minor,
)
from jiaolong_ledger.financing.model import (
    day_start,
    entry_key,
    interest_account,
    interest_counterpart,
)
from jiaolong_ledger.journal.entry import Entry, Posting, credit, debit
from jiaolong_ledger.money import format_minor, minor_to_money


def facility_entry(
    row: dict[str, Any],
    step: str,
    kind: str,
    postings: list[Posting],
    when: datetime,
    metadata: dict[str, str],
) -> Entry:
    """An entry of the facility under ``financing/<facility>/<step>``."""
    return Entry(
        key=entry_key(row["facility_id"], step),
        postings=postings,
        kind=kind,
        effective_at=when,
        description=(
            f"{kind} on facility {row['facility_id']} ({row['lender']} -> {row['borrower']})"
        ),
        metadata={"facility_id": row["facility_id"], **metadata},
    )


def interest_entries(
    row: dict[str, Any], first: date, until_day: date
) -> tuple[list[Entry], int, int]:
    """The interest of the days ``first`` .. ``until_day`` (exclusive) on the row's constant
    principal: one entry per day whose rounded running total moves, the new exact numerator,
    and the new rounded total accrued."""
    units, denominator = rate_fraction(Decimal(row["annual_rate"]), row["day_count"])
    numerator = int(row["interest_numerator"])
    accrued_minor = row["interest_accrued_minor"]
    ccy = row["currency"]
    counterpart = interest_counterpart(row)
    entries = []
    day = first
    while day < until_day:
        numerator += day_numerator(row["principal_minor"], units)
        total = rounded_minor(numerator, denominator, ccy)
        delta = total - accrued_minor
        assert delta >= 0, "accrued interest never decreases"
        if delta > 0:
            money = minor_to_money(delta, ccy)
            metadata = {
                "day": day.isoformat(),
                "principal": format_minor(row["principal_minor"], ccy),
                "interest_exact_total": str(exact_interest(numerator, denominator, ccy)),
            }
            postings = [
                debit(interest_account(row["facility_id"]), money),
                credit(counterpart, money),
            ]
            when = day_start(day + timedelta(days=1))
            entries.append(
                facility_entry(
                    row, f"interest/{day.isoformat()}", "interest", postings, when, metadata
                )
            )
            accrued_minor = total
        day += timedelta(days=1)
    return entries, numerator, accrued_minor


__all__ = ["facility_entry", "interest_entries"]

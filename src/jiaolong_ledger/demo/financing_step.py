"""Financing step of the demo: an exporter pre-finances production on a credit facility.

The platform opens a EUR facility for the German exporter (``auto_deduct``: clearing repays it
from the exporter's net proceeds), the exporter drew on it 30 days ago and wired the money to
its workshop (a withdrawal to the platform's bank, so the cash the clearing step trades with is
what it was), and 30 days of interest are accrued. When the clearing cycle settles and the
exporter is a net EUR receiver, its proceeds repay the facility, interest first, then principal:
the clearing report shows the deduction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from moneyed import Money

from jiaolong_ledger.accounts.chart import platform_bank
from jiaolong_ledger.demo.run import DemoContext, Participant
from jiaolong_ledger.journal.entry import Entry, credit, debit
from jiaolong_ledger.money import format_minor

FACILITY_ID: Final = "demo-prefinance"
CURRENCY: Final = "EUR"
LIMIT: Final = "20000.00"
DRAWN: Final = "5000.00"
ANNUAL_RATE: Final = "0.06"
DAYS: Final = 30
"""5,000.00 at 6% ACT/360 for 30 days: 25.00 of interest."""


def _borrower(context: DemoContext) -> Participant | None:
    eur = [p for p in context.participants if p.currency == CURRENCY]
    return next((p for p in eur if p.country == "DE"), eur[0] if eur else None)


def run(context: DemoContext) -> None:
    borrower = _borrower(context)
    if borrower is None:
        context.say("financing: no EUR participant; no facility opened")
        return
    ledger = context.ledger
    now = ledger.clock()
    drawn_at = now - timedelta(days=DAYS)
    financing = ledger.financing
    financing.open_facility(
        FACILITY_ID,
        borrower.name,
        "platform",
        Money(LIMIT, CURRENCY),
        ANNUAL_RATE,
        "ACT/360",
        at=drawn_at - timedelta(days=1),
        auto_deduct=True,
    )
    financing.draw(FACILITY_ID, Money(DRAWN, CURRENCY), reference="production", at=drawn_at)
    ledger.post(
        Entry(
            key=f"demo/financing/{borrower.name}/withdrawal",
            kind="transfer",
            description=f"{borrower.name} wires the drawdown to its workshop",
            postings=[
                debit(borrower.cash(CURRENCY), Money(DRAWN, CURRENCY)),
                credit(platform_bank(CURRENCY), Money(DRAWN, CURRENCY)),
            ],
        )
    )
    (state,) = financing.accrue(now, FACILITY_ID)
    interest = format_minor(state.interest_due_minor, CURRENCY)
    context.say(
        f"financing: facility {FACILITY_ID} for {borrower.name}: drew {DRAWN} {CURRENCY} "
        f"{DAYS} days ago at {ANNUAL_RATE} ACT/360; interest accrued {interest} {CURRENCY}; "
        "auto-deduct from clearing proceeds on"
    )
    context.results["financing"] = {
        "facility_id": FACILITY_ID,
        "borrower": borrower.name,
        "principal": format_minor(state.principal_minor, CURRENCY),
        "interest_due": interest,
    }

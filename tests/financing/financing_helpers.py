"""Shared set-up for the financing tests: one platform facility and one participant facility."""

from __future__ import annotations

from datetime import UTC, datetime

from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit

OPENED = datetime(2025, 12, 31, 12, tzinfo=UTC)
JAN_1 = datetime(2026, 1, 1, 9, tzinfo=UTC)
APR_1 = datetime(2026, 4, 1, tzinfo=UTC)  # Jan 1 .. Mar 31 = 90 days


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def deposit(ledger: Ledger, participant: str, amount: Money, key: str) -> None:
    ccy = str(amount.currency.code)
    ledger.ensure_account(f"platform:bank:{ccy}", currency=ccy, kind="asset")
    ledger.ensure_account(
        f"participant:{participant}:cash:{ccy}",
        currency=ccy,
        kind="liability",
        constraint="debits_must_not_exceed_credits",
    )
    ledger.post(
        Entry(
            key,
            [
                debit(f"platform:bank:{ccy}", amount),
                credit(f"participant:{participant}:cash:{ccy}", amount),
            ],
            effective_at=OPENED,
        )
    )


def cash_minor(ledger: Ledger, participant: str, ccy: str = "EUR") -> int:
    return ledger.balance(f"participant:{participant}:cash:{ccy}").posted_minor

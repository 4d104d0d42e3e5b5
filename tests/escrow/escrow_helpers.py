"""Escrow test helpers: a small market of funded participants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit

BUYERS = ("lodz-gallery", "duisburg-prints")
SELLERS = ("shu-brocade", "chongqing-lacquer")
DEPOSITS = {"EUR": "1000000.00", "JPY": "100000000", "KWD": "1000000.000"}
PLAN = [
    {"milestone": "departed", "share": "30"},
    {"milestone": "customs_cleared", "share": "60"},
    {"milestone": "delivered", "share": "10"},
]
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def cash(name: str, currency: str) -> str:
    return f"participant:{name}:cash:{currency}"


def open_market(ledger: Ledger, deposits: dict[str, str] = DEPOSITS) -> None:
    """Bank and cash accounts for every participant; buyers get an opening deposit."""
    with ledger.transaction() as tx:
        for currency in deposits:
            tx.ensure_account(f"platform:bank:{currency}", currency, "asset")
            for name in BUYERS + SELLERS:
                tx.ensure_account(
                    cash(name, currency), currency, "liability", "debits_must_not_exceed_credits"
                )
    ledger.post_many(
        [
            Entry(
                key=f"test/deposit/{name}/{currency}",
                postings=[
                    debit(f"platform:bank:{currency}", Money(amount, currency)),
                    credit(cash(name, currency), Money(amount, currency)),
                ],
            )
            for currency, amount in deposits.items()
            for name in BUYERS
        ]
    )

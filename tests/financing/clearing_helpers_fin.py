"""Helpers for the clearing-deduction tests (kept apart from the clearing tests' helpers)."""

from __future__ import annotations

from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit


def eur_money(amount: str) -> Money:
    return Money(amount, "EUR")


def fund_eur(ledger: Ledger, participant: str, amount: str) -> None:
    cash = f"participant:{participant}:cash:EUR"
    with ledger.transaction() as tx:
        tx.ensure_account("platform:bank:EUR", "EUR", "asset")
        tx.ensure_account(cash, "EUR", "liability", "debits_must_not_exceed_credits")
        tx.post_many(
            [
                Entry(
                    key=f"test/deposit/{participant}/{amount}",
                    postings=[
                        debit("platform:bank:EUR", eur_money(amount)),
                        credit(cash, eur_money(amount)),
                    ],
                )
            ]
        )

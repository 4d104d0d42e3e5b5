"""Helpers for the clearing tests: fund participants' settlement accounts, read balances."""

from __future__ import annotations

from collections.abc import Callable

from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit

Fund = Callable[[str, str, str], None]


def fund(ledger: Ledger, participant: str, currency: str, amount: str) -> None:
    """Deposit ``amount`` into ``participant:<p>:cash:<CCY>`` from the platform's bank."""
    cash = f"participant:{participant}:cash:{currency}"
    bank = f"platform:bank:{currency}"
    with ledger.transaction() as tx:
        tx.ensure_account(bank, currency, "asset")
        tx.ensure_account(cash, currency, "liability", "debits_must_not_exceed_credits")
        count = tx.balance(cash).credits_posted_minor
        tx.post_many(
            [
                Entry(
                    key=f"test/deposit/{participant}/{currency}/{count}/{amount}",
                    postings=[
                        debit(bank, Money(amount, currency)),
                        credit(cash, Money(amount, currency)),
                    ],
                )
            ]
        )


def posted(ledger: Ledger, participant: str, currency: str) -> int:
    """Posted balance (minor units) of the participant's default cash account; 0 if none."""
    codes = {account.code for account in ledger.accounts(prefix=f"participant:{participant}:")}
    code = f"participant:{participant}:cash:{currency}"
    return ledger.balance(code).posted_minor if code in codes else 0

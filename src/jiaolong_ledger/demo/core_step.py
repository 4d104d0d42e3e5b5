"""Core step: open the chart of accounts and fund every participant."""

from __future__ import annotations

from moneyed import Money

from jiaolong_ledger.accounts.chart import platform_bank
from jiaolong_ledger.demo.run import DemoContext
from jiaolong_ledger.journal.entry import Entry, credit, debit

OPENING_FUNDS = {
    "CNY": "2000000.00",
    "EUR": "250000.00",
    "KZT": "120000000.00",
    "LAK": "5000000000.00",
    "RUB": "20000000.00",
}


def bank_account(currency: str) -> str:
    """The exchange's own money at its settlement bank (an asset of the platform)."""
    return platform_bank(currency)


def run(context: DemoContext) -> None:
    ledger = context.ledger
    currencies = sorted({p.currency for p in context.participants})
    with ledger.transaction() as tx:
        for currency in currencies:
            tx.ensure_account(bank_account(currency), currency, "asset")
        for participant in context.participants:
            tx.ensure_account(
                participant.cash(),
                participant.currency,
                "liability",
                "debits_must_not_exceed_credits",
            )
    entries = [
        Entry(
            key=f"demo/deposit/{participant.name}",
            description=f"opening deposit of {participant.name} ({participant.city})",
            metadata={"city": participant.city, "country": participant.country},
            postings=[
                debit(
                    bank_account(participant.currency),
                    Money(OPENING_FUNDS[participant.currency], participant.currency),
                ),
                credit(
                    participant.cash(),
                    Money(OPENING_FUNDS[participant.currency], participant.currency),
                ),
            ],
        )
        for participant in context.participants
    ]
    posted = ledger.post_many(entries)
    context.say(
        f"core: opened {len(context.participants)} participants in {', '.join(currencies)}; "
        f"posted {len(posted)} opening deposits"
    )
    trial = ledger.trial_balance()
    context.results["trial_balance_balanced"] = trial.is_balanced()
    context.say(f"core: trial balance balanced per currency: {trial.is_balanced()}")

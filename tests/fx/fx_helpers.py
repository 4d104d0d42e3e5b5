"""Helpers for the FX tests: instants, funded participant accounts, table counts."""

from __future__ import annotations

from datetime import UTC, datetime

from moneyed import Money
from sqlalchemy import func, select

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.fx.tables import fx_rates, fx_revaluations
from jiaolong_ledger.money import money

FIXING = datetime(2026, 11, 25, 13, 15, tzinfo=UTC)
"""An ECB fixing instant (14:15 CET on 2026-11-25)."""
AFTERNOON = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


def cash(name: str, currency: str) -> str:
    return f"participant:{name}:cash:{currency}"


def open_cash(ledger: Ledger, name: str, currency: str, deposit: str | None = None) -> str:
    """A participant's cash account (liability, no overdraft), optionally funded."""
    code = cash(name, currency)
    ledger.ensure_account(
        code, currency=currency, kind="liability", constraint="debits_must_not_exceed_credits"
    )
    if deposit is not None:
        bank = f"platform:bank:{currency}"
        ledger.ensure_account(bank, currency=currency, kind="asset")
        ledger.post(
            Entry(
                key=f"deposit/{name}/{currency}/{deposit}",
                postings=[
                    debit(bank, money(deposit, currency)),
                    credit(code, money(deposit, currency)),
                ],
            )
        )
    return code


def count_rates(ledger: Ledger) -> int:
    with ledger.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(fx_rates)).scalar_one())


def count_revaluations(ledger: Ledger) -> int:
    with ledger.engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(fx_revaluations)).scalar_one()
        )


def journal_length(ledger: Ledger) -> int:
    return sum(1 for _ in ledger.journal_lines())


def per_currency_totals(postings: object) -> dict[str, int]:
    """Debits minus credits per currency over posted postings (zero when balanced)."""
    totals: dict[str, int] = {}
    for posting in postings:  # type: ignore[attr-defined]
        sign = 1 if posting.side == "debit" else -1
        totals[posting.currency] = totals.get(posting.currency, 0) + sign * posting.amount_minor
    return totals


__all__ = [
    "AFTERNOON",
    "FIXING",
    "Money",
    "cash",
    "count_rates",
    "count_revaluations",
    "journal_length",
    "open_cash",
    "per_currency_totals",
]

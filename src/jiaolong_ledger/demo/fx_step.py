"""FX step of the demo: the day's rates, cross-currency exchanges, a revaluation.

The ECB publishes no KZT or LAK rate (and no RUB since March 2022): those come from the
national banks' fixings, stored with ``set_rate`` under their own source names. The figures are
demo values of plausible size, not market data.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from jiaolong_ledger.demo.run import DemoContext, Participant
from jiaolong_ledger.fx.ecb import fixing_instant
from jiaolong_ledger.money import minor_to_money, round_to_minor

# Units per 1 EUR, as in the ECB file; one row per day, older day second.
ECB_COLUMNS = ("USD", "JPY", "CZK", "GBP", "PLN", "CNY", "KRW", "RUB")
ECB_DAYS = (
    ("1.0812", "162.45", "25.012", "0.8331", "4.2810", "7.8123", "1508.11", "N/A"),
    ("1.0799", "161.90", "25.034", "0.8327", "4.2855", "7.8011", "1505.62", "N/A"),
)
# (quote, rate, bid, ask, source) per 1 EUR, from the national banks.
NATIONAL_FIXINGS = (
    ("KZT", "561.40", "559.20", "563.60", "NBK (National Bank of Kazakhstan)"),
    ("LAK", "23150", "23060", "23240", "BOL (Bank of the Lao PDR)"),
    ("RUB", "97.85", "97.40", "98.30", "CBR (Bank of Russia)"),
)
# (seller's currency, fraction of opening funds sold, currency bought)
EXCHANGES = (("CNY", "0.05", "EUR"), ("KZT", "0.04", "CNY"), ("LAK", "0.02", "EUR"))


def write_ecb_file(path: Path, latest_day: date) -> Path:
    """An ECB-format CSV (trailing comma, N/A cells) for ``latest_day`` and the day before."""
    lines = ["Date," + ",".join(ECB_COLUMNS) + ","]
    for offset, values in enumerate(ECB_DAYS):
        day = latest_day - timedelta(days=offset)
        lines.append(f"{day.isoformat()}," + ",".join(values) + ",")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _seller(context: DemoContext, currency: str) -> Participant | None:
    return next((p for p in context.participants if p.currency == currency), None)


def run(context: DemoContext) -> None:
    from jiaolong_ledger.demo.core_step import OPENING_FUNDS

    ledger = context.ledger
    now = ledger.clock()
    # The latest fixing already published: yesterday's (today's may still be in the future).
    latest_day = (now - timedelta(days=1)).date()
    report = ledger.fx.import_ecb_report(
        write_ecb_file(context.out_dir / "eurofxref.csv", latest_day)
    )
    for quote, rate, bid, ask, source in NATIONAL_FIXINGS:
        ledger.fx.set_rate("EUR", quote, rate, fixing_instant(latest_day), source, bid=bid, ask=ask)
    context.say(
        f"fx: loaded {report.stored} ECB rates for {report.days} days "
        f"and {len(NATIONAL_FIXINGS)} national-bank fixings (KZT, LAK, RUB)"
    )
    exchanges = []
    for currency, fraction, target in EXCHANGES:
        seller = _seller(context, currency)
        if seller is None:
            continue
        with ledger.transaction() as tx:
            tx.ensure_account(
                seller.cash(target), target, "liability", "debits_must_not_exceed_credits"
            )
        sold = minor_to_money(
            round_to_minor(Decimal(OPENING_FUNDS[currency]) * Decimal(fraction), currency),
            currency,
        )
        posted = ledger.fx.exchange(
            f"demo/fx/{seller.name}/{currency}-{target}",
            seller.cash(),
            seller.cash(target),
            sold,
            description=f"{seller.name} sells {currency} for {target}",
        )
        fx = posted.metadata["fx"]
        bought = next(p for p in posted.postings if p.account == seller.cash(target))
        exchanges.append(
            {
                "key": posted.key,
                "sold": f"{sold.amount} {currency}",
                "bought": f"{bought.amount.amount} {target}",
                "rate": fx["rate"],
                "path": fx["path"],
                "spread": f"{fx['spread']} {target}",
            }
        )
        context.say(
            f"fx: {seller.name} sold {sold.amount} {currency} for {bought.amount.amount} "
            f"{target} (mid {fx['rate']} via {' -> '.join(fx['path'])}, spread {fx['spread']})"
        )
    revaluation = ledger.fx.revalue(now, "EUR")
    context.say(
        f"fx: positions revalued in EUR: unrealised {revaluation.unrealised.amount} EUR "
        f"(rounding residues only: no rate moved since the exchanges)"
    )
    context.results["fx"] = {
        "rates_stored": report.stored + len(NATIONAL_FIXINGS),
        "exchanges": exchanges,
        "unrealised_eur": str(revaluation.unrealised.amount),
    }

"""Clearing step of the demo: deferred-net trades, a cut-off, netting with one participant short,
settlement in one transaction, the report, and the ISO 20022 file.

Participants register with their banks' identifiers (IBAN in Germany, Poland, France and
Kazakhstan; an account number, ``Othr/Id``, in China, Laos and Russia, which have no IBAN). The
day's deferred-net orders go through the adapters (``OrderPlaced`` with ``settlement_terms:
"deferred_net"``), which hand them to ``ledger.clearing.submit_order``: each becomes an
obligation buyer -> seller and a fee obligation buyer -> platform. One participant places an
order it cannot pay for; the funding check excludes it and carries its obligations to the next
cycle. Bank identifiers are demo values with valid check digits, not real accounts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final

from jiaolong_ledger.clearing import PLATFORM, CycleReport
from jiaolong_ledger.clearing.participants import iban_check_digits
from jiaolong_ledger.clearing.render import report_lines
from jiaolong_ledger.demo.run import DemoContext, Participant
from jiaolong_ledger.errors import RateNotFoundError, RateStaleError
from jiaolong_ledger.money import format_minor

BBAN_LENGTHS: Final = {"DE": 18, "PL": 24, "FR": 23, "KZ": 16}
"""Countries with IBANs among the demo's, and their BBAN lengths (digits here)."""
FEE_RATE: Final = "0.015"
TRADE_SHARE_BASIS_POINTS: Final = (100, 400)
"""Each deferred-net order spends 1%-4% of its buyer's cash at the start of the step."""
EXCHANGE_NAME: Final = "Jiaolong Cultural Products Exchange"
SAME_CURRENCY_SHARE: Final = 0.6
"""Share of orders whose seller trades in the buyer's currency (when one does): they net."""


def _digits(seed: str, count: int) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return "".join(str(int(char, 16) % 10) for char in digest * 2)[:count]


@dataclass(frozen=True)
class BankDetails:
    country: str
    bic: str
    iban: str | None = None
    other_id: str | None = None


def _bank_details(name: str, country: str) -> BankDetails:
    bic = f"DEMO{country}22"
    if country in BBAN_LENGTHS:
        bban = _digits(name, BBAN_LENGTHS[country])
        return BankDetails(country, bic, iban=f"{country}{iban_check_digits(country, bban)}{bban}")
    return BankDetails(country, bic, other_id=_digits(name, 16))


def _register(context: DemoContext) -> None:
    clearing = context.ledger.clearing
    people = [(p.name, p.currency, f"{p.name} ({p.city})", p.country) for p in context.participants]
    for name, currency, legal_name, country in [*people, (PLATFORM, "EUR", EXCHANGE_NAME, "DE")]:
        bank = _bank_details(name, country)
        clearing.register_participant(
            name,
            currency,
            legal_name=legal_name,
            country=bank.country,
            iban=bank.iban,
            other_id=bank.other_id,
            bic=bank.bic,
        )


def _cash(context: DemoContext, participant: Participant) -> int:
    return context.ledger.balance(participant.cash()).available_minor


def _order(
    index: int, buyer: Participant, seller: Participant, amount_minor: int
) -> dict[str, Any]:
    return {
        "type": "OrderPlaced",
        "order_id": f"demo-net-{index + 1:04d}",
        "buyer": buyer.name,
        "seller": seller.name,
        "currency": buyer.currency,
        "amount": format_minor(amount_minor, buyer.currency),
        "incoterm": "CPT",
        "platform_fee_rate": FEE_RATE,
        "settlement_terms": "deferred_net",
    }


def _trades(context: DemoContext) -> tuple[list[dict[str, Any]], Participant]:
    """Random deferred-net orders, plus one the chosen participant cannot fund."""
    rng = context.rng
    people = context.participants
    cash = {p.name: _cash(context, p) for p in people}
    orders = []
    for index in range(max(8, context.orders // 3)):
        buyer, seller = rng.sample(people, 2)
        peers = [p for p in people if p.currency == buyer.currency and p is not buyer]
        if peers and rng.random() < SAME_CURRENCY_SHARE:
            seller = rng.choice(peers)
        share = rng.randint(*TRADE_SHARE_BASIS_POINTS)
        orders.append(_order(index, buyer, seller, max(1, cash[buyer.name] * share // 10_000)))
    shared = [p for p in people if sum(q.currency == p.currency for q in people) > 1]
    short = shared[-1] if shared else people[-1]
    seller = next(p for p in people if p is not short)
    orders.append(_order(len(orders), short, seller, cash[short.name] * 3 + 100))
    return orders, short


def _settle(context: DemoContext, cycle_id: int) -> CycleReport:
    """Settle valuing positions in settlement currencies when the day's rates allow it."""
    clearing = context.ledger.clearing
    try:
        clearing.settle(cycle_id, dry_run=True, convert=True)
        convert = True
    except (RateNotFoundError, RateStaleError):
        convert = False
    return clearing.settle(cycle_id, convert=convert)


def run(context: DemoContext) -> None:
    from jiaolong_ledger.adapters import ingest_many

    ledger = context.ledger
    _register(context)
    orders, short = _trades(context)
    ingest_many(ledger, orders)
    frozen = ledger.clearing.cutoff()
    context.say(
        f"clearing: {len(orders)} deferred-net orders -> {frozen.obligations} obligations "
        f"(sales and 1.5% platform fees); cycle {frozen.id} cut off"
    )
    report = _settle(context, frozen.id)
    for line in report_lines(report):
        context.say(f"  {line}" if line else "")
    iso_file = ledger.clearing.export_iso20022(report, context.out_dir)
    context.say(f"clearing: ISO 20022 pain.001.001.09 instructions written to {iso_file}")
    zero = all(
        ledger.balance(f"clearing:settlement:{s.currency}").is_zero() for s in report.currencies
    )
    context.say(f"clearing: clearing accounts back to zero: {zero}; {short.name} was made short")
    context.results["clearing"] = {
        "cycle": report.cycle_id,
        "obligations": frozen.obligations,
        "excluded": list(report.excluded),
        "carried": report.obligations_carried,
        "instructions": len(report.instructions),
        "efficiency": {
            s.currency: str(s.efficiency) if s.efficiency is not None else None
            for s in report.currencies
        },
        "iso20022": str(iso_file),
        "clearing_accounts_zero": zero,
        "deductions": [deduction.to_dict() for deduction in report.deductions],
    }

"""Conversion at the cycle's fixing rates, through the FX engine's ``ledger.fx.rate``.

Fixing (per 1 EUR): KZT 561.40, CNY 7.8123, stored one hour before the cut-off.

Obligations:
    k1 khorgos -> lyon  KZT 1,122,800.00 settling in EUR: 1,122,800.00 / 561.40 = EUR 2,000.00
    e1 lyon -> khorgos  EUR 500.00
    c1 chengdu -> lyon  CNY 781.23 (settles in CNY)
EUR positions: khorgos -2,000.00 + 500.00 = -1,500.00; lyon +2,000.00 - 500.00 = +1,500.00
CNY positions: chengdu -781.23; lyon +781.23
Valued in settlement currencies (convert=True): lyon (EUR) CNY +781.23 / 7.8123 = EUR +100.00;
chengdu (CNY) CNY -781.23 as is; khorgos (KZT) EUR -1,500.00 * 561.40 = KZT -842,100.00.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from clearing_helpers import Fund, posted
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.errors import RateNotFoundError


def _fixing(ledger: Ledger) -> None:
    as_of = ledger.clock() - timedelta(hours=1)
    ledger.fx.set_rate("EUR", "KZT", "561.40", as_of, "NBK")
    ledger.fx.set_rate("EUR", "CNY", "7.8123", as_of, "ECB")


def _obligations(ledger: Ledger, funded: Fund) -> int:
    clearing = ledger.clearing
    clearing.register_participant("khorgos", "KZT")
    clearing.register_participant("lyon", "EUR")
    clearing.register_participant("chengdu", "CNY")
    funded("khorgos", "EUR", "1500.00")
    funded("chengdu", "CNY", "1000.00")
    clearing.submit("khorgos", "lyon", Money("1122800.00", "KZT"), "k1", settlement_currency="EUR")
    clearing.submit("lyon", "khorgos", Money("500.00", "EUR"), "e1")
    clearing.submit("chengdu", "lyon", Money("781.23", "CNY"), "c1")
    return clearing.cutoff().id


def test_obligations_settle_in_their_settlement_currency(ledger: Ledger, funded: Fund) -> None:
    _fixing(ledger)
    cycle_id = _obligations(ledger, funded)
    report = ledger.clearing.settle(cycle_id, convert=True)
    nets = {(p.participant, p.currency): p.net_minor for p in report.positions}
    assert nets == {
        ("khorgos", "EUR"): -150000,
        ("lyon", "EUR"): 150000,
        ("chengdu", "CNY"): -78123,
        ("lyon", "CNY"): 78123,
    }
    eur = report.currency("EUR")
    assert (eur.gross_minor, eur.net_minor, eur.obligations) == (250000, 150000, 2)
    values = {
        (p.participant, p.currency): (p.settlement_value_minor, p.settlement_currency)
        for p in report.positions
    }
    assert values[("lyon", "CNY")] == (10000, "EUR")
    assert values[("chengdu", "CNY")] == (-78123, "CNY")
    assert values[("khorgos", "EUR")] == (-84210000, "KZT")
    assert [(r.base, r.quote) for r in report.rates] == [
        ("CNY", "EUR"),
        ("EUR", "KZT"),
        ("KZT", "EUR"),
    ]
    assert posted(ledger, "khorgos", "EUR") == 0
    assert posted(ledger, "lyon", "EUR") == 150000
    assert posted(ledger, "lyon", "CNY") == 78123
    # The stored report round-trips with its valuation and rates.
    assert ledger.clearing.report(cycle_id) == report


def test_a_missing_fixing_rate_stops_settlement_and_writes_nothing(
    ledger: Ledger, funded: Fund
) -> None:
    cycle_id = _obligations(ledger, funded)
    trial = ledger.trial_balance()
    with pytest.raises(RateNotFoundError):
        ledger.clearing.settle(cycle_id)
    assert ledger.trial_balance() == trial
    assert ledger.clearing.cycle(cycle_id).status == "frozen"
    _fixing(ledger)
    assert ledger.clearing.settle(cycle_id).currency("EUR").gross_minor == 250000

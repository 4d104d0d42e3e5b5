"""Escrow fixtures: a small market of funded participants on the ``ledger`` fixture, and
fresh markets on one fixed clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from escrow_helpers import FIXED_NOW, open_market

from jiaolong_ledger import Ledger


@pytest.fixture
def market(ledger: Ledger) -> Ledger:
    open_market(ledger)
    return ledger


@pytest.fixture
def fixed_ledgers(make_url_for: Callable[[], str]) -> Iterator[Callable[[], Ledger]]:
    """Fresh ledgers with a market, all on one fixed clock, so runs compare entry for entry."""
    opened: list[Ledger] = []

    def factory() -> Ledger:
        ledger = Ledger.connect(make_url_for(), clock=lambda: FIXED_NOW)
        opened.append(ledger)
        open_market(ledger)
        return ledger

    yield factory
    for ledger in opened:
        ledger.close()

"""Fixtures for the FX tests (helpers live in ``fx_helpers``)."""

from __future__ import annotations

import pytest
from fx_helpers import FIXING

from jiaolong_ledger import Ledger


@pytest.fixture
def eur_cny(ledger: Ledger) -> Ledger:
    """The ledger with the ECB's EUR/CNY and EUR/USD of 2026-11-25."""
    ledger.fx.set_rate("EUR", "CNY", "7.8123", FIXING, "ECB")
    ledger.fx.set_rate("EUR", "USD", "1.0812", FIXING, "ECB")
    return ledger

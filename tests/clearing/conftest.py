"""Fixtures for the clearing tests."""

from __future__ import annotations

import pytest
from clearing_helpers import Fund, fund

from jiaolong_ledger import Ledger


@pytest.fixture
def funded(ledger: Ledger) -> Fund:
    def go(participant: str, currency: str, amount: str) -> None:
        fund(ledger, participant, currency, amount)

    return go

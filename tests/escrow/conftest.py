"""Escrow fixtures: a small market of funded participants on the ``ledger`` fixture."""

from __future__ import annotations

import pytest
from escrow_helpers import open_market

from jiaolong_ledger import Ledger


@pytest.fixture
def market(ledger: Ledger) -> Ledger:
    open_market(ledger)
    return ledger

"""Escrow sub-domain (placeholder: built by its own issue).

Built only on the journal and accounts: it builds entries and hands them to the posting engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jiaolong_ledger.ledger import Ledger


class Escrow:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger


def service_for(ledger: Ledger) -> Escrow:
    return Escrow(ledger)


__all__ = ["Escrow", "service_for"]

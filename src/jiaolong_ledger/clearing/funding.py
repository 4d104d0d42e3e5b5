"""Funding check and the choice of whom the unwind excludes (pure).

Every net payer must be able to fund its debit from the available balance of its settlement
account in that currency. When some cannot, the unwind excludes ONE participant per round, the
one whose debit is least covered (largest uncovered fraction ``shortfall / debit`` over its
currencies; ties by name), then netting is recomputed. One at a time rather than every short
participant at once, because removing a defaulter can cure others: a participant short only
because it owed the defaulter is no longer short once the defaulter's obligations are gone.
The fraction is dimensionless, so participants short in different currencies compare without an
exchange rate. Loss allocation policy: defaulter pays — the excluded participant's obligations
(both directions) are carried to the next cycle; survivors settle only among themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from jiaolong_ledger.clearing.netting import Netting


@dataclass(frozen=True, slots=True)
class Shortfall:
    participant_id: int
    participant: str
    currency: str
    account: str
    required_minor: int
    available_minor: int

    @property
    def uncovered(self) -> Fraction:
        return Fraction(self.required_minor - max(self.available_minor, 0), self.required_minor)


def debits(netting: Netting) -> list[tuple[int, str, str, int]]:
    """(participant id, name, currency, required minor units) of every net payer."""
    return [
        (participant_id, position.participant, currency, -position.net_minor)
        for (participant_id, currency), position in netting.positions.items()
        if position.net_minor < 0
    ]


def shortfalls(
    netting: Netting,
    account_for: Callable[[int, str], str],
    available: Mapping[str, int],
) -> list[Shortfall]:
    """Net payers whose settlement account cannot cover the debit (missing account: 0)."""
    found = []
    for participant_id, name, currency, required in debits(netting):
        account = account_for(participant_id, currency)
        have = available.get(account, 0)
        if have < required:
            found.append(Shortfall(participant_id, name, currency, account, required, have))
    return found


def choose(found: list[Shortfall]) -> Shortfall:
    """The participant the unwind excludes this round: least covered, then by name."""
    assert found, "nothing to choose from"
    return min(found, key=lambda s: (-s.uncovered, s.participant, s.currency))

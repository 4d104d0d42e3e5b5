"""The shared chart of accounts: codes every sub-domain agrees on (docs/concepts.md).

One place builds them, so escrow, clearing, financing, the demo and the testing strategies
cannot drift apart on what a participant's cash account or the fee account is called.
"""

from __future__ import annotations


def participant_cash(participant: str, currency: str) -> str:
    """A participant's money held by the exchange (liability; may not be overdrawn)."""
    return f"participant:{participant}:cash:{currency}"


def platform_bank(currency: str) -> str:
    """The exchange's own money at its settlement bank (asset)."""
    return f"platform:bank:{currency}"


def platform_fees(currency: str) -> str:
    """Platform fee income (income)."""
    return f"platform:fees:{currency}"

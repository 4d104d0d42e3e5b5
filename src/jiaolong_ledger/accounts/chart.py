"""The shared chart of accounts: codes every sub-domain agrees on (docs/concepts.md).

One place builds them (and checks the names and ids that go into them), so escrow, clearing,
financing, the demo and the testing strategies cannot drift apart on what a participant's cash
account or the fee account is called.
"""

from __future__ import annotations

import re
from typing import Final

from jiaolong_ledger.errors import InvalidInputError
from jiaolong_ledger.limits import PARTICIPANT_NAME_LENGTH_MAX

_PARTICIPANT_RE: Final = re.compile(r"^[a-z0-9](?:[a-z0-9_.-]{0,62}[a-z0-9])?$")
_IDENTIFIER_RE: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$")


def check_participant_name(name: object, field: str = "participant") -> str:
    """A participant name is one account-code segment: ``participant:<name>:cash:<CCY>``."""
    if not isinstance(name, str) or not _PARTICIPANT_RE.fullmatch(name):
        raise InvalidInputError(
            f"{field} must be a participant name: 1-{PARTICIPANT_NAME_LENGTH_MAX} lowercase "
            f"letters, digits, '_', '.' or '-', alphanumeric at both ends; got {name!r}",
            field=field,
            participant=str(name),
        )
    return name


def check_identifier(value: object, field: str) -> str:
    """Order, shipment, facility and reference ids: 1-64 of ``[A-Za-z0-9_.-]``, alnum ends."""
    if not isinstance(value, str) or not _IDENTIFIER_RE.fullmatch(value):
        raise InvalidInputError(
            f"{field} must be 1-64 letters, digits, '_', '.' or '-' (alphanumeric at both "
            f"ends), got {value!r}",
            field=field,
        )
    return value


def participant_cash(participant: str, currency: str) -> str:
    """A participant's money held by the exchange (liability; may not be overdrawn)."""
    return f"participant:{participant}:cash:{currency}"


def platform_bank(currency: str) -> str:
    """The exchange's own money at its settlement bank (asset)."""
    return f"platform:bank:{currency}"


def platform_fees(currency: str) -> str:
    """Platform fee income (income)."""
    return f"platform:fees:{currency}"

"""Limits on identifiers that several layers share, each declared once.

The width of a stored column and the check at the door that keeps a value within it must agree,
so both read the number from here: a journal key, an account code, a participant's name.
"""

from typing import Final

KEY_LENGTH_MAX: Final = 128
"""Longest idempotency key of a journal entry (and of anything that becomes one)."""

ACCOUNT_CODE_LENGTH_MAX: Final = 100
"""Longest account code, e.g. ``participant:shu-brocade:cash:CNY``."""

PARTICIPANT_NAME_LENGTH_MAX: Final = 64
"""Longest participant name (a segment of account codes; buyer, seller, borrower, lender)."""

INGEST_BATCH_MAX: Final = 10_000
"""Most adapter events applied in one unit of work (``ingest_many``, ``events ingest``)."""

__all__ = [
    "ACCOUNT_CODE_LENGTH_MAX",
    "INGEST_BATCH_MAX",
    "KEY_LENGTH_MAX",
    "PARTICIPANT_NAME_LENGTH_MAX",
]

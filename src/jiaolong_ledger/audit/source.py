"""What the audit functions need from a ledger: read connections (nothing else, no Ledger).

A :class:`~jiaolong_ledger.ledger.Ledger` is a :class:`JournalSource`; so is anything else that
hands out read connections on a ledger's database. Reads of the journal go through
:mod:`jiaolong_ledger.journal.reads` on those connections; the audit's own checks of derived
rows (verify against a database) query the tables directly, on the same connections.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy import Connection


class JournalSource(Protocol):
    """A ledger's database, for reading: ``with source.reading() as connection: ...``."""

    def reading(self) -> AbstractContextManager[Connection]:
        """A read connection (``STORAGE_UNAVAILABLE`` on any database failure)."""
        ...


__all__ = ["JournalSource"]

"""Storage: SQLAlchemy tables, per-dialect engine setup, locking and the unit of work.

Every table of every sub-domain hangs off the one :class:`Base` here, so Alembic sees one
metadata. Amounts are ``BigInteger`` minor units named ``*_minor``; timestamps are timezone-aware
UTC (:class:`UTCDateTime` restores the zone SQLite forgets).
"""

from jiaolong_ledger.storage.base import Base, UTCDateTime
from jiaolong_ledger.storage.engine import create_database_engine, is_postgres, is_sqlite

__all__ = ["Base", "UTCDateTime", "create_database_engine", "is_postgres", "is_sqlite"]

"""The :class:`Ledger` facade: the public Python API of SPEC §3. It composes, never decides.

It opens the database through the seam (``storage.database``), brings the schema to head on
connect, and hands out units of work (``ledger.transaction()``) and the per-call books
(``ledger.escrow``, ``ledger.fx``, ``ledger.clearing``, ``ledger.financing``): each operation of
a per-call book runs in a unit of work of its own. Reads go to ``journal.reads`` on a read
connection — on the replica given as ``read_url``, when there is one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from moneyed import Money
from sqlalchemy import Connection, Engine

from jiaolong_ledger.accounts.model import Account, AccountStatus, Balance
from jiaolong_ledger.adapters import ingest as ingest_event
from jiaolong_ledger.audit.export import export_journal
from jiaolong_ledger.audit.replay import check_readable, replay
from jiaolong_ledger.audit.report import Progress, VerifyReport
from jiaolong_ledger.audit.verify_db import verify_database
from jiaolong_ledger.clearing import ClearingBook
from jiaolong_ledger.errors import InvalidEntryError
from jiaolong_ledger.escrow import EscrowBook
from jiaolong_ledger.financing import FinancingBook
from jiaolong_ledger.fx import FxBook
from jiaolong_ledger.journal import reads
from jiaolong_ledger.journal.books import Book
from jiaolong_ledger.journal.drafts import Clock, posted_entry_from_object, utc_now
from jiaolong_ledger.journal.entry import Entry, PostedEntry
from jiaolong_ledger.journal.reads import Statement, TrialBalance
from jiaolong_ledger.journal.validation import check_timestamp, raise_problems
from jiaolong_ledger.storage.database import Database
from jiaolong_ledger.storage.migrate import upgrade
from jiaolong_ledger.unit_of_work import LedgerScope, UnitOfWork, build_book

BookT = TypeVar("BookT", bound=Book)


class Ledger:
    """A double-entry settlement ledger on SQLite or PostgreSQL."""

    def __init__(
        self, database: Database, *, clock: Clock = utc_now, read_database: Database | None = None
    ) -> None:
        self.database = database
        self.read_database = read_database or database
        self.clock = clock
        # The scopes ask the ledger for the time, so a clock set later (tests) is seen by books.
        self._scope = LedgerScope(database, self._now)
        self._read_scope = LedgerScope(self.read_database, self._now)
        self._books: dict[type[Book], Book] = {}

    def _now(self) -> datetime:
        return self.clock()

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        read_url: str | None = None,
        migrate: bool = True,
        clock: Clock = utc_now,
        **engine_options: Any,
    ) -> Ledger:
        """Open the ledger at ``url`` and (by default) upgrade its schema to head.

        ``read_url``: a replica for reports, statements, balances as of an instant, export and
        verify. A malformed URL is ``INVALID_INPUT``; an unreachable database
        ``STORAGE_UNAVAILABLE``."""
        database = Database.open(url, **engine_options)
        read_database = Database.open(read_url) if read_url is not None else None
        if migrate:
            with database.unavailable_as_error():
                upgrade(database.engine)
        return cls(database, clock=clock, read_database=read_database)

    @property
    def engine(self) -> Engine:
        """The write engine (for tools and tests; the library itself goes through the seam)."""
        return self.database.engine

    def close(self) -> None:
        self.database.dispose()
        if self.read_database is not self.database:
            self.read_database.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- units of work ----------------------------------------------------------------------

    @contextmanager
    def transaction(self, connection: Connection | None = None) -> Iterator[UnitOfWork]:
        """One unit of work: everything done through it commits together or not at all.

        With ``connection`` (a host application's SQLAlchemy connection, inside a transaction
        it began), the work joins that transaction and the host commits or rolls back."""
        with self._scope.begin(connection) as unit:
            yield unit

    @contextmanager
    def reading(self, *, primary: bool = False) -> Iterator[Connection]:
        """A read connection: the replica when there is one, unless ``primary``."""
        scope = self._scope if primary else self._read_scope
        with scope.reading() as connection:
            yield connection

    def _book(self, book_type: type[BookT]) -> BookT:
        found = self._books.get(book_type)
        if found is None:
            found = build_book(book_type, self._scope, None, self._book)
            self._books[book_type] = found
        return cast(BookT, found)

    @property
    def escrow(self) -> EscrowBook:
        return self._book(EscrowBook)

    @property
    def fx(self) -> FxBook:
        return self._book(FxBook)

    @property
    def clearing(self) -> ClearingBook:
        return self._book(ClearingBook)

    @property
    def financing(self) -> FinancingBook:
        return self._book(FinancingBook)

    # -- writing ----------------------------------------------------------------------------

    def post(self, entry: Entry) -> PostedEntry:
        """Post one entry. The same key with the same content returns the original."""
        return self.post_many([entry])[0]

    def post_many(self, entries: Sequence[Entry]) -> list[PostedEntry]:
        """Post entries atomically: all or none."""
        with self.transaction() as tx:
            return tx.post_many(entries)

    def open_account(
        self, code: str, *, currency: str, kind: str, constraint: str | None = None
    ) -> Account:
        with self.transaction() as tx:
            return tx.open_account(code, currency=currency, kind=kind, constraint=constraint)

    def ensure_account(
        self, code: str, *, currency: str, kind: str, constraint: str | None = None
    ) -> Account:
        with self.transaction() as tx:
            return tx.ensure_account(code, currency, kind, constraint)

    def freeze_account(self, code: str) -> Account:
        return self._set_status(code, AccountStatus.FROZEN)

    def unfreeze_account(self, code: str) -> Account:
        return self._set_status(code, AccountStatus.OPEN)

    def close_account(self, code: str) -> Account:
        return self._set_status(code, AccountStatus.CLOSED)

    def _set_status(self, code: str, status: AccountStatus) -> Account:
        with self.transaction() as tx:
            return tx.set_account_status(code, status)

    def post_pending(self, key: str, new_key: str, amount: Money | None = None) -> PostedEntry:
        """Post a pending entry in full, or for ``amount`` (the rest is released)."""
        with self.transaction() as tx:
            return tx.post_pending(key, new_key, amount)

    def void_pending(self, key: str, new_key: str) -> PostedEntry:
        with self.transaction() as tx:
            return tx.void_pending(key, new_key)

    def expire_pending(self, now: datetime | None = None) -> list[PostedEntry]:
        """Expire every pending entry whose ``expires_at`` is at or before ``now``."""
        raise_problems(check_timestamp(now, "now"))
        with self.transaction() as tx:
            return tx.expire_pending(now or self.clock())

    def reverse(self, key: str, new_key: str) -> PostedEntry:
        """Post the mirror image of entry ``key`` under ``new_key``."""
        with self.transaction() as tx:
            return tx.reverse(key, new_key)

    def ingest(self, event: Any) -> Any:
        """Turn an adapter event (SPEC §2) into ledger effects, in one unit of work."""
        return ingest_event(self, event)

    # -- reading ----------------------------------------------------------------------------

    def account(self, code: str) -> Account:
        with self.reading(primary=True) as connection:
            return reads.account(connection, code)

    def accounts(self, prefix: str | None = None) -> list[Account]:
        with self.reading(primary=True) as connection:
            return reads.account_list(connection, prefix)

    def entry(self, key: str) -> PostedEntry:
        with self.reading(primary=True) as connection:
            return reads.entry(connection, key)

    def entries(self, start_seq: int = 1, end_seq: int | None = None) -> Iterator[PostedEntry]:
        """Stream posted entries in seq order."""
        for line in self.journal_lines(start_seq, end_seq):
            yield posted_entry_from_object(json.loads(line))

    def journal_lines(self, start_seq: int = 1, end_seq: int | None = None) -> Iterator[str]:
        """Stream the stored JSON Lines text of the journal, in seq order, memory flat."""
        with self.reading() as connection:
            yield from reads.journal_lines(connection, start_seq, end_seq)

    def balance(self, code: str, as_of: datetime | None = None) -> Balance:
        """The account's balance now, or as of ``as_of`` (by effective time) from the journal.

        A balance now is read from the primary (a caller sees its own writes); as of an
        instant, from the replica when there is one."""
        raise_problems(check_timestamp(as_of, "as_of"))
        with self.reading(primary=as_of is None) as connection:
            return reads.balance(connection, code, as_of)

    def trial_balance(self, as_of: datetime | None = None) -> TrialBalance:
        raise_problems(check_timestamp(as_of, "as_of"))
        with self.reading() as connection:
            return reads.trial_balance(connection, as_of)

    def statement(
        self, code: str, start: datetime | None = None, end: datetime | None = None
    ) -> Statement:
        """Posted movements of ``code`` with effective time in [start, end), running balance."""
        raise_problems(check_timestamp(start, "start") + check_timestamp(end, "end"))
        if start is not None and end is not None and end < start:
            raise InvalidEntryError(
                "statement end is before its start", start=str(start), end=str(end)
            )
        with self.reading() as connection:
            return reads.statement(connection, code, start, end)

    # -- audit ------------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Recompute the chain, check every entry balances, every key is unique, balances match."""
        return verify_database(self)

    def export_journal(self, path: str | Path, format: str = "jsonl", **options: Any) -> int:
        """Write the journal to ``path``; returns the number of entries written."""
        return export_journal(self, path, format=format, **options)

    @classmethod
    def replay(cls, path: str | Path, into: str, *, progress: Progress | None = None) -> Ledger:
        """Rebuild a ledger at ``into`` (empty) from an exported JSON Lines journal, verifying
        every line before it is re-enacted; returns the rebuilt ledger, open."""
        check_readable(path)  # an unreadable file creates nothing at ``into``
        ledger = cls.connect(into)
        try:
            replay(path, ledger._scope, progress=progress)
        except BaseException:
            ledger.close()
            raise
        return ledger

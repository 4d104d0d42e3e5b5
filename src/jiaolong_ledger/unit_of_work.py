"""The unit of work: one write transaction with every sub-domain's book bound to it.

``with ledger.transaction() as tx:`` yields a :class:`UnitOfWork`. Everything done through it —
``tx.post``, ``tx.post_many``, account lifecycle, two-phase and reversals, ``tx.escrow``,
``tx.fx``, ``tx.clearing``, ``tx.financing`` — runs on one database transaction, under one
writers' lock, and commits together when the block ends, or not at all when it raises.
``ledger.transaction(connection=conn)`` joins a host application's own SQLAlchemy transaction
instead: the host commits or rolls back.

This module is also where the books are wired to each other: no sub-domain imports another;
clearing declares small protocols for what it needs from FX (fixing rates) and financing
(automatic deductions from settlement proceeds), and :func:`build_book` hands it the books of
the same unit. :class:`LedgerScope` is what an unbound (per-call) book uses to open a unit of
work for one call, and the one place where rejected calls are logged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar, cast

from moneyed import Money
from sqlalchemy import Connection

from jiaolong_ledger.accounts.model import Account, AccountStatus, Balance
from jiaolong_ledger.clearing import ClearingBook
from jiaolong_ledger.errors import LedgerError
from jiaolong_ledger.escrow import EscrowBook
from jiaolong_ledger.financing import FinancingBook
from jiaolong_ledger.fx import FxBook, FxSettings
from jiaolong_ledger.journal import reads
from jiaolong_ledger.journal.books import Book
from jiaolong_ledger.journal.drafts import Clock
from jiaolong_ledger.journal.entry import Entry, PostedEntry
from jiaolong_ledger.journal.writer import Transaction
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.storage.database import Database

log = get_logger("jiaolong_ledger")

BookT = TypeVar("BookT", bound=Book)


def build_book(
    book_type: type[BookT],
    scope: LedgerScope,
    tx: Transaction | None,
    sibling: Callable[[type[Any]], Any],
) -> BookT:
    """A book of ``book_type`` on ``tx`` (None: per call), wired to its siblings."""
    book: Book
    if book_type is ClearingBook:
        book = ClearingBook(scope, tx, rates=sibling(FxBook), deductions=sibling(FinancingBook))
    elif book_type is FxBook:
        book = FxBook(scope, tx, settings=scope.fx_settings)
    else:
        book = book_type(scope, tx)
    return cast(BookT, book)


class UnitOfWork:
    """One write transaction; obtain it from ``ledger.transaction()``."""

    def __init__(self, journal: Transaction, scope: LedgerScope) -> None:
        self.journal = journal
        """The journal's single writer for this transaction."""
        self.connection: Connection = journal.connection
        self._scope = scope
        self._books: dict[type[Book], Book] = {}

    def clock(self) -> datetime:
        return self.journal.clock()

    # -- books -----------------------------------------------------------------------------

    def book(self, book_type: type[BookT]) -> BookT:
        """This unit's book of ``book_type`` (made once, wired to this unit's other books)."""
        found = self._books.get(book_type)
        if found is None:
            found = build_book(book_type, self._scope, self.journal, self.book)
            self._books[book_type] = found
        return cast(BookT, found)

    @property
    def escrow(self) -> EscrowBook:
        return self.book(EscrowBook)

    @property
    def fx(self) -> FxBook:
        return self.book(FxBook)

    @property
    def clearing(self) -> ClearingBook:
        return self.book(ClearingBook)

    @property
    def financing(self) -> FinancingBook:
        return self.book(FinancingBook)

    # -- the journal ------------------------------------------------------------------------

    def post(self, entry: Entry) -> PostedEntry:
        return self.journal.post_many([entry])[0]

    def post_many(self, entries: Sequence[Entry]) -> list[PostedEntry]:
        return self.journal.post_many(entries)

    def open_account(
        self, code: str, *, currency: str, kind: str, constraint: str | None = None
    ) -> Account:
        self.journal.open_account(code, currency, kind, constraint)
        return reads.account(self.connection, code)

    def ensure_account(
        self, code: str, currency: str, kind: str, constraint: str | None = None
    ) -> Account:
        """Open the account unless it exists with the same currency and kind."""
        self.journal.ensure_account(code, currency, kind, constraint)
        return reads.account(self.connection, code)

    def set_account_status(self, code: str, status: AccountStatus) -> Account:
        self.journal.set_account_status(code, status)
        return reads.account(self.connection, code)

    def post_pending(self, key: str, new_key: str, amount: Money | None = None) -> PostedEntry:
        return self.journal.post_pending(key, new_key, amount)

    def void_pending(self, key: str, new_key: str) -> PostedEntry:
        return self.journal.void_pending(key, new_key)

    def expire_pending(self, now: datetime) -> list[PostedEntry]:
        return self.journal.expire_pending(now)

    def reverse(self, key: str, new_key: str) -> PostedEntry:
        return self.journal.reverse(key, new_key)

    def balance(self, code: str) -> Balance:
        """The account's balance as it stands in this transaction (its own writes included)."""
        return self.journal.account(code).balance()


class LedgerScope:
    """Opens units of work and read connections on one database; implements ``Scope``."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self._clock = clock
        self.fx_settings = FxSettings()

    def clock(self) -> datetime:
        return self._clock()

    @contextmanager
    def begin(self, connection: Connection | None = None) -> Iterator[UnitOfWork]:
        """A unit of work on a transaction of its own, or inside the host's ``connection``."""
        try:
            with self.database.writing(connection) as writing:
                yield UnitOfWork(Transaction(writing, self._clock), self)
        except LedgerError as error:
            # The one place rejections are logged: an info event keeps the audit trail.
            log.info("rejected", code=error.code, message=error.message, **_loggable(error))
            raise

    @contextmanager
    def unit_for(self, book_type: type[BookT]) -> Iterator[BookT]:
        with self.begin() as unit:
            yield unit.book(book_type)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.database.reading() as connection:
            yield connection


def _loggable(error: LedgerError) -> dict[str, Any]:
    # "code" and "message" are the event's own fields: a detail of that name (an account code)
    # is logged as detail_code rather than colliding with them.
    return {
        (f"detail_{key}" if key in ("code", "message") else key): value
        for key, value in error.details.items()
        if key not in ("problems", "event")
    }


__all__ = ["LedgerScope", "UnitOfWork", "build_book"]

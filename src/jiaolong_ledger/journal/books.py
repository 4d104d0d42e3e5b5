"""What every sub-domain's book stands on: a unit of work, or a scope that opens one per call.

A *book* (``EscrowBook``, ``FxBook``, ``ClearingBook``, ``FinancingBook``) holds one sub-domain's
rules. Each operation is declared once, as a method of the book, and works two ways:

- bound to a unit of work (``with ledger.transaction() as tx: tx.escrow.place(...)``): it runs
  on that unit's journal :class:`~jiaolong_ledger.journal.writer.Transaction`, and commits or
  rolls back with everything else done in the unit;
- per call (``ledger.escrow.place(...)``): the book is unbound and the :func:`operation`
  decorator opens a unit of work for that one call, through the :class:`Scope`.

Reads go through :meth:`Book.reading`: the unit's own connection when bound (so a book sees its
own uncommitted writes), else a read connection from the database seam. The scope is a
Protocol, implemented by the unit of work layer above, so nothing here imports upwards.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Concatenate, ParamSpec, Protocol, Self, TypeVar

from sqlalchemy import Connection

from jiaolong_ledger.journal.writer import Transaction

P = ParamSpec("P")
R = TypeVar("R")
BookT = TypeVar("BookT", bound="Book")


class Scope(Protocol):
    """How an unbound book reaches the database (implemented by the unit of work layer)."""

    def clock(self) -> datetime:
        """Now, in UTC (the ledger's clock)."""
        ...

    def unit_for(self, book_type: type[BookT]) -> AbstractContextManager[BookT]:
        """Open a unit of work and give its book of ``book_type``; commit when the block ends."""
        ...

    def reading(self) -> AbstractContextManager[Connection]:
        """A read connection (``STORAGE_UNAVAILABLE`` on any database failure)."""
        ...


class Book:
    """Base of a sub-domain's book: bound to a journal transaction (``tx``) or per call."""

    def __init__(self, scope: Scope, tx: Transaction | None = None) -> None:
        self.scope = scope
        self._tx = tx

    @property
    def bound(self) -> bool:
        return self._tx is not None

    @property
    def tx(self) -> Transaction:
        """The journal transaction of the unit of work this book is bound to."""
        assert self._tx is not None, "a write reached an unbound book: mark it @operation"
        return self._tx

    @property
    def connection(self) -> Connection:
        return self.tx.connection

    def now(self) -> datetime:
        return self._tx.clock() if self._tx is not None else self.scope.clock()

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """This book inside one unit of work: itself when bound, else a new unit of work."""
        if self._tx is not None:
            yield self
            return
        with self.scope.unit_for(type(self)) as bound:
            yield bound

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """The unit's own connection when bound (sees its writes), else a read connection."""
        if self._tx is not None:
            yield self._tx.connection
            return
        with self.scope.reading() as connection:
            yield connection


def operation(
    method: Callable[Concatenate[BookT, P], R],
) -> Callable[Concatenate[BookT, P], R]:
    """Declare a write of a book: run in the bound unit of work, or per call in one of its own."""

    @functools.wraps(method)
    def run(self: BookT, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if self.bound:
            return method(self, *args, **kwargs)
        with self.transaction() as book:
            return method(book, *args, **kwargs)

    return run


__all__ = ["Book", "Scope", "operation"]

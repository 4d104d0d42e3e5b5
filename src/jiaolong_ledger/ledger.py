"""The :class:`Ledger` facade: the public Python API of SPEC §3.

It owns the SQLAlchemy engine, brings the schema to head on connect, and opens one
:class:`~jiaolong_ledger.journal.engine.Transaction` per write call. Sub-domains (escrow, fx,
clearing, financing) hang off it as attributes and write through ``ledger.transaction()`` so
their own rows commit with the entries they produce.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moneyed import Money
from sqlalchemy import Connection, Engine, and_, case, func, not_, or_, select
from sqlalchemy.exc import OperationalError

from jiaolong_ledger.accounts.model import Account, AccountStatus, Balance
from jiaolong_ledger.errors import (
    AccountNotFoundError,
    InvalidEntryError,
    LedgerError,
    StorageUnavailableError,
)
from jiaolong_ledger.journal.engine import Clock, Transaction, posted_entry_from_object, utc_now
from jiaolong_ledger.journal.entry import Entry, PostedEntry
from jiaolong_ledger.journal.validation import check_timestamp, raise_problems
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import format_minor
from jiaolong_ledger.storage.engine import WRITE_OPTION, create_database_engine
from jiaolong_ledger.storage.tables import accounts, journal_entries, postings

if TYPE_CHECKING:
    from jiaolong_ledger.audit.verify import VerifyReport
    from jiaolong_ledger.clearing import Clearing
    from jiaolong_ledger.escrow import Escrow
    from jiaolong_ledger.financing import Financing
    from jiaolong_ledger.fx import FX

log = get_logger("jiaolong_ledger")


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    account: str
    currency: str
    kind: str
    debits_minor: int
    credits_minor: int

    @property
    def balance_minor(self) -> int:
        """Signed by the account's normal side."""
        from jiaolong_ledger.accounts.model import is_debit_normal

        net = self.debits_minor - self.credits_minor
        return net if is_debit_normal(self.kind) else -net

    def to_dict(self) -> dict[str, str]:
        return {
            "account": self.account,
            "currency": self.currency,
            "kind": self.kind,
            "debits": format_minor(self.debits_minor, self.currency),
            "credits": format_minor(self.credits_minor, self.currency),
            "balance": format_minor(self.balance_minor, self.currency),
        }


@dataclass(frozen=True, slots=True)
class TrialBalance:
    rows: tuple[TrialBalanceRow, ...]
    totals: dict[str, tuple[int, int]]
    """Per currency: (total debits, total credits) in minor units; always equal."""

    def is_balanced(self) -> bool:
        return all(debits == credits for debits, credits in self.totals.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [row.to_dict() for row in self.rows],
            "totals": {
                currency: {
                    "debits": format_minor(debits, currency),
                    "credits": format_minor(credits, currency),
                }
                for currency, (debits, credits) in sorted(self.totals.items())
            },
            "balanced": self.is_balanced(),
        }


@dataclass(frozen=True, slots=True)
class StatementLine:
    seq: int
    key: str
    kind: str
    effective_at: datetime
    description: str
    side: str
    amount_minor: int
    balance_minor: int
    currency: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "key": self.key,
            "kind": self.kind,
            "effective_at": self.effective_at.isoformat(),
            "description": self.description,
            "side": self.side,
            "amount": format_minor(self.amount_minor, self.currency),
            "balance": format_minor(self.balance_minor, self.currency),
        }


@dataclass(frozen=True, slots=True)
class Statement:
    account: str
    currency: str
    opening_minor: int
    closing_minor: int
    lines: tuple[StatementLine, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "currency": self.currency,
            "opening": format_minor(self.opening_minor, self.currency),
            "closing": format_minor(self.closing_minor, self.currency),
            "lines": [line.to_dict() for line in self.lines],
        }


class Ledger:
    """A double-entry settlement ledger on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        self._subdomains: dict[str, Any] = {}

    @classmethod
    def connect(
        cls, url: str, *, migrate: bool = True, clock: Clock = utc_now, **engine_options: Any
    ) -> Ledger:
        """Open the ledger at ``url`` and (by default) upgrade its schema to head."""
        try:
            engine = create_database_engine(url, **engine_options)
            if migrate:
                from jiaolong_ledger.storage.migrate import upgrade

                upgrade(engine)
        except OperationalError as error:
            raise StorageUnavailableError(
                f"cannot open the database: {error.orig}", url=_redact(url)
            ) from error
        return cls(engine, clock=clock)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One atomic write: everything done through the yielded Transaction commits together."""
        try:
            with self.engine.connect() as connection:
                connection = connection.execution_options(**{WRITE_OPTION: True})
                with connection.begin():
                    yield Transaction(connection, self.clock)
        except LedgerError as error:
            # Expected failures are the caller's to report; an info event keeps the audit trail.
            log.info("rejected", code=error.code, message=error.message, **_loggable(error.details))
            raise
        except OperationalError as error:
            raise StorageUnavailableError(f"database unavailable: {error.orig}") from error

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A read connection; a lost database is STORAGE_UNAVAILABLE, as for writes."""
        try:
            with self.engine.connect() as connection:
                yield connection
        except OperationalError as error:
            raise StorageUnavailableError(f"database unavailable: {error.orig}") from error

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
            tx.open_account(code, currency, kind, constraint)
        return self.account(code)

    def ensure_account(
        self, code: str, *, currency: str, kind: str, constraint: str | None = None
    ) -> Account:
        with self.transaction() as tx:
            tx.ensure_account(code, currency, kind, constraint)
        return self.account(code)

    def freeze_account(self, code: str) -> Account:
        return self._set_status(code, AccountStatus.FROZEN)

    def unfreeze_account(self, code: str) -> Account:
        return self._set_status(code, AccountStatus.OPEN)

    def close_account(self, code: str) -> Account:
        return self._set_status(code, AccountStatus.CLOSED)

    def _set_status(self, code: str, status: AccountStatus) -> Account:
        with self.transaction() as tx:
            tx.set_account_status(code, status)
        return self.account(code)

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

    # -- reading -------------------------------------------------------------------------

    def account(self, code: str) -> Account:
        with self._reading() as connection:
            row = connection.execute(select(accounts).where(accounts.c.code == code)).first()
        if row is None:
            raise AccountNotFoundError(f"no account {code!r}", account=code)
        return _account(row)

    def accounts(self, prefix: str | None = None) -> list[Account]:
        query = select(accounts).order_by(accounts.c.code)
        if prefix:
            query = query.where(accounts.c.code.startswith(prefix, autoescape=True))
        with self._reading() as connection:
            return [_account(row) for row in connection.execute(query)]

    def entry(self, key: str) -> PostedEntry:
        from jiaolong_ledger.errors import EntryNotFoundError

        with self._reading() as connection:
            line = connection.execute(
                select(journal_entries.c.line).where(journal_entries.c.key == key)
            ).scalar()
        if line is None:
            raise EntryNotFoundError(f"no entry {key!r}", key=key)
        return posted_entry_from_object(json.loads(line))

    def entries(self, start_seq: int = 1, end_seq: int | None = None) -> Iterator[PostedEntry]:
        """Stream posted entries in seq order."""
        for line in self.journal_lines(start_seq, end_seq):
            yield posted_entry_from_object(json.loads(line))

    def journal_lines(self, start_seq: int = 1, end_seq: int | None = None) -> Iterator[str]:
        """Stream the stored JSON Lines text of the journal, in seq order, memory flat."""
        query = (
            select(journal_entries.c.line)
            .where(journal_entries.c.seq >= start_seq)
            .order_by(journal_entries.c.seq)
        )
        if end_seq is not None:
            query = query.where(journal_entries.c.seq <= end_seq)
        with self._reading() as connection:
            result = connection.execution_options(stream_results=True, yield_per=5_000).execute(
                query
            )
            for row in result:
                yield row.line

    def balance(self, code: str, as_of: datetime | None = None) -> Balance:
        """The account's balance now, or as of ``as_of`` (by effective time) from the journal."""
        raise_problems(check_timestamp(as_of, "as_of"))
        with self._reading() as connection:
            row = connection.execute(select(accounts).where(accounts.c.code == code)).first()
            if row is None:
                raise AccountNotFoundError(f"no account {code!r}", account=code)
            if as_of is None:
                return Balance(
                    row.code,
                    row.currency,
                    row.kind,
                    row.debits_posted_minor,
                    row.credits_posted_minor,
                    row.debits_pending_minor,
                    row.credits_pending_minor,
                )
            sums = _sums_as_of(connection, as_of, account_id=row.id).get(row.id, (0, 0, 0, 0))
            return Balance(row.code, row.currency, row.kind, *sums)

    def trial_balance(self, as_of: datetime | None = None) -> TrialBalance:
        raise_problems(check_timestamp(as_of, "as_of"))
        with self._reading() as connection:
            account_rows = connection.execute(select(accounts).order_by(accounts.c.code)).all()
            sums = _sums_as_of(connection, as_of) if as_of is not None else None
        rows = []
        totals: dict[str, tuple[int, int]] = {}
        for row in account_rows:
            if sums is None:
                debits, credits = row.debits_posted_minor, row.credits_posted_minor
            else:
                debits, credits = sums.get(row.id, (0, 0, 0, 0))[:2]
            rows.append(TrialBalanceRow(row.code, row.currency, row.kind, debits, credits))
            total = totals.get(row.currency, (0, 0))
            totals[row.currency] = (total[0] + debits, total[1] + credits)
        return TrialBalance(tuple(rows), totals)

    def statement(
        self, code: str, start: datetime | None = None, end: datetime | None = None
    ) -> Statement:
        """Posted movements of ``code`` with effective time in [start, end), running balance."""
        raise_problems(check_timestamp(start, "start") + check_timestamp(end, "end"))
        if start is not None and end is not None and end < start:
            raise InvalidEntryError(
                "statement end is before its start", start=str(start), end=str(end)
            )
        account = self.account(code)
        opening = 0
        if start is not None:
            with self._reading() as connection:
                account_id = connection.execute(
                    select(accounts.c.id).where(accounts.c.code == code)
                ).scalar_one()
                sums = _sums_as_of(connection, start, account_id, strictly_before=True)
            debits, credits = sums.get(account_id, (0, 0, 0, 0))[:2]
            opening = Balance(
                code, account.currency, account.kind, debits, credits, 0, 0
            ).posted_minor
        query = (
            select(
                journal_entries.c.seq,
                journal_entries.c.key,
                journal_entries.c.kind,
                journal_entries.c.effective_at,
                journal_entries.c.line,
                postings.c.is_debit,
                postings.c.amount_minor,
            )
            .join(postings, postings.c.entry_seq == journal_entries.c.seq)
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(accounts.c.code == code, postings.c.is_pending.is_(False))
            .order_by(journal_entries.c.effective_at, journal_entries.c.seq, postings.c.position)
        )
        if start is not None:
            query = query.where(journal_entries.c.effective_at >= start)
        if end is not None:
            query = query.where(journal_entries.c.effective_at < end)
        from jiaolong_ledger.accounts.model import is_debit_normal

        sign = 1 if is_debit_normal(account.kind) else -1
        running = opening
        lines = []
        with self._reading() as connection:
            for row in connection.execute(query):
                delta = row.amount_minor if row.is_debit else -row.amount_minor
                running += sign * delta
                description = json.loads(row.line)["description"]
                lines.append(
                    StatementLine(
                        row.seq,
                        row.key,
                        row.kind,
                        row.effective_at,
                        description,
                        "debit" if row.is_debit else "credit",
                        row.amount_minor,
                        running,
                        account.currency,
                    )
                )
        return Statement(code, account.currency, opening, running, tuple(lines))

    # -- audit ---------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Recompute the chain, check every entry balances, every key is unique, balances match."""
        from jiaolong_ledger.audit.verify import verify_database

        return verify_database(self)

    def export_journal(self, path: str | Path, format: str = "jsonl", **options: Any) -> int:
        """Write the journal to ``path``; returns the number of entries written."""
        from jiaolong_ledger.audit.export import export_journal

        return export_journal(self, path, format=format, **options)

    @classmethod
    def replay(cls, path: str | Path, into: str) -> Ledger:
        """Rebuild a ledger at ``into`` from an exported JSON Lines journal, verifying it."""
        from jiaolong_ledger.audit.replay import replay

        return replay(path, into)

    def ingest(self, event: Any) -> Any:
        """Turn an adapter event (SPEC §2) into ledger effects."""
        from jiaolong_ledger.adapters import ingest

        return ingest(self, event)

    # -- sub-domains ---------------------------------------------------------------------

    def _subdomain(self, name: str) -> Any:
        if name not in self._subdomains:
            import importlib

            module = importlib.import_module(f"jiaolong_ledger.{name}")
            self._subdomains[name] = module.service_for(self)
        return self._subdomains[name]

    @property
    def escrow(self) -> Escrow:
        return self._subdomain("escrow")  # type: ignore[no-any-return]

    @property
    def fx(self) -> FX:
        return self._subdomain("fx")  # type: ignore[no-any-return]

    @property
    def clearing(self) -> Clearing:
        return self._subdomain("clearing")  # type: ignore[no-any-return]

    @property
    def financing(self) -> Financing:
        return self._subdomain("financing")  # type: ignore[no-any-return]


def _account(row: Any) -> Account:
    return Account(
        code=row.code,
        currency=row.currency,
        kind=row.kind,
        constraint=row.balance_constraint,
        status=AccountStatus(row.status),
        opened_at=row.opened_at,
    )


def _sums_as_of(
    connection: Any,
    as_of: datetime,
    account_id: int | None = None,
    *,
    strictly_before: bool = False,
) -> dict[int, tuple[int, int, int, int]]:
    """Per account: posted debits/credits and still-pending debits/credits as of ``as_of``.

    ``as_of`` is inclusive (entries effective at that instant count) unless ``strictly_before``.
    """
    resolution = journal_entries.alias("resolution")
    resolved_by_then = (
        select(resolution.c.seq)
        .where(
            resolution.c.link_key == journal_entries.c.key,
            resolution.c.kind.in_(("post_pending", "void_pending", "expire_pending")),
            resolution.c.effective_at <= as_of,
        )
        .exists()
    )
    amount = postings.c.amount_minor
    is_debit = postings.c.is_debit
    is_pending = postings.c.is_pending
    query = (
        select(
            postings.c.account_id,
            func.sum(case((and_(~is_pending, is_debit), amount), else_=0)),
            func.sum(case((and_(~is_pending, ~is_debit), amount), else_=0)),
            func.sum(case((and_(is_pending, is_debit), amount), else_=0)),
            func.sum(case((and_(is_pending, ~is_debit), amount), else_=0)),
        )
        .join(journal_entries, journal_entries.c.seq == postings.c.entry_seq)
        .where(
            journal_entries.c.effective_at < as_of
            if strictly_before
            else journal_entries.c.effective_at <= as_of
        )
        .where(or_(~is_pending, not_(resolved_by_then)))
        .group_by(postings.c.account_id)
    )
    if account_id is not None:
        query = query.where(postings.c.account_id == account_id)
    return {
        row[0]: (int(row[1] or 0), int(row[2] or 0), int(row[3] or 0), int(row[4] or 0))
        for row in connection.execute(query)
    }


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _loggable(details: dict[str, Any]) -> dict[str, Any]:
    # "code" and "message" are the event's own fields: a detail of that name (an account code)
    # is logged as detail_code rather than colliding with them.
    return {
        (f"detail_{key}" if key in ("code", "message") else key): value
        for key, value in details.items()
        if key not in ("problems", "event")
    }

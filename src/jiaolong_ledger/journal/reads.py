"""Every read of the journal and the balances: the one read model.

Balances, balances as of an instant, trial balance, statements, entries and the stored JSON
Lines are read here and nowhere else; sub-domains read balances only through these functions.
Each takes a SQLAlchemy ``Connection`` (a read connection from the database seam, or the
connection of a write transaction when a book reads inside its own unit of work).

"As of" reads are answered from the journal, by effective time: posted postings effective at or
before the instant, plus pending postings not yet resolved (posted, voided or expired) by then.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, and_, case, func, not_, or_, select

from jiaolong_ledger.accounts.model import Account, AccountStatus, Balance, is_debit_normal
from jiaolong_ledger.errors import AccountNotFoundError, EntryNotFoundError
from jiaolong_ledger.journal.drafts import posted_entry_from_object
from jiaolong_ledger.journal.entry import PostedEntry
from jiaolong_ledger.money import format_minor
from jiaolong_ledger.storage.tables import accounts, journal_entries, postings

READ_CHUNK_SIZE: Final = 2_000
"""Largest IN-list sent in one read (SQLite's bound-variable limit is the binding one)."""

STREAM_BATCH_SIZE: Final = 5_000
"""Rows fetched per round trip when streaming the journal."""

RESOLUTION_KINDS: Final = ("post_pending", "void_pending", "expire_pending")

Sums = tuple[int, int, int, int]
"""(debits posted, credits posted, debits pending, credits pending) in minor units."""


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


# -- accounts and current balances ---------------------------------------------------------


def _account(row: Any) -> Account:
    return Account(
        code=row.code,
        currency=row.currency,
        kind=row.kind,
        constraint=row.balance_constraint,
        status=AccountStatus(row.status),
        opened_at=row.opened_at,
    )


def _stored_balance(row: Any) -> Balance:
    return Balance(
        row.code,
        row.currency,
        row.kind,
        int(row.debits_posted_minor),
        int(row.credits_posted_minor),
        int(row.debits_pending_minor),
        int(row.credits_pending_minor),
    )


def _account_row(connection: Connection, code: str) -> Any:
    row = connection.execute(select(accounts).where(accounts.c.code == code)).first()
    if row is None:
        raise AccountNotFoundError(f"no account {code!r}", account=code)
    return row


def account(connection: Connection, code: str) -> Account:
    return _account(_account_row(connection, code))


def account_list(connection: Connection, prefix: str | None = None) -> list[Account]:
    query = select(accounts).order_by(accounts.c.code)
    if prefix:
        query = query.where(accounts.c.code.startswith(prefix, autoescape=True))
    return [_account(row) for row in connection.execute(query)]


def balances(connection: Connection, codes: Iterable[str]) -> dict[str, Balance]:
    """Current stored balances of the accounts named (unknown codes are absent)."""
    wanted = sorted(set(codes))
    found: dict[str, Balance] = {}
    for start in range(0, len(wanted), READ_CHUNK_SIZE):
        chunk = wanted[start : start + READ_CHUNK_SIZE]
        for row in connection.execute(select(accounts).where(accounts.c.code.in_(chunk))):
            found[row.code] = _stored_balance(row)
    return found


def balance(connection: Connection, code: str, as_of: datetime | None = None) -> Balance:
    """The account's balance now, or as of ``as_of`` (by effective time) from the journal."""
    row = _account_row(connection, code)
    if as_of is None:
        return _stored_balance(row)
    sums = sums_as_of(connection, as_of, account_id=row.id).get(row.id, (0, 0, 0, 0))
    return Balance(row.code, row.currency, row.kind, *sums)


def stored_balance_columns(connection: Connection) -> dict[str, tuple[str, Sums]]:
    """Every account's status and stored balance columns, in one read."""
    query = select(
        accounts.c.code,
        accounts.c.status,
        accounts.c.debits_posted_minor,
        accounts.c.credits_posted_minor,
        accounts.c.debits_pending_minor,
        accounts.c.credits_pending_minor,
    )
    return {
        row[0]: (row[1], (int(row[2]), int(row[3]), int(row[4]), int(row[5])))
        for row in connection.execute(query)
    }


# -- balances from the journal ---------------------------------------------------------------


def sums_as_of(
    connection: Connection,
    as_of: datetime,
    account_id: int | None = None,
    *,
    strictly_before: bool = False,
) -> dict[int, Sums]:
    """Per account id: posted debits/credits and still-pending debits/credits as of ``as_of``.

    ``as_of`` is inclusive (entries effective at that instant count) unless ``strictly_before``.
    """
    resolution = journal_entries.alias("resolution")
    resolved_by_then = (
        select(resolution.c.seq)
        .where(
            resolution.c.link_key == journal_entries.c.key,
            resolution.c.kind.in_(RESOLUTION_KINDS),
            resolution.c.effective_at <= as_of,
        )
        .exists()
    )
    amount = postings.c.amount_minor
    is_debit = postings.c.is_debit
    is_pending = postings.c.is_pending
    effective = journal_entries.c.effective_at
    query = (
        select(
            postings.c.account_id,
            func.sum(case((and_(~is_pending, is_debit), amount), else_=0)),
            func.sum(case((and_(~is_pending, ~is_debit), amount), else_=0)),
            func.sum(case((and_(is_pending, is_debit), amount), else_=0)),
            func.sum(case((and_(is_pending, ~is_debit), amount), else_=0)),
        )
        .join(journal_entries, journal_entries.c.seq == postings.c.entry_seq)
        .where(effective < as_of if strictly_before else effective <= as_of)
        .where(or_(~is_pending, not_(resolved_by_then)))
        .group_by(postings.c.account_id)
    )
    if account_id is not None:
        query = query.where(postings.c.account_id == account_id)
    return {
        row[0]: (int(row[1] or 0), int(row[2] or 0), int(row[3] or 0), int(row[4] or 0))
        for row in connection.execute(query)
    }


def posted_net_by_currency(
    connection: Connection, code_prefix: str, as_of: datetime
) -> dict[str, int]:
    """Posted debits minus credits, per currency, of the accounts whose code starts with
    ``code_prefix``, over entries effective at or before ``as_of``."""
    signed = case((postings.c.is_debit, postings.c.amount_minor), else_=-postings.c.amount_minor)
    query = (
        select(accounts.c.currency, func.sum(signed))
        .select_from(postings)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .join(journal_entries, journal_entries.c.seq == postings.c.entry_seq)
        .where(accounts.c.code.startswith(code_prefix, autoescape=True))
        .where(postings.c.is_pending.is_(False))
        .where(journal_entries.c.effective_at <= as_of)
        .group_by(accounts.c.currency)
    )
    return {row[0]: int(row[1] or 0) for row in connection.execute(query)}


def trial_balance(connection: Connection, as_of: datetime | None = None) -> TrialBalance:
    account_rows = connection.execute(select(accounts).order_by(accounts.c.code)).all()
    sums = sums_as_of(connection, as_of) if as_of is not None else None
    rows = []
    totals: dict[str, tuple[int, int]] = {}
    for row in account_rows:
        if sums is None:
            debits, credits = int(row.debits_posted_minor), int(row.credits_posted_minor)
        else:
            debits, credits = sums.get(row.id, (0, 0, 0, 0))[:2]
        rows.append(TrialBalanceRow(row.code, row.currency, row.kind, debits, credits))
        total = totals.get(row.currency, (0, 0))
        totals[row.currency] = (total[0] + debits, total[1] + credits)
    return TrialBalance(tuple(rows), totals)


def statement(
    connection: Connection, code: str, start: datetime | None, end: datetime | None
) -> Statement:
    """Posted movements of ``code`` with effective time in [start, end), running balance."""
    row = _account_row(connection, code)
    sign = 1 if is_debit_normal(row.kind) else -1
    opening = 0
    if start is not None:
        sums = sums_as_of(connection, start, row.id, strictly_before=True)
        debits, credits = sums.get(row.id, (0, 0, 0, 0))[:2]
        opening = sign * (debits - credits)
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
        .where(postings.c.account_id == row.id, postings.c.is_pending.is_(False))
        .order_by(journal_entries.c.effective_at, journal_entries.c.seq, postings.c.position)
    )
    if start is not None:
        query = query.where(journal_entries.c.effective_at >= start)
    if end is not None:
        query = query.where(journal_entries.c.effective_at < end)
    running = opening
    lines = []
    for line in connection.execute(query):
        running += sign * (line.amount_minor if line.is_debit else -line.amount_minor)
        lines.append(
            StatementLine(
                line.seq,
                line.key,
                line.kind,
                line.effective_at,
                json.loads(line.line)["description"],
                "debit" if line.is_debit else "credit",
                line.amount_minor,
                running,
                row.currency,
            )
        )
    return Statement(code, row.currency, opening, running, tuple(lines))


# -- entries ----------------------------------------------------------------------------------


def entry_or_none(connection: Connection, key: str) -> PostedEntry | None:
    line = connection.execute(
        select(journal_entries.c.line).where(journal_entries.c.key == key)
    ).scalar()
    return None if line is None else posted_entry_from_object(json.loads(line))


def entry(connection: Connection, key: str) -> PostedEntry:
    found = entry_or_none(connection, key)
    if found is None:
        raise EntryNotFoundError(f"no entry {key!r}", key=key)
    return found


def entries_by_key(connection: Connection, keys: Iterable[str]) -> Mapping[str, PostedEntry]:
    wanted = sorted(set(keys))
    found: dict[str, PostedEntry] = {}
    for start in range(0, len(wanted), READ_CHUNK_SIZE):
        chunk = wanted[start : start + READ_CHUNK_SIZE]
        query = select(journal_entries.c.key, journal_entries.c.line).where(
            journal_entries.c.key.in_(chunk)
        )
        for key, line in connection.execute(query):
            found[key] = posted_entry_from_object(json.loads(line))
    return found


def journal_lines(
    connection: Connection, start_seq: int = 1, end_seq: int | None = None
) -> Iterator[str]:
    """The stored JSON Lines text of the journal, in seq order, streamed (memory flat)."""
    query = (
        select(journal_entries.c.line)
        .where(journal_entries.c.seq >= start_seq)
        .order_by(journal_entries.c.seq)
    )
    if end_seq is not None:
        query = query.where(journal_entries.c.seq <= end_seq)
    # Per-statement options: Connection.execution_options() would change the caller's
    # connection itself (a unit of work's, whose next INSERT must not become a cursor).
    options = {"stream_results": True, "yield_per": STREAM_BATCH_SIZE}
    for row in connection.execute(query, execution_options=options):
        yield row.line


__all__ = [
    "Statement",
    "StatementLine",
    "Sums",
    "TrialBalance",
    "TrialBalanceRow",
    "account",
    "account_list",
    "balance",
    "balances",
    "entries_by_key",
    "entry",
    "entry_or_none",
    "journal_lines",
    "posted_net_by_currency",
    "statement",
    "stored_balance_columns",
    "sums_as_of",
    "trial_balance",
]

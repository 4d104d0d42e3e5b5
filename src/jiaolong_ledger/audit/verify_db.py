"""Verification against a database: the chain of stored lines plus everything derived from it.

The stored lines are what was hashed; every other row (journal columns, postings, balances,
pending state, accounts, chain head) is derived data that an attacker with database access
could edit without touching the lines. Each is checked against the lines here:

1. one streaming query joins each entry's line with its columns and posting rows (seq order);
   the line goes through :class:`JournalChecker` and the columns/rows are compared with it (a
   stored line emptied or edited into what the intake rules refuse is ``JOURNAL_TAMPERED`` of
   kind ``MALFORMED_LINE`` at its seq, and its rows are not compared with it);
2. per account, stored posted and pending balances against the sums of postings (pending ones
   only while their pending entry is unresolved in the journal), in one aggregate query;
3. the pending-state table against the journal's pending and resolving entries;
4. the accounts table against the account records replayed from the journal;
5. the chain head row against the last entry.

A disagreement in 1-5 means the stored journal differs from what was written: it is a
``JOURNAL_TAMPERED`` finding with the check's name as its ``kind`` detail (``ROW_MISMATCH``,
``BALANCE_MISMATCH``, ``SEQ_BROKEN``, ``HEAD_MISMATCH``), naming the seq concerned, or the
account when there is none (a balance or account row edited on its own).

Everything is read on the source's read connections (``source.reading()``); the stored lines
through :mod:`jiaolong_ledger.journal.reads`, the derived rows by the queries here.

Concurrent writers only append, and the stream is bounded by the chain head read first, so a
verification running beside writers checks a consistent prefix; each aggregate check is one
statement (one snapshot); the accounts-table check is skipped, and says so, if the head moved.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import Connection, Select, and_, case, exists, func, select

from jiaolong_ledger.audit.checker import JournalChecker
from jiaolong_ledger.audit.keys import KeyResolver
from jiaolong_ledger.audit.report import (
    BALANCE_MISMATCH,
    HEAD_MISMATCH,
    JOURNAL_TAMPERED,
    ROW_MISMATCH,
    SEQ_BROKEN,
    Progress,
    VerifyReport,
)
from jiaolong_ledger.audit.source import JournalSource
from jiaolong_ledger.audit.verify import _identity, _resolver
from jiaolong_ledger.journal import reads
from jiaolong_ledger.journal.canonical import format_timestamp
from jiaolong_ledger.journal.entry import TWO_PHASE_KINDS
from jiaolong_ledger.money import format_minor
from jiaolong_ledger.storage.tables import (
    accounts,
    chain_head,
    journal_entries,
    pending_entries,
    postings,
)

ENTRIES_PER_BATCH: Final = 2_000
STREAM_ROWS: Final = 5_000
"""Rows fetched per round trip of the streaming entry query."""
COLUMN_NAMES: Final = (
    "seq",
    "key",
    "kind",
    "status",
    "effective_at",
    "recorded_at",
    "link_key",
    "prev_hash",
    "hash",
)
_PENDING_STATE_OF: Final = {
    "post_pending": "posted",
    "void_pending": "voided",
    "expire_pending": "expired",
}


def verify_database(ledger: JournalSource, *, progress: Progress | None = None) -> VerifyReport:
    """Verify the journal stored in ``ledger``'s database and everything derived from it."""
    with ledger.reading() as connection:
        source = connection.engine.url.render_as_string(hide_password=True)
        head_seq, head_hash = _head(connection)
    report = VerifyReport(source=source)
    checker = JournalChecker(report, skip_blank=False)
    report.checks += ["rows", "balances", "pending_state", "accounts_table", "head"]
    batches = _entry_batches(ledger, head_seq)
    total = -(-head_seq // ENTRIES_PER_BATCH) if head_seq else None
    for batch in (progress or _identity)(batches, total):
        for line, columns, rows in batch:
            obj = checker.feed(line)
            if obj is not None:
                _compare_rows(report, obj, columns, rows)
    checker.finish(_line_resolver(ledger, head_seq))
    _check_head(report, head_seq, head_hash)
    with ledger.reading() as connection:
        # Each of these is one statement, hence one consistent snapshot on either backend.
        _check_balances(connection, report)
        _check_pending_state(connection, report)
    with _snapshot(ledger) as connection:
        if _head(connection)[0] == head_seq:
            _check_accounts_table(connection, report, checker)
        else:
            report.checks.remove("accounts_table")
            report.checks.append("accounts_table skipped: the journal grew meanwhile")
    return report


@contextmanager
def _snapshot(ledger: JournalSource) -> Iterator[Connection]:
    """A read transaction whose statements all see one snapshot (REPEATABLE READ on PG)."""
    with ledger.reading() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


def _tampered(
    report: VerifyReport, kind: str, seq: int | None, message: str, **details: Any
) -> None:
    """A derived row disagrees with the stored lines: the journal is not as it was written."""
    report.add(JOURNAL_TAMPERED, seq, message, kind=kind, **details)


def _head(connection: Connection) -> tuple[int, str]:
    row = connection.execute(
        select(chain_head.c.last_seq, chain_head.c.last_hash).where(chain_head.c.id == 1)
    ).one()
    return int(row.last_seq), str(row.last_hash)


Columns = tuple[Any, ...]
PostingRowValues = tuple[Any, ...]
EntryRows = tuple[str, Columns, list[PostingRowValues]]


def _entry_batches(ledger: JournalSource, head_seq: int) -> Iterator[list[EntryRows]]:
    """Each entry's (line, columns, posting rows), in batches, streamed in seq order."""
    query = (
        select(
            journal_entries.c.seq,
            journal_entries.c.key,
            journal_entries.c.kind,
            journal_entries.c.status,
            journal_entries.c.effective_at,
            journal_entries.c.recorded_at,
            journal_entries.c.link_key,
            journal_entries.c.prev_hash,
            journal_entries.c.hash,
            journal_entries.c.line,
            postings.c.position,
            accounts.c.code,
            postings.c.is_debit,
            postings.c.amount_minor,
            postings.c.currency,
            postings.c.is_pending,
        )
        .select_from(journal_entries)
        .outerjoin(postings, postings.c.entry_seq == journal_entries.c.seq)
        .outerjoin(accounts, accounts.c.id == postings.c.account_id)
        .where(journal_entries.c.seq <= head_seq)
        .order_by(journal_entries.c.seq, postings.c.position)
    )
    batch: list[EntryRows] = []
    current: EntryRows | None = None
    with ledger.reading() as connection:
        streamed = {"stream_results": True, "yield_per": STREAM_ROWS}
        for row in connection.execute(query, execution_options=streamed):
            if current is None or current[1][0] != row[0]:
                if current is not None:
                    batch.append(current)
                    if len(batch) >= ENTRIES_PER_BATCH:
                        yield batch
                        batch = []
                current = (row[9], (*row[:9],), [])
            if row[10] is not None:
                current[2].append(tuple(row[10:]))
    if current is not None:
        batch.append(current)
    if batch:
        yield batch


def _compare_rows(
    report: VerifyReport,
    obj: dict[str, Any],
    columns: Columns,
    rows: list[PostingRowValues],
) -> None:
    seq, key, kind, status, effective_at, recorded_at, link_key, prev_hash, digest = columns
    metadata = obj.get("metadata")
    reversal = obj.get("kind") == "reversal" and isinstance(metadata, dict)
    expected_link = obj.get("pending_key") or (
        metadata.get("reverses") if reversal and isinstance(metadata, dict) else None
    )
    stored = (
        seq,
        key,
        kind,
        status,
        format_timestamp(effective_at),
        format_timestamp(recorded_at),
        link_key,
        prev_hash,
        digest,
    )
    in_line = (
        obj.get("seq"),
        obj.get("key"),
        obj.get("kind"),
        obj.get("status"),
        obj.get("effective_at"),
        obj.get("recorded_at"),
        expected_link,
        obj.get("prev_hash"),
        obj.get("hash"),
    )
    names = COLUMN_NAMES
    for name, column, value in zip(names, stored, in_line, strict=True):
        if column != value:
            _tampered(
                report,
                ROW_MISMATCH,
                seq,
                f"seq {seq}: column {name} is {column!r} but the stored line says {value!r}",
                column=name,
            )
    _compare_postings(report, seq, obj, rows)


def _compare_postings(
    report: VerifyReport, seq: int, obj: dict[str, Any], rows: list[PostingRowValues]
) -> None:
    in_line = obj.get("postings")
    if not isinstance(in_line, list):
        return
    pending = obj.get("status") == "pending"
    expected = [
        (
            position,
            posting.get("account"),
            posting.get("side") == "debit",
            posting.get("amount"),
            posting.get("currency"),
            pending,
        )
        for position, posting in enumerate(in_line)
        if isinstance(posting, dict)
    ]
    found = []
    for position, code, is_debit, amount_minor, currency, is_pending in rows:
        try:
            amount = format_minor(int(amount_minor), currency)
        except Exception:  # a currency edited into nonsense is itself the finding
            amount = str(amount_minor)
        found.append((position, code, bool(is_debit), amount, currency, bool(is_pending)))
    if found != expected:
        _tampered(
            report,
            ROW_MISMATCH,
            seq,
            f"seq {seq}: posting rows {_describe(found)} disagree with the stored line "
            f"{_describe(expected)}",
        )


def _describe(rows: Iterable[tuple[Any, ...]]) -> str:
    return (
        "["
        + "; ".join(
            f"{code} {'debit' if is_debit else 'credit'} {amount} {currency}"
            + (" pending" if is_pending else "")
            for _, code, is_debit, amount, currency, is_pending in rows
        )
        + "]"
    )


def _line_resolver(ledger: JournalSource, head_seq: int) -> KeyResolver:
    def lines() -> Iterator[str]:
        with ledger.reading() as connection:
            yield from reads.journal_lines(connection, 1, head_seq)

    return _resolver(lines)


def _check_head(report: VerifyReport, head_seq: int, head_hash: str) -> None:
    if (report.last_seq, report.last_hash) == (head_seq, head_hash):
        return
    if report.last_seq < head_seq:
        _tampered(
            report,
            SEQ_BROKEN,
            report.last_seq + 1,
            f"the chain head says seq {head_seq} but the journal ends at seq {report.last_seq}: "
            f"seq {report.last_seq + 1}..{head_seq} missing",
        )
        return
    _tampered(
        report,
        HEAD_MISMATCH,
        report.last_seq,
        f"the chain head row (seq {head_seq}, {head_hash}) is not the last entry "
        f"(seq {report.last_seq}, {report.last_hash})",
    )


def _balances_query() -> Select[Any]:
    """Per account (by code): its four stored balance columns, then the sums of its postings
    (pending ones only while their pending entry is unresolved in the journal)."""
    amount, is_debit, is_pending = (
        postings.c.amount_minor,
        postings.c.is_debit,
        postings.c.is_pending,
    )
    resolution = journal_entries.alias("resolution")
    unresolved = ~exists(
        select(resolution.c.seq).where(
            resolution.c.link_key == journal_entries.c.key,
            resolution.c.kind.in_(TWO_PHASE_KINDS),
        )
    )
    sums = (
        select(
            postings.c.account_id,
            func.sum(case((and_(~is_pending, is_debit), amount), else_=0)).label("dp"),
            func.sum(case((and_(~is_pending, ~is_debit), amount), else_=0)).label("cp"),
            func.sum(case((and_(is_pending, is_debit, unresolved), amount), else_=0)).label("dq"),
            func.sum(case((and_(is_pending, ~is_debit, unresolved), amount), else_=0)).label("cq"),
        )
        .join(journal_entries, journal_entries.c.seq == postings.c.entry_seq)
        .group_by(postings.c.account_id)
        .subquery()
    )
    return (
        select(
            accounts.c.code,
            accounts.c.currency,
            accounts.c.debits_posted_minor,
            accounts.c.credits_posted_minor,
            accounts.c.debits_pending_minor,
            accounts.c.credits_pending_minor,
            func.coalesce(sums.c.dp, 0),
            func.coalesce(sums.c.cp, 0),
            func.coalesce(sums.c.dq, 0),
            func.coalesce(sums.c.cq, 0),
        )
        .outerjoin(sums, sums.c.account_id == accounts.c.id)
        .order_by(accounts.c.code)
    )


def _check_balances(connection: Connection, report: VerifyReport) -> None:
    names = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
    totals: dict[str, list[int]] = {}
    for row in connection.execute(_balances_query()):
        code, currency = row[0], row[1]
        stored, summed = [int(v) for v in row[2:6]], [int(v) for v in row[6:10]]
        total = totals.setdefault(currency, [0, 0, 0, 0])
        for index, value in enumerate(stored):
            total[index] += value
        for name, column, value in zip(names, stored, summed, strict=True):
            if column != value:
                _tampered(
                    report,
                    BALANCE_MISMATCH,
                    None,
                    f"account {code}: stored {name} {_amount(column, currency)} but its "
                    f"postings sum to {_amount(value, currency)} {currency}",
                    account=code,
                    column=f"{name}_minor",
                    stored_minor=column,
                    postings_minor=value,
                )
    for currency, (dp, cp, dq, cq) in sorted(totals.items()):
        if dp != cp or dq != cq:
            _tampered(
                report,
                BALANCE_MISMATCH,
                None,
                f"{currency}: stored balances do not net to zero over all accounts "
                f"(posted {dp - cp}, pending {dq - cq} minor units)",
                currency=currency,
            )


def _amount(minor: int, currency: str) -> str:
    try:
        return format_minor(minor, currency)
    except Exception:  # an edited currency column
        return str(minor)


def _check_pending_state(connection: Connection, report: VerifyReport) -> None:
    resolution = journal_entries.alias("resolution")
    query = (
        select(
            journal_entries.c.seq,
            journal_entries.c.key,
            pending_entries.c.key,
            pending_entries.c.state,
            pending_entries.c.resolved_seq,
            resolution.c.seq,
            resolution.c.kind,
        )
        .select_from(journal_entries)
        .outerjoin(pending_entries, pending_entries.c.entry_seq == journal_entries.c.seq)
        .outerjoin(
            resolution,
            and_(
                resolution.c.link_key == journal_entries.c.key,
                resolution.c.kind.in_(TWO_PHASE_KINDS),
            ),
        )
        .where(journal_entries.c.status == "pending")
        .order_by(journal_entries.c.seq)
    )
    for seq, key, row_key, state, resolved_seq, by_seq, by_kind in connection.execute(query):
        expected = (key, _PENDING_STATE_OF.get(by_kind, "pending"), by_seq)
        if (row_key, state, resolved_seq) != expected:
            _tampered(
                report,
                ROW_MISMATCH,
                seq,
                f"seq {seq}: pending state row (key {row_key!r}, {state}, resolved by "
                f"{resolved_seq}) disagrees with the journal (key {key!r}, {expected[1]}, "
                f"resolved by {by_seq})",
                column="pending_entries",
            )
    orphans = connection.execute(
        select(pending_entries.c.entry_seq)
        .join(journal_entries, journal_entries.c.seq == pending_entries.c.entry_seq)
        .where(journal_entries.c.status != "pending")
    ).all()
    for (seq,) in orphans:
        _tampered(
            report,
            ROW_MISMATCH,
            seq,
            f"seq {seq}: a pending state row for a posted entry",
            column="pending_entries",
        )


def _check_accounts_table(
    connection: Connection, report: VerifyReport, checker: JournalChecker
) -> None:
    seen: set[str] = set()
    query = select(
        accounts.c.code,
        accounts.c.currency,
        accounts.c.kind,
        accounts.c.balance_constraint,
        accounts.c.status,
    ).order_by(accounts.c.code)
    for code, currency, kind, constraint, status in connection.execute(query):
        seen.add(code)
        record = checker.accounts.get(code)
        if record is None:
            _tampered(
                report,
                ROW_MISMATCH,
                None,
                f"account {code} is in the accounts table but no open_account record names it",
                account=code,
            )
            continue
        journal = (record.currency, record.kind, record.constraint, record.status)
        if (currency, kind, constraint, status) != journal:
            _tampered(
                report,
                ROW_MISMATCH,
                None,  # a derived row is wrong; no seq of the journal is broken
                f"account {code}: table says {(currency, kind, constraint, status)}, "
                f"the journal's records say {journal}",
                account=code,
            )
    for code in sorted(checker.accounts.keys() - seen):
        _tampered(
            report,
            ROW_MISMATCH,
            None,
            f"account {code} was opened in the journal (seq {checker.accounts[code].opened_seq}) "
            "but is missing from the accounts table",
            account=code,
        )

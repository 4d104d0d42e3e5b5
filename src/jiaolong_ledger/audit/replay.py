"""Replay an exported JSON Lines journal into an empty ledger, verifying as it goes.

Every line is first checked by :class:`~.verify.JournalChecker` (chain, seq, balance, accounts,
two-phase links); the first finding stops the replay with ``JOURNAL_TAMPERED`` naming the seq.
A line that passes is re-enacted through the posting engine's own operations, so the rebuilt
database gets its balances, postings, pending state and account rows exactly as the original
did, and the line the engine writes must equal the input line byte for byte (else the replay
stops, also with ``JOURNAL_TAMPERED``). The whole replay is one unit of work on the target's
:class:`~jiaolong_ledger.unit_of_work.LedgerScope`, written through its journal writer
(``tx.journal``): a replay that stops leaves the target empty.

The file is read as :func:`~.verify.verify_file` reads it, under the intake layer's rules: a
file that cannot be read (missing, unreadable, not a regular file) is ``INVALID_INPUT`` before
any transaction begins; a line the intake refuses (not UTF-8, too long, too deep, a huge
integer, ``NaN``, a key twice, ...) is a ``JOURNAL_TAMPERED`` finding of kind ``MALFORMED_LINE``
that stops the replay like any other finding, naming the seq and the line. A line with a valid
hash that still lacks what replay reads (timestamps, description, metadata, what a reversal or
an account record names) stops it as ``MALFORMED_ENTRY``, never with a traceback.
:func:`check_readable` lets a caller refuse an unreadable file before it creates the target.

How each record is re-enacted (the writer stamps times from ``Transaction.clock``, which is set
per record so that ``effective_at`` and ``recorded_at`` come out as recorded):

- ``open_account`` / ``freeze_account`` / ``unfreeze_account`` / ``close_account``:
  ``tx.open_account`` / ``tx.set_account_status`` (their keys derive from kind, code and seq);
- client entries (``transfer``, ``pending``, the sub-domain kinds, ...): ``tx.post_many``,
  consecutive entries recorded at the same instant together, as they were posted;
- ``post_pending`` / ``void_pending`` / ``reversal``: ``tx.post_pending`` / ``tx.void_pending``
  / ``tx.reverse``;
- ``expire_pending``: ``tx.expire_one(pending_key)``, the engine's expiry of one entry (the
  journal already says it was due);
- ``cycle_cutoff`` (a record of its own, :data:`~jiaolong_ledger.journal.entry.RECORD_KINDS`):
  ``tx.append_record`` with the record's members, its key ``cycle_cutoff:<cycle>``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import func, select

from jiaolong_ledger.accounts.model import AccountStatus
from jiaolong_ledger.audit.checker import JournalChecker
from jiaolong_ledger.audit.report import MALFORMED_ENTRY, Progress, VerifyReport
from jiaolong_ledger.audit.verify import (
    _batch_count,
    _identity,
    _resolver,
    file_lines,
    open_journal,
    read_batches,
)
from jiaolong_ledger.errors import InvalidInputError, JournalTamperedError, LedgerError
from jiaolong_ledger.journal.canonical import GENESIS_HASH, entry_object, line_of, parse_timestamp
from jiaolong_ledger.journal.entry import (
    ACCOUNT_RECORD_KINDS,
    RECORD_KINDS,
    Entry,
    PostedEntry,
    Posting,
)
from jiaolong_ledger.journal.validation import Leg
from jiaolong_ledger.journal.writer import Transaction
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import format_minor, money, parse_minor
from jiaolong_ledger.storage.tables import accounts, journal_entries
from jiaolong_ledger.unit_of_work import LedgerScope

log = get_logger("jiaolong_ledger.audit")

REPLAY_BATCH_MAX: Final = 5_000
"""Most client entries handed to one ``post_many`` call."""
_STATUS_OF: Final = {
    "freeze_account": AccountStatus.FROZEN,
    "unfreeze_account": AccountStatus.OPEN,
    "close_account": AccountStatus.CLOSED,
}
_ENGINE_OPERATIONS: Final = frozenset(
    {"post_pending", "void_pending", "expire_pending", "reversal"}
)


class ReplayClock:
    """The transaction's clock during a replay: the given instants in order, then the last."""

    def __init__(self) -> None:
        self._times: list[datetime] = []

    def set(self, *times: datetime) -> None:
        self._times = list(times)

    def __call__(self) -> datetime:
        assert self._times, "replay clock read before a record set it"
        return self._times.pop(0) if len(self._times) > 1 else self._times[0]


class Replayer:
    """Re-enacts verified lines in one transaction and checks each written line."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.clock = ReplayClock()
        tx.clock = self.clock
        self.batch: list[tuple[str, Entry, int]] = []
        self.batch_recorded_at: str | None = None
        self.pending_legs: dict[str, list[Leg]] = {}

    def apply(self, line: str, obj: dict[str, Any]) -> None:
        kind = obj["kind"]
        if (
            kind not in _ENGINE_OPERATIONS
            and kind not in ACCOUNT_RECORD_KINDS
            and kind not in RECORD_KINDS
        ):
            if obj["recorded_at"] != self.batch_recorded_at or len(self.batch) >= REPLAY_BATCH_MAX:
                self.flush()
            self.batch.append((line, _client_entry(obj), obj["seq"]))
            self.batch_recorded_at = obj["recorded_at"]
            if obj["status"] == "pending":
                self.pending_legs[obj["key"]] = _legs(obj)
            return
        self.flush()
        recorded_at = parse_timestamp(obj["recorded_at"])
        if kind in ACCOUNT_RECORD_KINDS:
            self.clock.set(parse_timestamp(obj["effective_at"]), recorded_at)
            self._account_record(line, obj)
            return
        if kind in RECORD_KINDS:  # a record of its own (cycle_cutoff): re-appended as it stands
            self.clock.set(parse_timestamp(obj["effective_at"]), recorded_at)
            members = {name: obj[name] for name in RECORD_KINDS[kind]}
            self._check(line, self.tx.append_record(kind, obj["key"].partition(":")[2], members))
            return
        self.clock.set(recorded_at)
        self._check(line, self._engine_operation(obj, recorded_at))

    def flush(self) -> None:
        if not self.batch:
            return
        self.clock.set(parse_timestamp(str(self.batch_recorded_at)))
        batch, self.batch, self.batch_recorded_at = self.batch, [], None
        try:
            posted = self.tx.post_many([entry for _, entry, _ in batch])
        except LedgerError as error:
            key = error.details.get("key")
            seq = next((seq for _, entry, seq in batch if entry.key == key), batch[0][2])
            _locate(error, seq)
            raise
        for (line, _, _), entry in zip(batch, posted, strict=True):
            self._check(line, entry)

    def _account_record(self, line: str, obj: dict[str, Any]) -> None:
        account = obj["account"]
        if obj["kind"] == "open_account":
            self.tx.open_account(
                account["code"], account["currency"], account["kind"], account["constraint"]
            )
        else:
            self.tx.set_account_status(account["code"], _STATUS_OF[obj["kind"]])
        head_seq, _ = self.tx.head()
        if head_seq != obj["seq"]:
            raise JournalTamperedError(
                f"seq {obj['seq']}: the {obj['kind']} record changed nothing on replay",
                seq=obj["seq"],
            )
        self._check_record(line, obj)

    def _engine_operation(self, obj: dict[str, Any], recorded_at: datetime) -> PostedEntry:
        kind, key = obj["kind"], obj["key"]
        if kind == "reversal":
            return self.tx.reverse(obj["metadata"]["reverses"], key)
        pending_key = obj["pending_key"]
        legs = self.pending_legs.pop(pending_key)
        if kind == "void_pending":
            return self.tx.void_pending(pending_key, key)
        if kind == "post_pending":
            posted = [p["amount"] for p in obj["postings"]]
            full = [_amount_text(leg) for leg in legs]
            amount = None if posted == full else money(posted[0], obj["postings"][0]["currency"])
            return self.tx.post_pending(pending_key, key, amount)
        return self._expire(pending_key, key)

    def _expire(self, pending_key: str, key: str) -> PostedEntry:
        entry = self.tx.expire_one(pending_key)
        if entry.key != key:
            raise JournalTamperedError(
                f"expiry of {pending_key!r} is recorded under {key!r}, "
                f"the engine names it {entry.key!r}",
                key=key,
            )
        return entry

    def _check(self, line: str, entry: PostedEntry) -> None:
        written = line_of(entry_object(entry))
        if written != line:
            raise JournalTamperedError(
                f"seq {entry.seq}: replay wrote a different entry than the journal holds "
                f"(journal: {line[:160]}...; replay: {written[:160]}...)",
                seq=entry.seq,
                key=entry.key,
            )

    def _check_record(self, line: str, obj: dict[str, Any]) -> None:
        written = self.tx.connection.execute(
            select(journal_entries.c.line).where(journal_entries.c.seq == obj["seq"])
        ).scalar()
        if written != line:
            raise JournalTamperedError(
                f"seq {obj['seq']}: replay wrote a different {obj['kind']} record",
                seq=obj["seq"],
            )


def _legs(obj: dict[str, Any]) -> list[Leg]:
    return [
        Leg(
            p["account"],
            p["side"] == "debit",
            parse_minor(p["amount"], p["currency"]),
            p["currency"],
        )
        for p in obj["postings"]
    ]


def _amount_text(leg: Leg) -> str:
    return format_minor(leg.amount_minor, leg.currency)


def _client_entry(obj: dict[str, Any]) -> Entry:
    """The Entry a client posted to produce ``obj``.

    ``effective_at`` equal to ``recorded_at`` is taken as "not given" (the engine's default),
    so the stored idempotency fingerprint matches the original's in the usual case.
    """
    pending = obj["status"] == "pending"
    effective_at = None
    if obj["effective_at"] != obj["recorded_at"]:
        effective_at = parse_timestamp(obj["effective_at"])
    return Entry(
        key=obj["key"],
        postings=[
            Posting(p["account"], p["side"], money(p["amount"], p["currency"]))
            for p in obj["postings"]
        ],
        effective_at=effective_at,
        description=obj["description"],
        metadata=obj["metadata"],
        kind="transfer" if pending else obj["kind"],
        pending=pending,
        expires_at=parse_timestamp(obj["expires_at"]) if "expires_at" in obj else None,
    )


def _timestamp(value: object) -> bool:
    try:
        parse_timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _shape_problem(obj: dict[str, Any]) -> str | None:
    """What a verified line lacks that replay needs to re-enact it (None: nothing).

    The checker has vouched for seq, key, kind, status, postings, account codes and two-phase
    links; a line with a valid hash can still lack the rest of SPEC §5, and replay reads it.
    """
    times = ["effective_at", "recorded_at", *(["expires_at"] if "expires_at" in obj else [])]
    for name in times:
        if not _timestamp(obj.get(name)):
            return f"{name} is not a journal timestamp (like 2026-11-26T08:00:00.000000Z)"
    if type(obj.get("description")) is not str or type(obj.get("metadata")) is not dict:
        return "description must be a string and metadata an object"
    kind = obj["kind"]
    if kind == "reversal" and type(obj["metadata"].get("reverses")) is not str:
        return "a reversal whose metadata does not name the entry it reverses"
    account: dict[str, Any] = obj.get("account") or {}  # the checker vouched: a dict
    if kind == "open_account" and not (
        type(account.get("currency")) is str
        and type(account.get("kind")) is str
        and type(account.get("constraint")) in (str, type(None))
    ):
        return "an open_account record without currency, kind and constraint"
    return None


def _require_empty(tx: Transaction) -> None:
    account_count = tx.connection.execute(select(func.count()).select_from(accounts)).scalar()
    if tx.head() != (0, GENESIS_HASH) or account_count:
        raise InvalidInputError(
            "replay needs an empty database: this one already has a journal or accounts",
            last_seq=tx.head()[0],
            accounts=account_count,
        )


def _stop(report: VerifyReport) -> None:
    first = report.findings[0]
    raise JournalTamperedError(
        f"replay stopped at seq {first.seq}: {first.code}: {first.message}",
        seq=first.seq,
        finding=first.to_dict(),
    )


def replay_lines(tx: Transaction, batches: Iterable[list[bytes]], checker: JournalChecker) -> None:
    """Verify and re-enact every line; raise at the first finding or refused record."""
    report = checker.report
    replayer = Replayer(tx)
    for batch in batches:
        for raw in batch:
            obj = checker.feed(raw)
            if not report.ok:
                _stop(report)
            if obj is None:  # a blank line
                continue
            problem = _shape_problem(obj)
            if problem is not None:
                report.add(MALFORMED_ENTRY, obj["seq"], f"seq {obj['seq']}: {problem}")
                _stop(report)
            try:
                replayer.apply(raw.decode().strip(), obj)
            except LedgerError as error:
                _locate(error, obj["seq"])
                raise
    replayer.flush()


def _locate(error: LedgerError, seq: int) -> None:
    """Name the journal seq whose replay was refused (once: flushes can be nested)."""
    if "seq" not in error.details:
        error.details["seq"] = seq
        error.message = f"replay of seq {seq}: {error.message}"


def check_readable(path: str | Path) -> None:
    """``INVALID_INPUT`` unless ``path`` opens as a journal file (standard input: always)."""
    handle = open_journal(path)
    if handle is not sys.stdin.buffer:
        handle.close()


def replay(
    path: str | Path,
    scope: LedgerScope,
    *,
    progress: Progress | None = None,
) -> VerifyReport:
    """Rebuild the journal ``path`` (JSON Lines) in the empty ledger of ``scope``.

    Returns the verification report of the file (entries, chain head). Raises
    ``INVALID_INPUT`` when the target holds a journal or accounts, and ``JOURNAL_TAMPERED``
    naming the seq at the first finding; then nothing is written.
    """
    handle = open_journal(path)  # INVALID_INPUT (missing, unreadable, ...) before anything
    stdin = handle is sys.stdin.buffer
    report = VerifyReport(source=str(path))
    checker = JournalChecker(report)
    try:
        total = None if stdin else _batch_count(os.fstat(handle.fileno()).st_size)
        batches = (progress or _identity)(read_batches(handle, path), total)
        with scope.begin() as unit:
            tx = unit.journal
            _require_empty(tx)
            replay_lines(tx, batches, checker)
            # A repeated key already stopped the replay (the writer answers it with the first
            # entry, whose line differs); finishing the checker also frees its key spill.
            checker.finish(None if stdin else _resolver(lambda: file_lines(path)))
            if not report.ok:
                _stop(report)
            if tx.head() != (report.last_seq, report.last_hash):
                raise JournalTamperedError(
                    "replay ended on a different chain head than the journal",
                    journal_head=report.last_hash,
                    replay_head=tx.head()[1],
                )
    finally:
        checker.keys.close()
        if not stdin:
            handle.close()
    log.info("journal_replayed", entries=report.entries, head=report.last_hash)
    return report

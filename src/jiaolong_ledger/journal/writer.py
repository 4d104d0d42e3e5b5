"""The single writer of the journal, the postings and the balances.

A :class:`Transaction` is one database transaction. It locks the chain head first (the writers'
mutex: ``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL), then the accounts
it touches in ascending id order, so concurrent writers queue rather than deadlock. Everything it
writes (entries, postings, balance rows, pending state, a sub-domain's own rows on the same
connection) commits together or not at all: a rejected call leaves no entry, no balance change,
no consumed key and no gap in ``seq``.

Writing an entry is: validate (pure passes) -> resolve idempotency -> apply balance deltas in
memory, checking constraints and 64-bit overflow after each entry (:mod:`.balances`) -> assign
seq and hash -> insert rows in bulk (:mod:`jiaolong_ledger.storage.bulk`) -> write back the
touched balance rows. The balances written are asserted to equal what was read plus the entry's
legs (pair assertions).

Drafts and their fingerprints live in :mod:`.drafts`; posting, voiding and expiring pending
entries and reversing posted ones in :mod:`.two_phase`, reached through the methods of the same
name here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from moneyed import Money
from sqlalchemy import Connection, update

from jiaolong_ledger.accounts.model import (
    AccountStatus,
    check_account_code,
    check_constraint,
    check_kind,
)
from jiaolong_ledger.errors import (
    AccountClosedError,
    AccountExistsError,
    AccountNotEmptyError,
    AccountNotFoundError,
    CurrencyMismatchError,
    InvalidEntryError,
    LimitExceededError,
)
from jiaolong_ledger.journal import two_phase
from jiaolong_ledger.journal.balances import (
    CREDITS_PENDING,
    CREDITS_POSTED,
    DEBITS_PENDING,
    DEBITS_POSTED,
    AccountState,
    check_limits,
    snapshots_of,
)
from jiaolong_ledger.journal.canonical import seal_entry
from jiaolong_ledger.journal.drafts import (
    Clock,
    Draft,
    check_same_request,
    chunks,
    draft_from_entry,
    posted_entry_from_object,
    request_digest,
    unsealed_entry,
    utc_now,
)
from jiaolong_ledger.journal.entry import RECORD_KINDS, Entry, PostedEntry
from jiaolong_ledger.journal.validation import (
    BATCH_SIZE_MAX,
    AccountSnapshot,
    check_accounts,
    check_not_reserved,
    raise_problems,
    validate_shape,
)
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import check_currency
from jiaolong_ledger.storage.bulk import Row, insert_journal_rows, insert_posting_rows
from jiaolong_ledger.storage.tables import accounts, chain_head, journal_entries, pending_entries

log = get_logger("jiaolong_ledger.journal")
_stdlib_log = logging.getLogger("jiaolong_ledger.journal")

# Driver-level SQL for the hot statements, written with ``?`` (see ``Transaction._sql``).
_SELECT_HEAD: Final = f"SELECT last_seq, last_hash FROM {chain_head.name} WHERE id = 1"
_UPDATE_HEAD: Final = f"UPDATE {chain_head.name} SET last_seq = ?, last_hash = ? WHERE id = 1"
_UPDATE_BALANCES: Final = (
    f"UPDATE {accounts.name} SET debits_posted_minor = ?, credits_posted_minor = ?, "
    "debits_pending_minor = ?, credits_pending_minor = ? WHERE id = ?"
)

_STATUS_RECORD_KIND: Final = {
    AccountStatus.FROZEN: "freeze_account",
    AccountStatus.OPEN: "unfreeze_account",
    AccountStatus.CLOSED: "close_account",
}
"""The journal record that a change of an account's status leaves behind."""


class _Rows:
    """Rows of one append as plain tuples, in :mod:`jiaolong_ledger.storage.bulk`'s order."""

    __slots__ = ("journal", "pending", "postings")

    def __init__(self) -> None:
        self.journal: list[Row] = []
        self.postings: list[Row] = []
        self.pending: list[dict[str, Any]] = []

    def add(
        self, entry: PostedEntry, draft: Draft, line: str, accounts_by_code: dict[str, AccountState]
    ) -> None:
        self.journal.append(
            (
                entry.seq,
                entry.key,
                entry.kind,
                entry.status,
                entry.effective_at,
                entry.recorded_at,
                draft.pending_key
                or (draft.metadata["reverses"] if draft.kind == "reversal" else None),
                draft.request_digest,
                entry.prev_hash,
                entry.hash,
                line,
            )
        )
        is_pending = entry.status == "pending"
        for position, leg in enumerate(draft.legs):
            self.postings.append(
                (
                    entry.seq,
                    position,
                    accounts_by_code[leg.account].snapshot.id,
                    leg.is_debit,
                    leg.amount_minor,
                    leg.currency,
                    is_pending,
                )
            )
        if is_pending:
            self.pending.append(
                {
                    "entry_seq": entry.seq,
                    "key": entry.key,
                    "expires_at": entry.expires_at,
                    "state": "pending",
                    "resolved_seq": None,
                }
            )

    def insert(self, connection: Connection, cursor: Any) -> None:
        insert_journal_rows(connection, cursor, self.journal)
        insert_posting_rows(connection, cursor, self.postings)
        if self.pending:
            connection.execute(pending_entries.insert(), self.pending)


def _same_account(
    snap: AccountSnapshot, currency: str, kind: str, constraint: str | None
) -> AccountSnapshot:
    """``snap`` when it is the account asked for (a repeated open); else ``ACCOUNT_EXISTS``."""
    if (snap.currency, snap.kind, snap.constraint) == (currency, kind, constraint):
        if snap.status != AccountStatus.CLOSED.value:
            return snap
        reason = "it is closed (permanently)"
    else:
        reason = (
            f"it holds {snap.currency} as {snap.kind} with constraint {snap.constraint or 'none'}"
        )
    raise AccountExistsError(
        f"account {snap.code!r} already exists and cannot be opened as asked: {reason}",
        account=snap.code,
        currency=snap.currency,
        kind=snap.kind,
        constraint=snap.constraint,
        status=snap.status,
    )


class Transaction:
    """One write transaction on the ledger. Obtain it from ``Ledger.transaction()``."""

    def __init__(self, connection: Connection, clock: Clock = utc_now) -> None:
        self.connection = connection
        self.clock = clock
        self._postgres = connection.dialect.name == "postgresql"
        # The hot statements go straight to the driver's cursor on this transaction's own
        # connection: SQLAlchemy's per-statement machinery costs more than SQLite's work.
        self._cursor: Any = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        self._accounts: dict[str, AccountState] = {}
        self._last_seq, self._last_hash = self._lock_chain_head()

    # -- locking -------------------------------------------------------------------------

    def _sql(self, statement: str) -> str:
        """Driver-level SQL (hot path: no statement compilation): ``?`` -> ``%s`` on psycopg."""
        return statement.replace("?", "%s") if self._postgres else statement

    def _lock_chain_head(self) -> tuple[int, str]:
        lock = " FOR UPDATE" if self._postgres else ""
        self._cursor.execute(self._sql(_SELECT_HEAD + lock))
        row = self._cursor.fetchone()
        return int(row[0]), str(row[1])

    def lock_accounts(self, codes: Iterable[str]) -> dict[str, AccountState]:
        """Load (on PostgreSQL: lock, id ascending) the accounts named; missing ones are absent."""
        wanted = sorted({code for code in codes if code not in self._accounts})
        lock = " FOR UPDATE" if self._postgres else ""
        for chunk in chunks(wanted):
            statement = self._sql(
                "SELECT id, code, currency, kind, balance_constraint, status, "
                "debits_posted_minor, credits_posted_minor, debits_pending_minor, "
                f"credits_pending_minor FROM {accounts.name} "
                f"WHERE code IN ({', '.join('?' * len(chunk))}) ORDER BY id{lock}"
            )
            self._cursor.execute(statement, tuple(chunk))
            for row in self._cursor.fetchall():
                values = (int(row[6]), int(row[7]), int(row[8]), int(row[9]))
                assert min(values) >= 0, f"negative balance column read on {row[1]}"
                snapshot = AccountSnapshot(row[0], row[1], row[2], row[3], row[4], row[5])
                self._accounts[row[1]] = AccountState(snapshot, list(values), read=values)
        return self._accounts

    def account(self, code: str) -> AccountState:
        state = self.lock_accounts([code]).get(code)
        if state is None:
            raise AccountNotFoundError(f"no account {code!r}", account=code)
        return state

    # -- accounts ------------------------------------------------------------------------

    def open_account(
        self, code: str, currency: str, kind: str, constraint: str | None = None
    ) -> AccountSnapshot:
        """Open ``code``. Opening it again exactly as it stands (same currency, kind and
        constraint; not closed) writes nothing and returns it; any other reopening is
        ``ACCOUNT_EXISTS``, naming what the account is."""
        check_account_code(code)
        check_currency(currency)
        check_kind(kind)
        check_constraint(constraint)
        existing = self.lock_accounts([code]).get(code)
        if existing is not None:
            return _same_account(existing.snapshot, currency, kind, constraint)
        now = self.clock()
        account_id = self.connection.execute(
            accounts.insert().returning(accounts.c.id),
            {
                "code": code,
                "currency": currency,
                "kind": kind,
                "balance_constraint": constraint,
                "status": AccountStatus.OPEN.value,
                "opened_at": now,
                "debits_posted_minor": 0,
                "credits_posted_minor": 0,
                "debits_pending_minor": 0,
                "credits_pending_minor": 0,
            },
        ).scalar_one()
        snapshot = AccountSnapshot(account_id, code, currency, kind, constraint, "open")
        self._accounts[code] = AccountState(snapshot, [0, 0, 0, 0], read=(0, 0, 0, 0))
        self._append_account_record("open_account", snapshot, now)
        log.info("account_opened", account=code, currency=currency, kind=kind)
        return snapshot

    def ensure_account(
        self, code: str, currency: str, kind: str, constraint: str | None = None
    ) -> AccountSnapshot:
        """Open the account unless it exists with the same currency and kind."""
        existing = self.lock_accounts([code]).get(code)
        if existing is None:
            return self.open_account(code, currency, kind, constraint)
        snap = existing.snapshot
        if snap.currency != currency:
            raise CurrencyMismatchError(
                f"account {code!r} holds {snap.currency}, not {currency}",
                account=code,
                account_currency=snap.currency,
                posting_currency=currency,
            )
        if snap.kind != kind:
            raise AccountExistsError(f"account {code!r} exists with kind {snap.kind}", account=code)
        return snap

    def set_account_status(self, code: str, status: AccountStatus) -> AccountSnapshot:
        state = self.account(code)
        snap = state.snapshot
        if snap.status == AccountStatus.CLOSED:
            raise AccountClosedError(f"account {code!r} is closed", account=code)
        if status == AccountStatus.CLOSED and not state.balance().is_zero():
            raise AccountNotEmptyError(
                f"account {code!r} has a balance and cannot be closed",
                **state.balance().to_dict(),  # names the account and every balance column
            )
        if snap.status == status.value:
            return snap
        record_kind = _STATUS_RECORD_KIND[status]
        self.connection.execute(
            update(accounts).where(accounts.c.id == snap.id).values(status=status.value)
        )
        state.snapshot = replace(snap, status=status.value)
        self._append_account_record(record_kind, state.snapshot, self.clock())
        log.info(record_kind, account=code)
        return state.snapshot

    def _append_account_record(self, kind: str, snap: AccountSnapshot, now: datetime) -> None:
        record = {
            "code": snap.code,
            "currency": snap.currency,
            "kind": snap.kind,
            "constraint": snap.constraint,
        }
        draft = Draft(
            key=f"{kind}:{snap.code}#{self._last_seq + 1}",
            kind=kind,
            status="posted",
            effective_at=now,
            description="",
            metadata={},
            legs=[],
            request_digest=request_digest({"kind": kind, "account": record}),
            account=record,
        )
        self.append([draft])

    # -- records of their own ------------------------------------------------------------

    def append_record(self, kind: str, name: str, record: dict[str, Any]) -> PostedEntry:
        """Append a record of kind ``kind`` (no postings; ``record`` its top-level members).

        Its key is ``<kind>:<name>`` (a reserved prefix: no client entry can take it). Asked
        again with the same members it returns the stored record; with others it is
        ``IDEMPOTENCY_CONFLICT``.
        """
        members = RECORD_KINDS.get(kind)
        if members is None or set(record) != set(members):
            raise InvalidEntryError(
                f"not a record of kind {kind!r}: members {sorted(record)}", kind=kind
            )
        key = f"{kind}:{name}"
        digest = request_digest({"kind": kind, "record": record})
        prior = self._existing([key]).get(key)
        if prior is not None:
            check_same_request(key, prior[0], digest)
            return posted_entry_from_object(json.loads(prior[1]))
        now = self.clock()
        draft = Draft(
            key=key,
            kind=kind,
            status="posted",
            effective_at=now,
            description="",
            metadata={},
            legs=[],
            request_digest=digest,
            record=dict(record),
        )
        (posted,) = self.append([draft])
        log.info(kind, key=key)
        return posted

    def cycle_cutoff(self, cycle: int, obligations: int, digest: str) -> PostedEntry:
        """The ``cycle_cutoff`` record of clearing cycle ``cycle``, key ``cycle_cutoff:<cycle>``."""
        return self.append_record(
            "cycle_cutoff",
            str(cycle),
            {"cycle": cycle, "obligations": obligations, "digest": digest},
        )

    # -- posting -------------------------------------------------------------------------

    def post_many(self, entries: Sequence[Entry]) -> list[PostedEntry]:
        if len(entries) > BATCH_SIZE_MAX:
            raise LimitExceededError(
                f"{len(entries)} entries in one batch; the limit is {BATCH_SIZE_MAX}",
                limit="batch_size_max",
                limit_value=BATCH_SIZE_MAX,
            )
        drafts: list[Draft] = []
        for index, entry in enumerate(entries):
            try:
                legs = validate_shape(entry)
            except Exception as error:
                if hasattr(error, "details"):
                    error.details.setdefault("index", index)
                raise
            drafts.append(draft_from_entry(entry, legs))
        return self.write(drafts)

    def write(self, drafts: Sequence[Draft]) -> list[PostedEntry]:
        """Idempotency, account checks and append. Returns one PostedEntry per draft."""
        existing = self._existing(draft.key for draft in drafts)
        slots: list[PostedEntry | int] = []  # a replayed entry, or the index of a fresh draft
        fresh: list[Draft] = []
        fresh_by_key: dict[str, int] = {}
        for draft in drafts:
            prior = existing.get(draft.key)
            if prior is not None:
                digest, line = prior
                check_same_request(draft.key, digest, draft.request_digest)
                slots.append(posted_entry_from_object(json.loads(line)))
                log.info("entry_replayed", key=draft.key)
            elif draft.key in fresh_by_key:  # the same key twice in one batch
                index = fresh_by_key[draft.key]
                check_same_request(draft.key, fresh[index].request_digest, draft.request_digest)
                slots.append(index)
            else:
                raise_problems(check_not_reserved(draft.key), key=draft.key)
                fresh_by_key[draft.key] = len(fresh)
                slots.append(len(fresh))
                fresh.append(draft)
        snapshots = snapshots_of(
            self.lock_accounts(leg.account for draft in fresh for leg in draft.legs)
        )
        for draft in fresh:
            raise_problems(check_accounts(draft.legs, snapshots), key=draft.key)
        posted = self.append(fresh)
        return [posted[slot] if isinstance(slot, int) else slot for slot in slots]

    def _existing(self, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Request digest and stored line of each key already in the journal."""
        wanted = sorted(set(keys))
        found: dict[str, tuple[str, str]] = {}
        for chunk in chunks(wanted):
            statement = self._sql(
                f"SELECT key, request_digest, line FROM {journal_entries.name} "
                f"WHERE key IN ({', '.join('?' * len(chunk))})"
            )
            self._cursor.execute(statement, tuple(chunk))
            for key, digest, line in self._cursor.fetchall():
                found[key] = (digest, line)
        return found

    # -- the append path -----------------------------------------------------------------

    def append(self, drafts: Sequence[Draft]) -> list[PostedEntry]:
        """Sequence, hash and store drafts whose accounts are valid and locked."""
        if not drafts:
            return []
        now = self.clock()
        head = (self._last_seq, self._last_hash)
        self._apply_all(drafts)
        assert (self._last_seq, self._last_hash) == head
        posted: list[PostedEntry] = []
        rows = _Rows()
        for draft in drafts:
            entry, line = self._sequence(draft, now)
            posted.append(entry)
            rows.add(entry, draft, line, self._accounts)
        rows.insert(self.connection, self._cursor)
        self._write_balances()
        self._write_head()
        if _stdlib_log.isEnabledFor(logging.INFO):  # one check per batch, not per entry
            for entry in posted:
                log.info("entry_posted", key=entry.key, seq=entry.seq, kind=entry.kind)
        return posted

    def _apply_all(self, drafts: Sequence[Draft]) -> None:
        """Apply every draft to the locked balances, or, if one is refused, none of them."""
        touched = {leg.account for draft in drafts for leg in (*draft.legs, *draft.releases)}
        saved = {
            code: (state.values(), tuple(state.applied))
            for code, state in self._accounts.items()
            if code in touched
        }
        try:
            for draft in drafts:
                self._apply(draft)
        except BaseException:
            # A rejected batch leaves the transaction's view of balances as it found it.
            for code, (columns, applied) in saved.items():
                self._accounts[code].restore(columns, applied)
            raise

    def _apply(self, draft: Draft) -> None:
        """Move the draft's legs into the locked balances, then check constraints."""
        pending = draft.status == "pending"
        touched: dict[str, AccountState] = {}
        for leg in draft.releases:
            state = self._accounts[leg.account]
            column = DEBITS_PENDING if leg.is_debit else CREDITS_PENDING
            state.move(column, -leg.amount_minor)
            assert state.columns[column] >= 0, "released more than was pending"
            touched[leg.account] = state
        for leg in draft.legs:
            state = self._accounts[leg.account]
            if pending:
                column = DEBITS_PENDING if leg.is_debit else CREDITS_PENDING
            else:
                column = DEBITS_POSTED if leg.is_debit else CREDITS_POSTED
            state.move(column, leg.amount_minor)
            touched[leg.account] = state
        for state in touched.values():
            check_limits(state, draft)

    def _sequence(self, draft: Draft, now: datetime) -> tuple[PostedEntry, str]:
        """Give the draft the next seq, chain it to the head, return it with its stored line."""
        entry = unsealed_entry(draft, self._last_seq + 1, self._last_hash, now)
        digest, line = seal_entry(entry)
        # The entry has not escaped yet: complete it in place rather than copy it (hot path).
        object.__setattr__(entry, "hash", digest)
        self._last_seq, self._last_hash = entry.seq, digest
        return entry, line

    def _write_balances(self) -> None:
        rows = []
        for state in self._accounts.values():
            if not state.dirty:
                continue
            values = state.values()
            assert min(values) >= 0, f"negative balance column on {state.snapshot.code}"
            assert tuple(r + d for r, d in zip(state.read, state.applied, strict=True)) == values, (
                f"balance of {state.snapshot.code} drifted from what was read plus its legs"
            )
            rows.append((*values, state.snapshot.id))
            state.dirty = False
        if rows:
            self._cursor.executemany(self._sql(_UPDATE_BALANCES), rows)

    def _write_head(self) -> None:
        self._cursor.execute(self._sql(_UPDATE_HEAD), (self._last_seq, self._last_hash))

    def head(self) -> tuple[int, str]:
        return self._last_seq, self._last_hash

    # -- two-phase and reversal (see two_phase.py) ---------------------------------------

    def post_pending(
        self, pending_key: str, new_key: str, amount: Money | None = None
    ) -> PostedEntry:
        return two_phase.post_pending(self, pending_key, new_key, amount)

    def void_pending(self, pending_key: str, new_key: str) -> PostedEntry:
        return two_phase.void_pending(self, pending_key, new_key)

    def expire_pending(self, now: datetime) -> list[PostedEntry]:
        """Expire every pending entry whose ``expires_at`` is at or before ``now``, oldest first."""
        return two_phase.expire_pending(self, now)

    def expire_one(self, pending_key: str, now: datetime | None = None) -> PostedEntry:
        """Expire one pending entry; with ``now``, only if it is due by then."""
        return two_phase.expire_one(self, pending_key, now)

    def reverse(self, key: str, new_key: str) -> PostedEntry:
        return two_phase.reverse(self, key, new_key)


__all__ = ["Transaction"]

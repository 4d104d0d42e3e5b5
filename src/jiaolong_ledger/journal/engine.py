"""The posting engine: the single writer of the journal, the postings and the balances.

A :class:`Transaction` is one database transaction. It locks the chain head first (the writers'
mutex: ``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL), then the accounts
it touches in ascending id order, so concurrent writers queue rather than deadlock. Everything it
writes (entries, postings, balance rows, pending state, a sub-domain's own rows on the same
connection) commits together or not at all: a rejected call leaves no entry, no balance change,
no consumed key and no gap in ``seq``.

Writing an entry is: validate (pure passes) -> resolve idempotency -> apply balance deltas in
memory, checking constraints and 64-bit overflow after each entry -> assign seq and hash ->
insert rows in bulk -> write back the touched balance rows. The balances written are asserted to
equal what was read plus the entry's legs (pair assertions).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

from moneyed import Money
from sqlalchemy import Connection, select, update

from jiaolong_ledger.accounts.model import (
    AccountStatus,
    Balance,
    check_account_code,
    check_constraint,
    check_kind,
)
from jiaolong_ledger.errors import (
    AccountExistsError,
    AccountNotEmptyError,
    AccountNotFoundError,
    AlreadyReversedError,
    AmountNotPositiveError,
    AmountOverflowError,
    ConstraintViolatedError,
    CurrencyMismatchError,
    EntryNotFoundError,
    IdempotencyConflictError,
    InvalidEntryError,
    LimitExceededError,
    PendingAlreadyPostedError,
    PendingAlreadyVoidedError,
    PendingAmountExceededError,
    PendingExpiredError,
    PendingNotFoundError,
)
from jiaolong_ledger.journal.canonical import (
    GENESIS_HASH,
    canonical_bytes,
    seal_entry,
)
from jiaolong_ledger.journal.entry import Entry, PostedEntry, PostedPosting, thaw
from jiaolong_ledger.journal.validation import (
    BATCH_SIZE_MAX,
    AccountSnapshot,
    Leg,
    check_accounts,
    check_key,
    check_not_reserved,
    raise_problems,
    validate_shape,
)
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import AMOUNT_MINOR_MAX, check_currency, format_minor, money_to_minor
from jiaolong_ledger.storage.tables import (
    accounts,
    journal_entries,
    pending_entries,
)

log = get_logger("jiaolong_ledger.journal")
_stdlib_log = logging.getLogger("jiaolong_ledger.journal")

QUERY_CHUNK_SIZE: Final = 2_000
"""Largest IN-list sent in one query (SQLite's variable limit is the binding one)."""

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


DEBITS_POSTED, CREDITS_POSTED, DEBITS_PENDING, CREDITS_PENDING = range(4)


@dataclass(slots=True)
class AccountState:
    """An account locked by the current transaction, with balances as they stand in it.

    ``columns`` holds (debits_posted, credits_posted, debits_pending, credits_pending) in minor
    units; ``read`` is what the database held when the account was locked and ``applied`` the
    sum of the legs moved since, so ``read + applied == columns`` is asserted before writing.
    """

    snapshot: AccountSnapshot
    columns: list[int]
    read: tuple[int, ...]
    applied: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    dirty: bool = False

    def move(self, column: int, amount_minor: int) -> None:
        self.columns[column] += amount_minor
        self.applied[column] += amount_minor
        self.dirty = True

    def values(self) -> tuple[int, int, int, int]:
        dp, cp, dq, cq = self.columns
        return dp, cp, dq, cq

    def restore(self, columns: tuple[int, ...], applied: tuple[int, ...]) -> None:
        self.columns[:] = columns
        self.applied[:] = applied

    @property
    def debits_posted(self) -> int:
        return self.columns[DEBITS_POSTED]

    @property
    def credits_posted(self) -> int:
        return self.columns[CREDITS_POSTED]

    @property
    def debits_pending(self) -> int:
        return self.columns[DEBITS_PENDING]

    @property
    def credits_pending(self) -> int:
        return self.columns[CREDITS_PENDING]

    def balance(self) -> Balance:
        snap = self.snapshot
        return Balance(snap.code, snap.currency, snap.kind, *self.values())


@dataclass(slots=True)
class Draft:
    """An entry ready to be sequenced: everything but seq, prev_hash and hash."""

    key: str
    kind: str
    status: str
    effective_at: datetime | None
    description: str
    metadata: dict[str, Any]
    legs: list[Leg]
    request_digest: str
    pending_key: str | None = None
    expires_at: datetime | None = None
    account: dict[str, Any] | None = None
    releases: list[Leg] = field(default_factory=list)
    recorded_at: datetime | None = None


def request_digest(payload: dict[str, Any]) -> str:
    """Fingerprint of what the client asked for, to tell a retry from a conflicting reuse."""
    return hashlib.sha256(canonical_bytes(payload)).hexdigest()


def _entry_digest(entry: Entry, legs: Sequence[Leg]) -> str:
    """Fingerprint of a client entry: ``repr`` of plain tuples is deterministic and cheap."""
    from jiaolong_ledger.journal.canonical import format_timestamp

    metadata = canonical_bytes(thaw(entry.metadata)).decode() if entry.metadata else ""
    fingerprint = (
        "pending" if entry.pending else entry.kind,
        tuple((leg.account, leg.is_debit, leg.amount_minor, leg.currency) for leg in legs),
        entry.description,
        metadata,
        format_timestamp(entry.effective_at) if entry.effective_at else None,
        format_timestamp(entry.expires_at) if entry.expires_at else None,
    )
    return hashlib.sha256(repr(fingerprint).encode()).hexdigest()


def posted_entry_from_object(obj: dict[str, Any]) -> PostedEntry:
    from jiaolong_ledger.journal.canonical import parse_timestamp
    from jiaolong_ledger.money import parse_minor

    return PostedEntry(
        seq=obj["seq"],
        key=obj["key"],
        kind=obj["kind"],
        status=obj["status"],
        effective_at=parse_timestamp(obj["effective_at"]),
        recorded_at=parse_timestamp(obj["recorded_at"]),
        description=obj["description"],
        metadata=obj["metadata"],
        postings=tuple(
            PostedPosting(
                p["account"], p["side"], parse_minor(p["amount"], p["currency"]), p["currency"]
            )
            for p in obj["postings"]
        ),
        prev_hash=obj["prev_hash"],
        hash=obj["hash"],
        pending_key=obj.get("pending_key"),
        expires_at=parse_timestamp(obj["expires_at"]) if "expires_at" in obj else None,
        account=obj.get("account"),
    )


def _chunks(items: Sequence[Any], size: int = QUERY_CHUNK_SIZE) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Batch:
    """Rows of one append, inserted with one driver-level statement per table.

    SQLite gets plain ``executemany`` of tuples (timestamps pre-rendered by the column type's
    own bind processor, so SQLAlchemy reads them back as usual). PostgreSQL gets one ``COPY``
    per table: a single statement, which is also what
    lets the statement-level balance trigger see every posting of every entry at once.
    """

    JOURNAL_COLUMNS: Final = (
        "seq",
        "key",
        "kind",
        "status",
        "effective_at",
        "recorded_at",
        "link_key",
        "request_digest",
        "prev_hash",
        "hash",
        "line",
    )
    POSTING_COLUMNS: Final = (
        "entry_seq",
        "position",
        "account_id",
        "is_debit",
        "amount_minor",
        "currency",
        "is_pending",
    )

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self.journal: list[tuple[Any, ...]] = []
        self.postings: list[tuple[Any, ...]] = []
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
        if self.postgres:
            self._copy(connection, "journal_entries", self.JOURNAL_COLUMNS, self.journal)
            if self.postings:
                self._copy(connection, "postings", self.POSTING_COLUMNS, self.postings)
        else:
            self._sqlite(connection, cursor)
        if self.pending:
            connection.execute(pending_entries.insert(), self.pending)

    @staticmethod
    def _copy(
        connection: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> None:
        """``COPY ... FROM STDIN`` on the transaction's own psycopg connection: one statement."""
        driver: Any = connection.connection.driver_connection
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def _sqlite(self, connection: Connection, cursor: Any) -> None:
        dialect = connection.dialect
        render = journal_entries.c.effective_at.type.dialect_impl(dialect).bind_processor(dialect)
        assert render is not None
        rendered = {}
        rows = []
        for row in self.journal:
            effective, recorded = row[4], row[5]
            if effective not in rendered:
                rendered[effective] = render(effective)
            if recorded not in rendered:
                rendered[recorded] = render(recorded)
            rows.append((*row[:4], rendered[effective], rendered[recorded], *row[6:]))
        columns = ", ".join(self.JOURNAL_COLUMNS)
        placeholders = ", ".join("?" for _ in self.JOURNAL_COLUMNS)
        cursor.executemany(f"INSERT INTO journal_entries ({columns}) VALUES ({placeholders})", rows)
        if self.postings:
            placeholders = ", ".join("?" for _ in self.POSTING_COLUMNS)
            cursor.executemany(
                f"INSERT INTO postings ({', '.join(self.POSTING_COLUMNS)}) VALUES ({placeholders})",
                self.postings,
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
        self._cursor.execute(
            self._sql(f"SELECT last_seq, last_hash FROM chain_head WHERE id = 1{lock}")
        )
        row = self._cursor.fetchone()
        return int(row[0]), str(row[1])

    def lock_accounts(self, codes: Iterable[str]) -> dict[str, AccountState]:
        """Load (on PostgreSQL: lock, id ascending) the accounts named; missing ones are absent."""
        wanted = sorted({code for code in codes if code not in self._accounts})
        lock = " FOR UPDATE" if self._postgres else ""
        for chunk in _chunks(wanted):
            statement = self._sql(
                "SELECT id, code, currency, kind, balance_constraint, status, "
                "debits_posted_minor, credits_posted_minor, debits_pending_minor, "
                f"credits_pending_minor FROM accounts WHERE code IN ({', '.join('?' * len(chunk))})"
                f" ORDER BY id{lock}"
            )
            self._cursor.execute(statement, tuple(chunk))
            for row in self._cursor.fetchall():
                values = (int(row[6]), int(row[7]), int(row[8]), int(row[9]))
                assert min(values) >= 0, f"negative balance column read on {row[1]}"
                snapshot = AccountSnapshot(row[0], row[1], row[2], row[3], row[4], row[5])
                self._accounts[row[1]] = AccountState(snapshot, list(values), read=values)
        return self._accounts

    def _snapshots(self) -> dict[str, AccountSnapshot]:
        return {code: state.snapshot for code, state in self._accounts.items()}

    def account(self, code: str) -> AccountState:
        state = self.lock_accounts([code]).get(code)
        if state is None:
            raise AccountNotFoundError(f"no account {code!r}", account=code)
        return state

    # -- accounts ------------------------------------------------------------------------

    def open_account(
        self, code: str, currency: str, kind: str, constraint: str | None = None
    ) -> AccountSnapshot:
        check_account_code(code)
        check_currency(currency)
        check_kind(kind)
        check_constraint(constraint)
        if code in self.lock_accounts([code]):
            raise AccountExistsError(f"account {code!r} already exists", account=code)
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
            from jiaolong_ledger.errors import AccountClosedError

            raise AccountClosedError(f"account {code!r} is closed", account=code)
        if status == AccountStatus.CLOSED and not state.balance().is_zero():
            raise AccountNotEmptyError(
                f"account {code!r} has a balance and cannot be closed",
                **state.balance().to_dict(),  # names the account and every balance column
            )
        if snap.status == status.value:
            return snap
        record_kind = {
            AccountStatus.FROZEN: "freeze_account",
            AccountStatus.OPEN: "unfreeze_account",
            AccountStatus.CLOSED: "close_account",
        }[status]
        self.connection.execute(
            update(accounts).where(accounts.c.id == snap.id).values(status=status.value)
        )
        state.snapshot = replace(snap, status=status.value)
        self._append_account_record(record_kind, state.snapshot, self.clock())
        log.info(record_kind.replace("_account", "") + "_account", account=code)
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
            drafts.append(
                Draft(
                    key=entry.key,
                    kind="pending" if entry.pending else entry.kind,
                    status="pending" if entry.pending else "posted",
                    effective_at=entry.effective_at,
                    description=entry.description,
                    metadata=thaw(entry.metadata),
                    legs=legs,
                    request_digest=_entry_digest(entry, legs),
                    expires_at=entry.expires_at,
                )
            )
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
                self._check_same(draft.key, digest, draft.request_digest)
                slots.append(posted_entry_from_object(json.loads(line)))
                log.info("entry_replayed", key=draft.key)
            elif draft.key in fresh_by_key:  # the same key twice in one batch
                index = fresh_by_key[draft.key]
                self._check_same(draft.key, fresh[index].request_digest, draft.request_digest)
                slots.append(index)
            else:
                raise_problems(check_not_reserved(draft.key), key=draft.key)
                fresh_by_key[draft.key] = len(fresh)
                slots.append(len(fresh))
                fresh.append(draft)
        self.lock_accounts(leg.account for draft in fresh for leg in draft.legs)
        snapshots = self._snapshots()
        for draft in fresh:
            raise_problems(check_accounts(draft.legs, snapshots), key=draft.key)
        posted = self.append(fresh)
        return [posted[slot] if isinstance(slot, int) else slot for slot in slots]

    @staticmethod
    def _check_same(key: str, stored: str, asked: str) -> None:
        if stored != asked:
            raise IdempotencyConflictError(
                f"key {key!r} was already used for a different entry", key=key
            )

    def _existing(self, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        wanted = sorted(set(keys))
        found: dict[str, tuple[str, str]] = {}
        for chunk in _chunks(wanted):
            statement = self._sql(
                "SELECT key, request_digest, line FROM journal_entries "
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
        posted: list[PostedEntry] = []
        touched = {leg.account for draft in drafts for leg in (*draft.legs, *draft.releases)}
        saved = {
            code: (state.values(), tuple(state.applied))
            for code, state in self._accounts.items()
            if code in touched
        }
        head = (self._last_seq, self._last_hash)
        try:
            for draft in drafts:
                self._apply(draft)
        except BaseException:
            # A rejected batch leaves the transaction's view of balances as it found it.
            for code, (columns, applied) in saved.items():
                self._accounts[code].restore(columns, applied)
            raise
        assert (self._last_seq, self._last_hash) == head
        batch = _Batch(self._postgres)
        for draft in drafts:
            entry, line = self._sequence(draft, now)
            posted.append(entry)
            batch.add(entry, draft, line, self._accounts)
        batch.insert(self.connection, self._cursor)
        self._write_balances()
        self._write_head()
        if _stdlib_log.isEnabledFor(logging.INFO):  # one check per batch, not per entry
            for entry in posted:
                log.info("entry_posted", key=entry.key, seq=entry.seq, kind=entry.kind)
        return posted

    def _sequence(self, draft: Draft, now: datetime) -> tuple[PostedEntry, str]:
        """Give the draft the next seq, chain it to the head, return it with its stored line."""
        seq = self._last_seq + 1
        recorded_at = draft.recorded_at or now
        entry = PostedEntry(
            seq=seq,
            key=draft.key,
            kind=draft.kind,
            status=draft.status,
            effective_at=draft.effective_at or recorded_at,
            recorded_at=recorded_at,
            description=draft.description,
            metadata=draft.metadata,
            postings=tuple(
                PostedPosting(
                    leg.account,
                    "debit" if leg.is_debit else "credit",
                    leg.amount_minor,
                    leg.currency,
                )
                for leg in draft.legs
            ),
            prev_hash=self._last_hash,
            hash="",
            pending_key=draft.pending_key,
            expires_at=draft.expires_at,
            account=draft.account,
        )
        digest, line = seal_entry(entry)
        # The entry has not escaped yet: complete it in place rather than copy it (hot path).
        object.__setattr__(entry, "hash", digest)
        self._last_seq, self._last_hash = seq, digest
        return entry, line

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
            self._check_limits(state, draft)

    def _check_limits(self, state: AccountState, draft: Draft) -> None:
        if max(state.values()) > AMOUNT_MINOR_MAX:
            raise AmountOverflowError(
                f"account {state.snapshot.code!r} would exceed 64-bit minor units",
                account=state.snapshot.code,
                key=draft.key,
            )
        constraint = state.snapshot.constraint
        if constraint is None or draft.kind in ("void_pending", "expire_pending"):
            return
        if constraint == "debits_must_not_exceed_credits":
            limit, used = state.credits_posted, state.debits_posted + state.debits_pending
        else:
            limit, used = state.debits_posted, state.credits_posted + state.credits_pending
        if used <= limit:
            return
        asked = sum(
            leg.amount_minor
            for leg in draft.legs
            if leg.account == state.snapshot.code
            and leg.is_debit == (constraint == "debits_must_not_exceed_credits")
        )
        currency = state.snapshot.currency
        raise ConstraintViolatedError(
            f"account {state.snapshot.code!r} ({constraint}) cannot take "
            f"{format_minor(asked, currency)} {currency}: available "
            f"{format_minor(limit - (used - asked), currency)} {currency}",
            account=state.snapshot.code,
            constraint=constraint,
            currency=currency,
            available=format_minor(limit - (used - asked), currency),
            asked=format_minor(asked, currency),
            key=draft.key,
        )

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
            self._cursor.executemany(
                self._sql(
                    "UPDATE accounts SET debits_posted_minor = ?, credits_posted_minor = ?, "
                    "debits_pending_minor = ?, credits_pending_minor = ? WHERE id = ?"
                ),
                rows,
            )

    def _write_head(self) -> None:
        self._cursor.execute(
            self._sql("UPDATE chain_head SET last_seq = ?, last_hash = ? WHERE id = 1"),
            (self._last_seq, self._last_hash),
        )

    # -- two-phase and reversal ----------------------------------------------------------

    def _load_entry(self, key: str) -> tuple[PostedEntry, dict[str, Any]] | None:
        row = self.connection.execute(
            select(journal_entries.c.line).where(journal_entries.c.key == key)
        ).first()
        if row is None:
            return None
        obj = json.loads(row.line)
        return posted_entry_from_object(obj), obj

    def _replay_or_none(self, new_key: str, digest: str) -> PostedEntry | None:
        raise_problems(check_key(new_key, "new_key"))
        prior = self._existing([new_key]).get(new_key)
        if prior is None:
            raise_problems(check_not_reserved(new_key, "new_key"))
            return None
        self._check_same(new_key, prior[0], digest)
        return posted_entry_from_object(json.loads(prior[1]))

    def _pending(self, pending_key: str, now: datetime) -> tuple[PostedEntry, list[Leg]]:
        query = select(pending_entries).where(pending_entries.c.key == pending_key)
        if self._postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        if row is None:
            raise PendingNotFoundError(f"no pending entry {pending_key!r}", pending_key=pending_key)
        if row.state == "posted":
            raise PendingAlreadyPostedError(
                f"{pending_key!r} was already posted", pending_key=pending_key
            )
        if row.state == "voided":
            raise PendingAlreadyVoidedError(f"{pending_key!r} was voided", pending_key=pending_key)
        if row.state == "expired" or (row.expires_at is not None and row.expires_at <= now):
            raise PendingExpiredError(
                f"{pending_key!r} expired", pending_key=pending_key, expires_at=str(row.expires_at)
            )
        loaded = self._load_entry(pending_key)
        assert loaded is not None, "pending row without its journal entry"
        entry = loaded[0]
        legs = [
            Leg(p.account, p.side == "debit", p.amount_minor, p.currency) for p in entry.postings
        ]
        return entry, legs

    def _resolve(
        self,
        kind: str,
        pending_key: str,
        new_key: str,
        digest: str,
        legs: list[Leg],
        releases: list[Leg],
    ) -> PostedEntry:
        self.lock_accounts(leg.account for leg in releases)
        raise_problems(check_accounts(legs, self._snapshots()), key=new_key)
        draft = Draft(
            key=new_key,
            kind=kind,
            status="posted",
            effective_at=None,
            description="",
            metadata={},
            legs=legs,
            request_digest=digest,
            pending_key=pending_key,
            releases=releases,
        )
        entry = self.append([draft])[0]
        state = {"post_pending": "posted", "void_pending": "voided", "expire_pending": "expired"}[
            kind
        ]
        self.connection.execute(
            update(pending_entries)
            .where(pending_entries.c.key == pending_key)
            .values(state=state, resolved_seq=entry.seq)
        )
        return entry

    def post_pending(
        self, pending_key: str, new_key: str, amount: Money | None = None
    ) -> PostedEntry:
        amount_minor = money_to_minor(amount) if amount is not None else None
        digest = request_digest(
            {"kind": "post_pending", "pending_key": pending_key, "amount": list(amount_minor or [])}
        )
        replayed = self._replay_or_none(new_key, digest)
        if replayed is not None:
            return replayed
        _, releases = self._pending(pending_key, self.clock())
        legs = releases
        if amount_minor is not None:
            legs = self._partial_legs(pending_key, releases, *amount_minor)
        return self._resolve("post_pending", pending_key, new_key, digest, legs, releases)

    @staticmethod
    def _partial_legs(
        pending_key: str, releases: list[Leg], minor: int, currency: str
    ) -> list[Leg]:
        if minor <= 0:
            raise AmountNotPositiveError("amount to post must be positive", pending_key=pending_key)
        amounts = {leg.amount_minor for leg in releases}
        currencies = {leg.currency for leg in releases}
        if len(amounts) != 1 or len(currencies) != 1:
            raise InvalidEntryError(
                "a partial post needs a pending entry whose postings all carry one amount "
                "in one currency; post it in full or void it",
                pending_key=pending_key,
            )
        full, pending_currency = amounts.pop(), currencies.pop()
        if currency != pending_currency:
            raise CurrencyMismatchError(
                f"pending entry is in {pending_currency}, amount is in {currency}",
                pending_key=pending_key,
            )
        if minor > full:
            raise PendingAmountExceededError(
                f"cannot post {format_minor(minor, currency)} {currency}: pending amount is "
                f"{format_minor(full, currency)}",
                pending_key=pending_key,
                asked=format_minor(minor, currency),
                pending=format_minor(full, currency),
            )
        return [replace(leg, amount_minor=minor) for leg in releases]

    def void_pending(self, pending_key: str, new_key: str) -> PostedEntry:
        digest = request_digest({"kind": "void_pending", "pending_key": pending_key})
        replayed = self._replay_or_none(new_key, digest)
        if replayed is not None:
            return replayed
        _, releases = self._pending(pending_key, self.clock())
        return self._resolve("void_pending", pending_key, new_key, digest, [], releases)

    def expire_pending(self, now: datetime) -> list[PostedEntry]:
        """Expire every pending entry whose ``expires_at`` is at or before ``now``, oldest first."""
        rows = self.connection.execute(
            select(pending_entries.c.key)
            .where(pending_entries.c.state == "pending")
            .where(pending_entries.c.expires_at.is_not(None))
            .where(pending_entries.c.expires_at <= now)
            .order_by(pending_entries.c.entry_seq)
        ).all()
        return [self.expire_one(row.key, now) for row in rows]

    def expire_one(self, pending_key: str, now: datetime | None = None) -> PostedEntry:
        """Expire one pending entry (key ``expire_pending:<pending_key>``).

        With ``now``, the entry must be due by then; without, it is expired as asked (replay
        re-applies an expiry the journal already records).
        """
        row = self.connection.execute(
            select(pending_entries.c.state, pending_entries.c.expires_at).where(
                pending_entries.c.key == pending_key
            )
        ).first()
        if row is None or row.state != "pending":
            raise PendingNotFoundError(
                f"no open pending entry {pending_key!r} to expire", pending_key=pending_key
            )
        if now is not None and (row.expires_at is None or row.expires_at > now):
            raise InvalidEntryError(
                f"{pending_key!r} is not due to expire", pending_key=pending_key
            )
        loaded = self._load_entry(pending_key)
        assert loaded is not None, "pending row without its journal entry"
        releases = [
            Leg(p.account, p.side == "debit", p.amount_minor, p.currency)
            for p in loaded[0].postings
        ]
        digest = request_digest({"kind": "expire_pending", "pending_key": pending_key})
        new_key = f"expire_pending:{pending_key}"
        return self._resolve("expire_pending", pending_key, new_key, digest, [], releases)

    def reverse(self, key: str, new_key: str) -> PostedEntry:
        digest = request_digest({"kind": "reversal", "reverses": key})
        replayed = self._replay_or_none(new_key, digest)
        if replayed is not None:
            return replayed
        loaded = self._load_entry(key)
        if loaded is None:
            raise EntryNotFoundError(f"no entry {key!r}", key=key)
        original = loaded[0]
        if original.status != "posted" or not original.postings:
            raise InvalidEntryError(
                f"entry {key!r} ({original.kind}) cannot be reversed"
                + ("; void the pending entry instead" if original.status == "pending" else ""),
                key=key,
            )
        already = self.connection.execute(
            select(journal_entries.c.key)
            .where(journal_entries.c.link_key == key)
            .where(journal_entries.c.kind == "reversal")
        ).first()
        if already is not None:
            raise AlreadyReversedError(f"{key!r} was already reversed by {already.key!r}", key=key)
        legs = [
            Leg(p.account, p.side != "debit", p.amount_minor, p.currency) for p in original.postings
        ]
        self.lock_accounts(leg.account for leg in legs)
        raise_problems(check_accounts(legs, self._snapshots()), key=new_key)
        draft = Draft(
            key=new_key,
            kind="reversal",
            status="posted",
            effective_at=None,
            description=f"reversal of {key}",
            metadata={"reverses": key},
            legs=legs,
            request_digest=digest,
        )
        return self.append([draft])[0]

    def head(self) -> tuple[int, str]:
        return self._last_seq, self._last_hash


__all__ = [
    "GENESIS_HASH",
    "AccountState",
    "Draft",
    "Transaction",
    "posted_entry_from_object",
    "utc_now",
]

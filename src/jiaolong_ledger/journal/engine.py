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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

from moneyed import Money
from sqlalchemy import Connection, bindparam, select, text, update

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
    chain_hash,
    entry_object,
    line_of,
)
from jiaolong_ledger.journal.entry import Entry, PostedEntry, PostedPosting, thaw
from jiaolong_ledger.journal.validation import (
    BATCH_SIZE_MAX,
    AccountSnapshot,
    Leg,
    check_accounts,
    check_key,
    raise_problems,
    validate_shape,
)
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import AMOUNT_MINOR_MAX, check_currency, format_minor, money_to_minor
from jiaolong_ledger.storage.tables import (
    accounts,
    chain_head,
    journal_entries,
    pending_entries,
    postings,
)

log = get_logger("jiaolong_ledger.journal")

QUERY_CHUNK_SIZE: Final = 2_000
"""Largest IN-list sent in one query (SQLite's variable limit is the binding one)."""

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class AccountState:
    """An account locked by the current transaction, with balances as they stand in it."""

    snapshot: AccountSnapshot
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    read: tuple[int, int, int, int] = (0, 0, 0, 0)
    dirty: bool = False

    def values(self) -> tuple[int, int, int, int]:
        return (self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending)

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
    from jiaolong_ledger.journal.canonical import format_timestamp

    return request_digest(
        {
            "kind": "pending" if entry.pending else entry.kind,
            "legs": [[leg.account, leg.is_debit, leg.amount_minor, leg.currency] for leg in legs],
            "description": entry.description,
            "metadata": thaw(entry.metadata),
            "effective_at": format_timestamp(entry.effective_at) if entry.effective_at else None,
            "expires_at": format_timestamp(entry.expires_at) if entry.expires_at else None,
        }
    )


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


class Transaction:
    """One write transaction on the ledger. Obtain it from ``Ledger.transaction()``."""

    def __init__(self, connection: Connection, clock: Clock = utc_now) -> None:
        self.connection = connection
        self.clock = clock
        self._postgres = connection.dialect.name == "postgresql"
        self._accounts: dict[str, AccountState] = {}
        self._last_seq, self._last_hash = self._lock_chain_head()
        self._head_read = (self._last_seq, self._last_hash)

    # -- locking -------------------------------------------------------------------------

    def _lock_chain_head(self) -> tuple[int, str]:
        query = select(chain_head.c.last_seq, chain_head.c.last_hash).where(chain_head.c.id == 1)
        if self._postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).one()
        return int(row.last_seq), str(row.last_hash)

    def lock_accounts(self, codes: Iterable[str]) -> dict[str, AccountState]:
        """Load (on PostgreSQL: lock, id ascending) the accounts named; missing ones are absent."""
        wanted = sorted({code for code in codes if code not in self._accounts})
        for chunk in _chunks(wanted):
            query = select(accounts).where(accounts.c.code.in_(chunk)).order_by(accounts.c.id)
            if self._postgres:
                query = query.with_for_update()
            for row in self.connection.execute(query):
                values = (
                    int(row.debits_posted_minor),
                    int(row.credits_posted_minor),
                    int(row.debits_pending_minor),
                    int(row.credits_pending_minor),
                )
                snapshot = AccountSnapshot(
                    row.id, row.code, row.currency, row.kind, row.balance_constraint, row.status
                )
                self._accounts[row.code] = AccountState(snapshot, *values, read=values)
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
        self._accounts[code] = AccountState(snapshot, 0, 0, 0, 0)
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
                account=code,
                **state.balance().to_dict(),
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
        results: list[PostedEntry | None] = []
        fresh: list[Draft] = []
        fresh_index: list[int] = []
        seen: dict[str, Draft] = {}
        for draft in drafts:
            prior = existing.get(draft.key)
            if prior is None and draft.key in seen:
                prior_draft = seen[draft.key]
                self._check_same(draft.key, prior_draft.request_digest, draft.request_digest)
                fresh_index.append(fresh.index(prior_draft))
                results.append(None)
                continue
            if prior is not None:
                digest, line = prior
                self._check_same(draft.key, digest, draft.request_digest)
                results.append(posted_entry_from_object(json.loads(line)))
                log.info("entry_replayed", key=draft.key)
                continue
            seen[draft.key] = draft
            fresh_index.append(len(fresh))
            fresh.append(draft)
            results.append(None)
        self.lock_accounts(leg.account for draft in fresh for leg in draft.legs)
        snapshots = self._snapshots()
        for index, draft in enumerate(fresh):
            raise_problems(
                check_accounts(draft.legs, snapshots),
                key=draft.key,
                index=index,
            )
        posted = self.append(fresh)
        cursor = iter(fresh_index)
        out: list[PostedEntry] = []
        for result in results:
            out.append(result if result is not None else posted[next(cursor)])
        return out

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
            query = select(
                journal_entries.c.key, journal_entries.c.request_digest, journal_entries.c.line
            ).where(journal_entries.c.key.in_(chunk))
            for row in self.connection.execute(query):
                found[row.key] = (row.request_digest, row.line)
        return found

    # -- the append path -----------------------------------------------------------------

    def append(self, drafts: Sequence[Draft]) -> list[PostedEntry]:
        """Sequence, hash and store drafts whose accounts are valid and locked."""
        if not drafts:
            return []
        now = self.clock()
        posted: list[PostedEntry] = []
        journal_rows: list[dict[str, Any]] = []
        posting_rows: list[dict[str, Any]] = []
        pending_rows: list[dict[str, Any]] = []
        saved = {code: state.values() for code, state in self._accounts.items()}
        head = (self._last_seq, self._last_hash)
        try:
            for draft in drafts:
                self._apply(draft)
        except BaseException:
            # A rejected batch leaves the transaction's view of balances as it found it.
            for code, values in saved.items():
                state = self._accounts[code]
                (
                    state.debits_posted,
                    state.credits_posted,
                    state.debits_pending,
                    state.credits_pending,
                ) = values
            raise
        assert (self._last_seq, self._last_hash) == head
        for draft in drafts:
            entry = self._sequence(draft, now)
            posted.append(entry)
            obj = entry_object(entry)
            journal_rows.append(
                {
                    "seq": entry.seq,
                    "key": entry.key,
                    "kind": entry.kind,
                    "status": entry.status,
                    "effective_at": entry.effective_at,
                    "recorded_at": entry.recorded_at,
                    "link_key": draft.pending_key or draft.metadata.get("reverses"),
                    "request_digest": draft.request_digest,
                    "prev_hash": entry.prev_hash,
                    "hash": entry.hash,
                    "line": line_of(obj),
                }
            )
            is_pending = entry.status == "pending"
            for position, leg in enumerate(draft.legs):
                posting_rows.append(
                    {
                        "entry_seq": entry.seq,
                        "position": position,
                        "account_id": self._accounts[leg.account].snapshot.id,
                        "is_debit": leg.is_debit,
                        "amount_minor": leg.amount_minor,
                        "currency": leg.currency,
                        "is_pending": is_pending,
                    }
                )
            if is_pending:
                pending_rows.append(
                    {
                        "entry_seq": entry.seq,
                        "key": entry.key,
                        "expires_at": entry.expires_at,
                        "state": "pending",
                        "resolved_seq": None,
                    }
                )
        self._insert(journal_rows, posting_rows, pending_rows)
        self._write_balances()
        self._write_head()
        for entry in posted:
            log.info("entry_posted", key=entry.key, seq=entry.seq, kind=entry.kind)
        return posted

    def _sequence(self, draft: Draft, now: datetime) -> PostedEntry:
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
        body = entry_object(entry)
        del body["hash"]
        entry = replace(entry, hash=chain_hash(self._last_hash, canonical_bytes(body)))
        self._last_seq, self._last_hash = seq, entry.hash
        return entry

    def _apply(self, draft: Draft) -> None:
        """Move the draft's legs into the locked balances, then check constraints."""
        pending = draft.status == "pending"
        touched: dict[str, AccountState] = {}
        for leg in draft.releases:
            state = self._accounts[leg.account]
            if leg.is_debit:
                state.debits_pending -= leg.amount_minor
            else:
                state.credits_pending -= leg.amount_minor
            assert state.debits_pending >= 0 and state.credits_pending >= 0, "pending underflow"
            touched[leg.account] = state
        for leg in draft.legs:
            state = self._accounts[leg.account]
            if pending and leg.is_debit:
                state.debits_pending += leg.amount_minor
            elif pending:
                state.credits_pending += leg.amount_minor
            elif leg.is_debit:
                state.debits_posted += leg.amount_minor
            else:
                state.credits_posted += leg.amount_minor
            touched[leg.account] = state
        for state in touched.values():
            state.dirty = True
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

    def _insert(
        self,
        journal_rows: list[dict[str, Any]],
        posting_rows: list[dict[str, Any]],
        pending_rows: list[dict[str, Any]],
    ) -> None:
        connection = self.connection
        connection.execute(journal_entries.insert(), journal_rows)
        if posting_rows:
            if self._postgres:
                self._insert_postings_postgres(posting_rows)
            else:
                connection.execute(postings.insert(), posting_rows)
        if pending_rows:
            connection.execute(pending_entries.insert(), pending_rows)

    def _insert_postings_postgres(self, rows: list[dict[str, Any]]) -> None:
        # One statement for all postings: the statement-level balance trigger sees whole entries.
        columns = (
            "entry_seq",
            "position",
            "account_id",
            "is_debit",
            "amount_minor",
            "currency",
            "is_pending",
        )
        types = ("bigint", "int", "int", "boolean", "bigint", "varchar", "boolean")
        arrays = {name: [row[name] for row in rows] for name in columns}
        unnest = ", ".join(
            f"CAST(:{name} AS {kind}[])" for name, kind in zip(columns, types, strict=True)
        )
        self.connection.execute(
            text(f"INSERT INTO postings ({', '.join(columns)}) SELECT * FROM unnest({unnest})"),
            arrays,
        )

    def _write_balances(self) -> None:
        dirty = [state for state in self._accounts.values() if state.dirty]
        if not dirty:
            return
        rows = []
        for state in dirty:
            assert min(state.values()) >= 0, f"negative balance column on {state.snapshot.code}"
            rows.append(
                {
                    "b_id": state.snapshot.id,
                    "b_dp": state.debits_posted,
                    "b_cp": state.credits_posted,
                    "b_dq": state.debits_pending,
                    "b_cq": state.credits_pending,
                }
            )
            state.dirty = False
        statement = (
            update(accounts)
            .where(accounts.c.id == bindparam("b_id"))
            .values(
                debits_posted_minor=bindparam("b_dp"),
                credits_posted_minor=bindparam("b_cp"),
                debits_pending_minor=bindparam("b_dq"),
                credits_pending_minor=bindparam("b_cq"),
            )
        )
        self.connection.execute(statement, rows)

    def _write_head(self) -> None:
        self.connection.execute(
            update(chain_head)
            .where(chain_head.c.id == 1)
            .values(last_seq=self._last_seq, last_hash=self._last_hash)
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
        rows = self.connection.execute(
            select(pending_entries.c.key)
            .where(pending_entries.c.state == "pending")
            .where(pending_entries.c.expires_at.is_not(None))
            .where(pending_entries.c.expires_at <= now)
            .order_by(pending_entries.c.entry_seq)
        ).all()
        expired = []
        for row in rows:
            loaded = self._load_entry(row.key)
            assert loaded is not None
            releases = [
                Leg(p.account, p.side == "debit", p.amount_minor, p.currency)
                for p in loaded[0].postings
            ]
            digest = request_digest({"kind": "expire_pending", "pending_key": row.key})
            new_key = f"expire_pending:{row.key}"
            expired.append(self._resolve("expire_pending", row.key, new_key, digest, [], releases))
        return expired

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

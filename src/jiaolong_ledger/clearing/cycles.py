"""Cycles and obligations: submission into the open cycle, cut-off, reads.

The open cycle is one row (a partial unique index allows no second). Submitters lock it
``FOR SHARE`` and the cut-off ``FOR UPDATE`` (PostgreSQL; SQLite's writers are serial anyway), so
a submission either commits before the cut-off freezes the cycle or waits and then finds the
next one: PostgreSQL re-checks ``status = 'open'`` on the row it waited for, sees it frozen and
skips it, and the retry reads the new open cycle. No obligation can land in a frozen cycle.

Cut-off at ``at`` also moves obligations stamped after ``at`` (``submitted_at > at``) into the
next cycle: an obligation that arrives after the cut-off instant belongs to the next cycle even if
the cut-off command ran later.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from jiaolong_ledger.clearing.digest import digest_of, frozen_set
from jiaolong_ledger.clearing.model import (
    OBLIGATION_CANCELLED,
    OBLIGATION_PENDING,
    OBLIGATION_SETTLED,
    Cycle,
    Obligation,
    ObligationRequest,
    SubmitResult,
)
from jiaolong_ledger.clearing.participants import ids
from jiaolong_ledger.clearing.tables import (
    CYCLE_FROZEN,
    CYCLE_OPEN,
    CYCLE_SETTLED,
    clearing_cycles,
    clearing_obligations,
    clearing_participants,
)
from jiaolong_ledger.errors import (
    CycleNotFoundError,
    IdempotencyConflictError,
    InvalidInputError,
    LimitExceededError,
)
from jiaolong_ledger.journal.validation import BATCH_SIZE_MAX, check_key, raise_problems
from jiaolong_ledger.journal.writer import Transaction
from jiaolong_ledger.money import check_currency, positive_minor

OPEN_CYCLE_ATTEMPTS_MAX: Final = 50
"""Retries to find the open cycle while cut-offs race with a submission (each retry is a read)."""

QUERY_CHUNK_SIZE: Final = 2_000

_CONTENT_COLUMNS: Final = (
    "payer_id",
    "payee_id",
    "currency",
    "settlement_currency",
    "amount_minor",
    "priority",
)


def _is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def _insert(connection: Connection, table: Any) -> Any:
    dialect = postgresql if _is_postgres(connection) else sqlite
    return dialect.insert(table)


def _next_cycle_id() -> Any:
    """The next cycle number, taken under the cycle locks: ``max + 1``, not a sequence, so a
    rolled-back transaction leaves no gap (PostgreSQL sequences are not transactional)."""
    return select(func.coalesce(func.max(clearing_cycles.c.id), 0) + 1).scalar_subquery()


def lock_open_cycle(connection: Connection, *, exclusive: bool, now: datetime) -> Any:
    """The open cycle's row, locked (share or exclusive); created if there is none."""
    for _ in range(OPEN_CYCLE_ATTEMPTS_MAX):
        query = select(clearing_cycles).where(clearing_cycles.c.status == CYCLE_OPEN)
        if _is_postgres(connection):
            query = query.with_for_update(read=not exclusive)
        row = connection.execute(query).first()
        if row is not None:
            return row
        connection.execute(
            _insert(connection, clearing_cycles)
            .values(id=_next_cycle_id(), status=CYCLE_OPEN, opened_at=now)
            .on_conflict_do_nothing()
        )
    raise AssertionError("no open clearing cycle could be locked")


def lock_cycle(connection: Connection, cycle_id: int) -> Any:
    query = select(clearing_cycles).where(clearing_cycles.c.id == cycle_id)
    if _is_postgres(connection):
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        raise CycleNotFoundError(f"no clearing cycle {cycle_id}", cycle=cycle_id)
    return row


# -- submission ----------------------------------------------------------------------------


def _row(request: ObligationRequest, now: datetime, index: int) -> dict[str, Any]:
    raise_problems(check_key(request.reference, "reference"), index=index)
    amount_minor, currency = positive_minor(request.amount)
    settlement_currency = check_currency(request.settlement_currency or currency)
    if request.payer == request.payee:
        raise InvalidInputError(
            f"obligation {request.reference!r}: payer and payee are the same participant",
            reference=request.reference,
            index=index,
        )
    if request.at is not None and request.at.tzinfo is None:
        raise InvalidInputError(
            f"obligation {request.reference!r}: timestamp must be timezone-aware",
            reference=request.reference,
            index=index,
        )
    return {
        "reference": request.reference,
        "payer": request.payer,
        "payee": request.payee,
        "currency": currency,
        "settlement_currency": settlement_currency,
        "amount_minor": amount_minor,
        "submitted_at": request.at or now,
        "priority": request.priority,
    }


def _content(row: Any) -> tuple[Any, ...]:
    if isinstance(row, dict):
        return tuple(row[name] for name in _CONTENT_COLUMNS)
    return tuple(getattr(row, name) for name in _CONTENT_COLUMNS)


def _stored(connection: Connection, references: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    columns = [
        clearing_obligations.c[name] for name in ("reference", "cycle_id", *_CONTENT_COLUMNS)
    ]
    for start in range(0, len(references), QUERY_CHUNK_SIZE):
        chunk = references[start : start + QUERY_CHUNK_SIZE]
        query = select(*columns).where(clearing_obligations.c.reference.in_(chunk))
        found.update({row.reference: row for row in connection.execute(query)})
    return found


def _conflict(reference: str) -> IdempotencyConflictError:
    return IdempotencyConflictError(
        f"obligation reference {reference!r} was already used for a different obligation",
        reference=reference,
    )


def submit_many(
    connection: Connection, requests: Sequence[ObligationRequest], now: datetime
) -> SubmitResult:
    """Add obligations to the open cycle; a known reference with the same content is a no-op."""
    if len(requests) > BATCH_SIZE_MAX:
        raise LimitExceededError(
            f"{len(requests)} obligations in one batch; the limit is {BATCH_SIZE_MAX}",
            limit="batch_size_max",
            limit_value=BATCH_SIZE_MAX,
        )
    rows = [_row(request, now, index) for index, request in enumerate(requests)]
    participant_ids = ids(connection, [r["payer"] for r in rows] + [r["payee"] for r in rows])
    fresh: dict[str, dict[str, Any]] = {}
    cycles: dict[int, int] = {}
    duplicates = 0
    stored = _stored(connection, sorted({row["reference"] for row in rows}))
    for row in rows:
        row["payer_id"] = participant_ids[row.pop("payer")]
        row["payee_id"] = participant_ids[row.pop("payee")]
        prior = stored.get(row["reference"]) or fresh.get(row["reference"])
        if prior is None:
            fresh[row["reference"]] = row
            continue
        if _content(prior) != _content(row):
            raise _conflict(row["reference"])
        duplicates += 1
        cycle_of_prior = prior.cycle_id if not isinstance(prior, dict) else None
        if cycle_of_prior is not None:
            cycles[cycle_of_prior] = cycles.get(cycle_of_prior, 0) + 1
    if not fresh:
        return SubmitResult(0, duplicates, cycles)
    cycle_id = int(lock_open_cycle(connection, exclusive=False, now=now).id)
    inserted = _insert_rows(connection, list(fresh.values()), cycle_id)
    raced = [reference for reference in fresh if reference not in inserted]
    if raced:
        # Another submitter stored the same reference between our check and our insert.
        for reference, prior in _stored(connection, raced).items():
            if _content(prior) != _content(fresh[reference]):
                raise _conflict(reference)
            cycles[prior.cycle_id] = cycles.get(prior.cycle_id, 0) + 1
    duplicates += len(raced)
    cycles[cycle_id] = cycles.get(cycle_id, 0) + len(inserted)
    return SubmitResult(len(inserted), duplicates, cycles)


def _insert_rows(connection: Connection, rows: list[dict[str, Any]], cycle_id: int) -> set[str]:
    for row in rows:
        row["cycle_id"] = cycle_id
        row["first_cycle_id"] = cycle_id
    statement = (
        _insert(connection, clearing_obligations)
        .on_conflict_do_nothing(index_elements=["reference"])
        .returning(clearing_obligations.c.reference)
    )
    inserted: set[str] = set()
    for start in range(0, len(rows), QUERY_CHUNK_SIZE):
        chunk = rows[start : start + QUERY_CHUNK_SIZE]
        inserted.update(connection.execute(statement, chunk).scalars().all())
    return inserted


# -- cut-off -------------------------------------------------------------------------------


def cutoff(journal: Transaction, at: datetime, now: datetime) -> tuple[int, int]:
    """Freeze the open cycle at ``at`` and open the next; returns (frozen id, next id).

    In the same transaction the frozen set's digest (:mod:`.digest`) goes into the journal
    chain as the ``cycle_cutoff`` record of the frozen cycle: the recorded finality point."""
    connection = journal.connection
    row = lock_open_cycle(connection, exclusive=True, now=now)
    last_cutoff = connection.execute(select(func.max(clearing_cycles.c.cutoff_at))).scalar()
    if last_cutoff is not None and at < last_cutoff:
        raise InvalidInputError(
            f"cut-off at {at.isoformat()} is before the previous cut-off {last_cutoff.isoformat()}",
            at=at.isoformat(),
            previous=last_cutoff.isoformat(),
        )
    frozen_id = int(row.id)
    connection.execute(
        update(clearing_cycles)
        .where(clearing_cycles.c.id == frozen_id)
        .values(status=CYCLE_FROZEN, cutoff_at=at)
    )
    next_id = int(
        connection.execute(
            clearing_cycles.insert().values(id=_next_cycle_id()).returning(clearing_cycles.c.id),
            {"status": CYCLE_OPEN, "opened_at": at},
        ).scalar_one()
    )
    o = clearing_obligations
    connection.execute(
        update(o)
        .where(o.c.cycle_id == frozen_id, o.c.submitted_at > at)
        .values(
            cycle_id=next_id,
            first_cycle_id=case(
                (o.c.first_cycle_id == frozen_id, next_id), else_=o.c.first_cycle_id
            ),
        )
    )
    count = connection.execute(select(func.count()).where(o.c.cycle_id == frozen_id)).scalar_one()
    connection.execute(
        update(clearing_cycles)
        .where(clearing_cycles.c.id == frozen_id)
        .values(frozen_obligations=int(count))
    )
    in_cycle = read_obligations(connection, cycle_id=frozen_id)
    frozen = frozen_set(o for o in in_cycle if o.status != OBLIGATION_CANCELLED)
    assert len(frozen) == count, "the frozen set differs from the cycle's count"
    journal.cycle_cutoff(frozen_id, len(frozen), digest_of(frozen))
    return frozen_id, next_id


# -- reads ---------------------------------------------------------------------------------


def cycle_of(connection: Connection, row: Any) -> Cycle:
    if row.status == CYCLE_OPEN:
        count = connection.execute(
            select(func.count()).where(clearing_obligations.c.cycle_id == row.id)
        ).scalar_one()
    else:
        count = row.frozen_obligations or 0
    return Cycle(
        id=int(row.id),
        status=row.status,
        opened_at=row.opened_at,
        cutoff_at=row.cutoff_at,
        settled_at=row.settled_at,
        obligations=int(count),
    )


def read_cycle(connection: Connection, cycle_id: int) -> Cycle:
    row = connection.execute(
        select(clearing_cycles).where(clearing_cycles.c.id == cycle_id)
    ).first()
    if row is None:
        raise CycleNotFoundError(f"no clearing cycle {cycle_id}", cycle=cycle_id)
    return cycle_of(connection, row)


def read_cycles(connection: Connection) -> list[Cycle]:
    rows = connection.execute(select(clearing_cycles).order_by(clearing_cycles.c.id)).all()
    return [cycle_of(connection, row) for row in rows]


def read_obligations(
    connection: Connection, *, cycle_id: int | None = None, references: Sequence[str] = ()
) -> Iterator[Obligation]:
    """Obligations of cycle ``cycle_id`` (those in it and those cancelled from it) and/or with
    the given references; status ``settled`` when their cycle is settled, else ``pending``
    (``cancelled`` for a cancelled one)."""
    o = clearing_obligations
    payer = clearing_participants.alias("payer")
    payee = clearing_participants.alias("payee")
    query = (
        select(
            o,
            payer.c.name.label("payer"),
            payee.c.name.label("payee"),
            clearing_cycles.c.status.label("cycle_status"),
        )
        .join(payer, payer.c.id == o.c.payer_id)
        .join(payee, payee.c.id == o.c.payee_id)
        .outerjoin(clearing_cycles, clearing_cycles.c.id == o.c.cycle_id)
        .order_by(o.c.id)
    )
    if cycle_id is not None:
        query = query.where(or_(o.c.cycle_id == cycle_id, o.c.cancelled_cycle_id == cycle_id))
    if references:
        query = query.where(o.c.reference.in_(list(references)))
    for row in connection.execute(query):
        settled = row.cycle_status == CYCLE_SETTLED
        yield obligation_of(row, OBLIGATION_SETTLED if settled else OBLIGATION_PENDING)


def obligation_of(row: Any, status: str = OBLIGATION_PENDING) -> Obligation:
    """An obligation row (joined with its payer's and payee's names); a cancelled one names
    the cycle it was cancelled from."""
    cancelled = row.cancelled_at is not None
    return Obligation(
        reference=row.reference,
        cycle_id=int(row.cancelled_cycle_id if cancelled else row.cycle_id),
        payer=row.payer,
        payee=row.payee,
        amount_minor=int(row.amount_minor),
        currency=row.currency,
        settlement_currency=row.settlement_currency,
        submitted_at=row.submitted_at,
        first_cycle_id=int(row.first_cycle_id),
        priority=row.priority,
        status=OBLIGATION_CANCELLED if cancelled else status,
        cancelled_at=row.cancelled_at,
    )


__all__ = [
    "CYCLE_FROZEN",
    "CYCLE_OPEN",
    "CYCLE_SETTLED",
    "cutoff",
    "lock_cycle",
    "lock_open_cycle",
    "read_cycle",
    "read_cycles",
    "read_obligations",
    "submit_many",
]

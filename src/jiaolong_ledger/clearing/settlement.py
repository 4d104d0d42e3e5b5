"""A settlement run: lock, net, funding check with unwind, instructions, post, record.

The whole run is ONE database transaction (the clearing book's unit of work, with the FX and
financing books of the same unit for fixing rates and deductions): the funding check reads the
payers' balances under the same locks the postings take, so nobody can drain an account between
the check and the pay-in; the postings, the carrying of deferred obligations (and excluded
participants' ones) to the open cycle and the cycle's status and report commit together or not
at all. The plan — netting, funding check, unwind (``obligations`` by default, or
``participants``), instructions — is :func:`.funding.plan_settlement`. Carried obligations keep
their reference, submission time and first cycle; only their cycle changes.

Entry keys are derived from the cycle (``clearing/cycle-<n>/<CCY>/pay-in/<k>``), so even a second
run racing past the status check could not post twice: the journal's idempotency would return
the first run's entries.

Per currency, payers' settlement accounts are debited into ``clearing:settlement:<CCY>`` (pay-in)
and payees' accounts credited out of it (pay-out), at most ``PAYMENTS_PER_ENTRY_MAX`` participants
per entry; the clearing account ends where it started (zero), which the run asserts.

A dry run computes the same report on a read connection (one snapshot on PostgreSQL), with
balances from ``journal.reads``, and writes nothing.

:class:`SettlementRun` is iterable: it yields stage names as it goes (the CLI's progress bar) and
holds the report when done.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, or_, select, update

from jiaolong_ledger.clearing import cycles, deductions, participants
from jiaolong_ledger.clearing.digest import recorded_digest
from jiaolong_ledger.clearing.funding import LockedBalances, Plan, ReadBalances, plan_settlement
from jiaolong_ledger.clearing.model import (
    PLATFORM,
    CycleReport,
    Deferral,
    Exclusion,
    Participant,
    Position,
    SettledValue,
    clearing_account,
    default_settlement_account,
)
from jiaolong_ledger.clearing.netting import RateBook, value_positions
from jiaolong_ledger.clearing.tables import (
    CYCLE_OPEN,
    CYCLE_SETTLED,
    clearing_cycles,
    clearing_obligations,
)
from jiaolong_ledger.clearing.unwind import UNWIND_MODES, UNWIND_OBLIGATIONS
from jiaolong_ledger.errors import (
    CycleAlreadySettledError,
    CycleNotFrozenError,
)
from jiaolong_ledger.journal.entry import Entry, credit, debit
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import minor_to_money

if TYPE_CHECKING:
    from jiaolong_ledger.clearing.book import ClearingBook
    from jiaolong_ledger.journal.writer import Transaction

log = get_logger("jiaolong_ledger.clearing")

PAYMENTS_PER_ENTRY_MAX: Final = 200
"""Participant legs per settlement entry (the journal allows 256 postings per entry)."""

CARRY_CHUNK_SIZE: Final = 2_000
"""Deferred obligation ids per carry statement."""

SETTLE_STAGES: Final = ("lock", "net", "fund", "instruct", "post", "record")
DRY_RUN_STAGES: Final = ("lock", "net", "fund", "instruct")


def _legs(
    cycle_id: int,
    currency: str,
    leg: str,
    parties: list[tuple[str, int]],
    cutoff_digest: str | None = None,
) -> list[Entry]:
    """Pay-in (``parties`` debited, clearing credited) or pay-out entries, in chunks; their
    metadata names the cycle's cut-off digest (``cutoff_digest``) when it has one."""
    named = {} if cutoff_digest is None else {"cutoff_digest": cutoff_digest}
    hub = clearing_account(currency)
    entries = []
    for number, start in enumerate(range(0, len(parties), PAYMENTS_PER_ENTRY_MAX), start=1):
        chunk = parties[start : start + PAYMENTS_PER_ENTRY_MAX]
        total = minor_to_money(sum(amount for _, amount in chunk), currency)
        legs = [
            (debit if leg == "pay-in" else credit)(account, minor_to_money(amount, currency))
            for account, amount in chunk
        ]
        hub_leg = credit(hub, total) if leg == "pay-in" else debit(hub, total)
        entries.append(
            Entry(
                key=f"clearing/cycle-{cycle_id}/{currency}/{leg}/{number}",
                kind="settlement",
                description=f"clearing cycle {cycle_id}: {currency} {leg} {number}",
                metadata={"cycle": cycle_id, "currency": currency, "leg": leg, **named},
                postings=[*legs, hub_leg] if leg == "pay-in" else [hub_leg, *legs],
            )
        )
    return entries


def _ensure_accounts(tx: Transaction, plan: Plan, roster: Mapping[int, Participant]) -> None:
    payees = [
        (roster[pid], currency)
        for (pid, currency), position in plan.netting.positions.items()
        if position.net_minor > 0
    ]
    tx.lock_accounts(
        [clearing_account(c) for c in plan.netting.summaries]
        + [p.settlement_account(c) for p, c in payees]
    )
    for currency in plan.netting.summaries:
        tx.ensure_account(clearing_account(currency), currency, "liability")
    for participant, currency in payees:
        code = participant.settlement_account(currency)
        if code != default_settlement_account(participant.name, currency):
            continue  # a registered account must exist; posting says so if it does not
        if participant.name == PLATFORM:
            tx.ensure_account(code, currency, "income")
        else:
            tx.ensure_account(code, currency, "liability", "debits_must_not_exceed_credits")


def post_settlement(
    tx: Transaction, cycle_id: int, plan: Plan, roster: Mapping[int, Participant]
) -> list[str]:
    """Post every pay-in and pay-out of the cycle through the journal; returns the keys."""
    _ensure_accounts(tx, plan, roster)
    cutoff_digest = recorded_digest(tx.connection, cycle_id)
    entries: list[Entry] = []
    for currency in plan.netting.summaries:
        parties = [
            (roster[pid].settlement_account(currency), position.net_minor)
            for (pid, c), position in plan.netting.positions.items()
            if c == currency and position.net_minor != 0
        ]
        payers = sorted((code, -net) for code, net in parties if net < 0)
        payees = sorted((code, net) for code, net in parties if net > 0)
        entries += _legs(cycle_id, currency, "pay-in", payers, cutoff_digest)
        entries += _legs(cycle_id, currency, "pay-out", payees, cutoff_digest)
    hubs = [clearing_account(currency) for currency in plan.netting.summaries]
    before = {code: tx.account(code).balance().posted_minor for code in hubs}
    posted = tx.post_many(entries) if entries else []
    for code in hubs:
        assert tx.account(code).balance().posted_minor == before[code], f"{code} not cleared"
    return [entry.key for entry in posted]


def carry(
    connection: Connection,
    cycle_id: int,
    excluded: Collection[int],
    deferred_ids: Sequence[int],
    now: datetime,
) -> tuple[int, int]:
    """Move the excluded participants' obligations and the deferred ones (by id) to the open
    cycle: (open id, count moved). Only ``cycle_id`` changes: reference, submission time and
    first cycle stay the original ones."""
    open_id = int(cycles.lock_open_cycle(connection, exclusive=False, now=now).id)
    o = clearing_obligations
    moved = 0
    if excluded:
        ordered = sorted(excluded)
        moved += connection.execute(
            update(o)
            .where(
                o.c.cycle_id == cycle_id, or_(o.c.payer_id.in_(ordered), o.c.payee_id.in_(ordered))
            )
            .values(cycle_id=open_id)
        ).rowcount
    for start in range(0, len(deferred_ids), CARRY_CHUNK_SIZE):
        chunk = list(deferred_ids[start : start + CARRY_CHUNK_SIZE])
        moved += connection.execute(
            update(o).where(o.c.cycle_id == cycle_id, o.c.id.in_(chunk)).values(cycle_id=open_id)
        ).rowcount
    return open_id, int(moved)


class SettlementRun:
    """Iterate to run (yields stage names); ``report`` holds the result afterwards.

    A settlement runs in ``book``'s unit of work (a new one when the book is per call); a dry
    run on ``book``'s read connection, as one snapshot."""

    def __init__(
        self,
        book: ClearingBook,
        cycle_id: int,
        *,
        dry_run: bool = False,
        convert: bool = False,
        unwind: str = UNWIND_OBLIGATIONS,
    ) -> None:
        assert unwind in UNWIND_MODES, unwind
        self.book = book
        self.cycle_id = cycle_id
        self.dry_run = dry_run
        self.convert = convert
        self.unwind = unwind
        self.stages = DRY_RUN_STAGES if dry_run else SETTLE_STAGES
        self.report: CycleReport | None = None

    def __iter__(self) -> Iterator[str]:
        if self.dry_run:
            with self.book.reading() as connection:
                self.report = yield from self._dry_run(_snapshot(connection))
        else:
            with self.book.transaction() as bound:
                self.report = yield from self._settle(bound)

    def __len__(self) -> int:
        return len(self.stages)

    def _settle(self, book: ClearingBook) -> Generator[str, None, CycleReport]:
        """Every stage on the bound ``book``'s transaction (commits when the unit ends)."""
        tx, connection = book.tx, book.connection
        row = cycles.lock_cycle(connection, self.cycle_id)
        _check_settleable(row, dry_run=False)
        yield "lock"
        now = book.now()
        roster = participants.load_all(connection)
        rates = RateBook(book.rates, row.cutoff_at)
        plan = yield from plan_settlement(
            connection, self.cycle_id, roster, LockedBalances(tx), rates, self.unwind
        )
        keys = post_settlement(tx, self.cycle_id, plan, roster)
        receivers = deductions.receivers(book.deductions, plan.netting, roster)
        found = LockedBalances(tx).available(_cash(receivers))
        cash = {code: balance.available_minor for code, balance in found.items()}
        taken = deductions.deduct(book.deductions, self.cycle_id, receivers, cash, now)
        yield "post"
        excluded_ids = [pid for pid in roster if roster[pid].name in _names(plan.exclusions)]
        open_id, moved = carry(connection, self.cycle_id, excluded_ids, plan.deferred_ids, now)
        assert moved == len(plan.deferred), "carried obligations differ from the plan"
        report = replace(
            self._report(row, plan, roster, rates, CYCLE_SETTLED, now),
            carried_to_cycle=open_id,
            entry_keys=tuple(keys),
            deductions=taken,
        )
        _record(connection, self.cycle_id, report, now)
        log.info(
            "clearing_settled",
            cycle=self.cycle_id,
            unwind=self.unwind,
            entries=len(keys),
            excluded=len(plan.exclusions),
            deferred=len(plan.deferred),
            instructions=len(plan.instructions),
        )
        yield "record"
        return report

    def _dry_run(self, connection: Connection) -> Generator[str, None, CycleReport]:
        """The same computation on a read connection: nothing is written or locked."""
        row = _read_row(connection, self.cycle_id)
        _check_settleable(row, dry_run=True)
        yield "lock"
        now = self.book.now()
        roster = participants.load_all(connection)
        rates = RateBook(self.book.rates, row.cutoff_at or now)
        balances = ReadBalances(connection)
        plan = yield from plan_settlement(
            connection, self.cycle_id, roster, balances, rates, self.unwind
        )
        report = self._report(row, plan, roster, rates, "dry-run", None)
        receivers = deductions.receivers(self.book.deductions, plan.netting, roster)
        found = balances.available(_cash(receivers))
        cash = {code: balance.available_minor for code, balance in found.items()}
        return replace(
            report, deductions=deductions.preview(self.book.deductions, receivers, cash, now)
        )

    def _report(
        self,
        row: Any,
        plan: Plan,
        roster: Mapping[int, Participant],
        rates: RateBook,
        status: str,
        settled_at: datetime | None,
    ) -> CycleReport:
        by_name = {p.name: p for p in roster.values()}
        positions: list[Position] = list(plan.netting.positions.values())
        if self.convert:
            positions = value_positions(positions, by_name, rates)
        summaries = tuple(
            replace(
                summary,
                instruction_method=plan.methods.get(currency, "none"),
                instruction_count=sum(1 for i in plan.instructions if i.currency == currency),
            )
            for currency, summary in plan.netting.summaries.items()
        )
        return CycleReport(
            cycle_id=self.cycle_id,
            status=status,
            dry_run=self.dry_run,
            cutoff_at=row.cutoff_at,
            settled_at=settled_at,
            currencies=summaries,
            positions=tuple(positions),
            exclusions=tuple(
                replace(e, obligations_carried=_involved(plan.deferred, e.participant))
                for e in plan.exclusions
            ),
            instructions=plan.instructions,
            rounds=plan.rounds,
            obligations_settled=plan.netting.obligations,
            obligations_carried=len(plan.deferred),
            carried_to_cycle=None,
            rates=tuple(rates.used[key] for key in sorted(rates.used)),
            unwind=plan.unwind,
            settled_value=_settled_value(plan),
            deferred=plan.deferred,
        )


def _involved(deferred: Iterable[Deferral], participant: str) -> int:
    return sum(1 for d in deferred if participant in (d.payer, d.payee))


def _settled_value(plan: Plan) -> tuple[SettledValue, ...]:
    values = []
    for currency, submitted in plan.submitted.items():
        settled = plan.netting.summaries.get(currency)
        values.append(
            SettledValue(
                currency,
                submitted.obligations,
                submitted.gross_minor,
                settled.obligations if settled is not None else 0,
                settled.gross_minor if settled is not None else 0,
            )
        )
    return tuple(values)


def _snapshot(connection: Connection) -> Connection:
    """On PostgreSQL, a fresh read connection reads one snapshot (REPEATABLE READ) throughout;
    a unit of work's own connection (already in its transaction) is used as it is."""
    if connection.dialect.name == "postgresql" and not connection.in_transaction():
        return connection.execution_options(isolation_level="REPEATABLE READ")
    return connection


def _cash(receivers: Iterable[deductions.Receiver]) -> list[str]:
    return [default_settlement_account(name, currency) for name, currency, _ in receivers]


def _names(exclusions: Iterable[Exclusion]) -> set[str]:
    return {exclusion.participant for exclusion in exclusions}


def _read_row(connection: Connection, cycle_id: int) -> Any:
    from jiaolong_ledger.errors import CycleNotFoundError

    row = connection.execute(
        select(clearing_cycles).where(clearing_cycles.c.id == cycle_id)
    ).first()
    if row is None:
        raise CycleNotFoundError(f"no clearing cycle {cycle_id}", cycle=cycle_id)
    return row


def _check_settleable(row: Any, *, dry_run: bool) -> None:
    if row.status == CYCLE_SETTLED:
        raise CycleAlreadySettledError(
            f"clearing cycle {row.id} was settled at {row.settled_at.isoformat()}; "
            f"its report: jiaolong clearing report {row.id}",
            cycle=int(row.id),
            settled_at=row.settled_at.isoformat(),
        )
    if row.status == CYCLE_OPEN and not dry_run:
        raise CycleNotFrozenError(
            f"clearing cycle {row.id} is still open; cut it off first (jiaolong clearing cutoff)",
            cycle=int(row.id),
        )


def _record(connection: Connection, cycle_id: int, report: CycleReport, now: datetime) -> None:
    connection.execute(
        update(clearing_cycles)
        .where(clearing_cycles.c.id == cycle_id)
        .values(
            status=CYCLE_SETTLED,
            settled_at=now,
            report=json.dumps(report.to_dict(), sort_keys=True, ensure_ascii=False),
        )
    )


def stored_report(connection: Connection, cycle_id: int) -> CycleReport | None:
    text = connection.execute(
        select(clearing_cycles.c.report).where(clearing_cycles.c.id == cycle_id)
    ).scalar()
    return CycleReport.from_dict(json.loads(text)) if text else None


__all__ = ["Plan", "SettlementRun", "plan_settlement", "stored_report"]

"""The clearing book: every clearing operation, once, on a unit of work or per call.

``tx.clearing`` (inside ``with ledger.transaction() as tx:``) is bound to that unit of work;
``ledger.clearing`` is per call: each write opens a unit of work of its own (``@operation``) and
each read a read connection. The book is wired by the unit of work to the FX book of the same
unit (fixing rates) and to its financing book (automatic deductions), through the protocols of
:mod:`.ports`; it imports neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from moneyed import Money
from sqlalchemy import Connection

from jiaolong_ledger.clearing import cancellation, cycles, participants
from jiaolong_ledger.clearing.model import (
    OBLIGATION_DEFERRED,
    PLATFORM,
    PRIORITY_NORMAL,
    Cycle,
    CycleReport,
    Obligation,
    ObligationRequest,
    Participant,
    SubmitResult,
)
from jiaolong_ledger.clearing.netting import Netting, RateBook, net
from jiaolong_ledger.clearing.ports import Deductions, FixingRates
from jiaolong_ledger.clearing.settlement import SettlementRun, stored_report
from jiaolong_ledger.clearing.unwind import UNWIND_MODES, UNWIND_OBLIGATIONS
from jiaolong_ledger.errors import InvalidInputError, ParticipantNotFoundError
from jiaolong_ledger.journal.books import Book, Scope, operation
from jiaolong_ledger.journal.validation import check_timestamp, raise_problems
from jiaolong_ledger.journal.writer import Transaction
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import minor_to_money, money_to_minor, platform_fee

log = get_logger("jiaolong_ledger.clearing")


class ClearingBook(Book):
    """Clearing: participants, obligations in cycles, cut-off, netting, settlement."""

    def __init__(
        self,
        scope: Scope,
        tx: Transaction | None = None,
        *,
        rates: FixingRates,
        deductions: Deductions,
    ) -> None:
        super().__init__(scope, tx)
        self.rates = rates
        """Fixing rates (the FX book of the same unit of work)."""
        self.deductions = deductions
        """Automatic deductions from proceeds (the financing book of the same unit of work)."""

    # -- participants --------------------------------------------------------------------

    @operation
    def register_participant(
        self,
        name: str,
        settlement_currency: str,
        *,
        accounts: Mapping[str, str] | None = None,
        legal_name: str | None = None,
        country: str | None = None,
        iban: str | None = None,
        bic: str | None = None,
        other_id: str | None = None,
        net_debit_caps: Mapping[str, Money] | None = None,
    ) -> Participant:
        """Register ``name`` (or replace its details). ``accounts``: currency -> account code
        when the settlement account is not ``participant:<name>:cash:<CCY>``. ``iban`` or
        ``other_id`` (for countries without IBAN, e.g. CN, LA) and ``bic`` feed ISO 20022.
        ``net_debit_caps``: currency -> the largest net debit a cycle settles for it there
        (replaces every cap; ``None``: caps unchanged)."""
        caps = None
        if net_debit_caps is not None:
            caps = {ccy: participants.cap_minor(ccy, cap) for ccy, cap in net_debit_caps.items()}
        participant = Participant(
            name,
            settlement_currency,
            dict(accounts or {}),
            legal_name,
            country,
            iban,
            bic,
            other_id,
        )
        registered = participants.upsert(self.connection, participant, self.now(), caps)
        log.info("participant_registered", participant=name, currency=settlement_currency)
        return registered

    @operation
    def set_net_debit_cap(
        self, participant: str, currency: str, amount: Money | None
    ) -> Participant:
        """Set ``participant``'s net debit cap in ``currency`` (``None``: remove it). It holds
        from the next settlement on (of any cycle not settled yet)."""
        cap = None if amount is None else participants.cap_minor(currency, amount)
        participants.set_cap(self.connection, participant, currency, cap, self.now())
        log.info("net_debit_cap_set", participant=participant, currency=currency, cap=cap)
        return participants.load(self.connection, participant)

    def participant(self, name: str) -> Participant:
        for found in self.participants():
            if found.name == name:
                return found
        raise ParticipantNotFoundError(f"no clearing participant {name!r}", participant=name)

    def participants(self) -> list[Participant]:
        with self.reading() as connection:
            return list(participants.load_all(connection).values())

    # -- obligations ---------------------------------------------------------------------

    @operation
    def submit(
        self,
        payer: str,
        payee: str,
        amount: Money,
        reference: str,
        *,
        settlement_currency: str | None = None,
        at: datetime | None = None,
        priority: str = PRIORITY_NORMAL,
    ) -> Obligation:
        """Add one obligation to the open cycle (a known reference: the original, unchanged).
        ``priority``: ``urgent`` obligations are deferred last by the obligation unwind."""
        request = ObligationRequest(
            payer, payee, amount, reference, settlement_currency, at, priority
        )
        cycles.submit_many(self.connection, [request], self.now())
        return next(cycles.read_obligations(self.connection, references=[reference]))

    @operation
    def submit_many(self, requests: Sequence[ObligationRequest]) -> SubmitResult:
        """Add obligations atomically (all or none); duplicates with equal content are no-ops."""
        result = cycles.submit_many(self.connection, requests, self.now())
        log.info("obligations_submitted", accepted=result.accepted, duplicates=result.duplicates)
        return result

    @operation
    def submit_order(
        self,
        order_id: str,
        buyer: str,
        seller: str,
        amount: Money,
        fee: Money | None = None,
        at: datetime | None = None,
        *,
        fee_rate: str | int | Decimal | None = None,
    ) -> tuple[Obligation, ...]:
        """An order on deferred-net terms: buyer owes seller ``amount - fee`` and the platform
        ``fee``: as given, or ``amount * fee_rate`` rounded half-even (one of them at most;
        neither: no fee; 0 <= fee <= amount). References ``order:<id>`` and ``order:<id>:fee``.
        Unknown buyer or seller are registered with defaults (settlement currency = the
        order's); so is the platform."""
        amount_minor, currency = money_to_minor(amount)
        fee_minor, _ = money_to_minor(platform_fee(amount, fee_rate, fee))
        requests = []
        if fee_minor < amount_minor:
            requests.append(
                ObligationRequest(
                    buyer,
                    seller,
                    minor_to_money(amount_minor - fee_minor, currency),
                    f"order:{order_id}",
                    at=at,
                )
            )
        if fee_minor:
            requests.append(
                ObligationRequest(
                    buyer,
                    PLATFORM,
                    minor_to_money(fee_minor, currency),
                    f"order:{order_id}:fee",
                    at=at,
                )
            )
        now = self.now()
        for name in (buyer, seller):
            participants.ensure(self.connection, name, currency, now)
        if fee_minor:
            participants.ensure_platform(self.connection, currency, now)
        cycles.submit_many(self.connection, requests, now)
        references = [request.reference for request in requests]
        return tuple(cycles.read_obligations(self.connection, references=references))

    @operation
    def cancel(self, reference: str) -> Obligation:
        """Cancel obligation ``reference`` before its cut-off: it leaves the open cycle and is
        never netted (kept as a record, status ``cancelled``). Cancelling again is a no-op; an
        obligation of a frozen or settled cycle is ``OBLIGATION_NOT_CANCELLABLE``, an unknown
        reference ``OBLIGATION_NOT_FOUND``."""
        cancelled = cancellation.cancel(self.connection, reference, self.now())
        log.info("obligation_cancelled", reference=reference, cycle=cancelled.cycle_id)
        return cancelled

    def obligations(self, cycle_id: int, *, include_deferred: bool = False) -> list[Obligation]:
        """The obligations in cycle ``cycle_id`` (``pending``, or ``settled`` once it settled)
        and those cancelled from it (``cancelled``); ``include_deferred``: also those its
        settlement carried to a later cycle (``deferred``, with the reason)."""
        with self.reading() as connection:
            found = list(cycles.read_obligations(connection, cycle_id=cycle_id))
            if include_deferred:
                cycles.read_cycle(connection, cycle_id)
                found += _deferred(connection, cycle_id)
        return found

    # -- cycles --------------------------------------------------------------------------

    @operation
    def open_cycle(self) -> Cycle:
        """The cycle now accepting obligations (created if there is none yet)."""
        row = cycles.lock_open_cycle(self.connection, exclusive=False, now=self.now())
        return cycles.cycle_of(self.connection, row)

    def cycle(self, cycle_id: int) -> Cycle:
        with self.reading() as connection:
            return cycles.read_cycle(connection, cycle_id)

    def cycles(self) -> list[Cycle]:
        with self.reading() as connection:
            return cycles.read_cycles(connection)

    @operation
    def cutoff(self, at: datetime | None = None) -> Cycle:
        """Freeze the open cycle at ``at`` (default now; not in the future) and open the next.

        Obligations stamped after ``at`` move to the next cycle. Returns the frozen cycle."""
        raise_problems(check_timestamp(at, "at"))
        now = self.now()
        at = at or now
        if at > now:
            raise InvalidInputError(
                f"cut-off at {at.isoformat()} is in the future", at=at.isoformat()
            )
        frozen_id, next_id = cycles.cutoff(self.tx, at, now)
        frozen = cycles.read_cycle(self.connection, frozen_id)
        log.info(
            "cycle_cut_off", cycle=frozen_id, next_cycle=next_id, obligations=frozen.obligations
        )
        return frozen

    # -- netting and settlement ----------------------------------------------------------

    def net(self, cycle_id: int) -> Netting:
        """Multilateral net positions of the cycle, before any funding check."""
        with self.reading() as connection:
            row = cycles.read_cycle(connection, cycle_id)
            names = {pid: p.name for pid, p in participants.load_all(connection).items()}
            rates = RateBook(self.rates, row.cutoff_at or self.now())
            return net(connection, cycle_id, names, rate_for=rates)

    def settlement(
        self,
        cycle_id: int,
        *,
        dry_run: bool = False,
        convert: bool = False,
        unwind: str = UNWIND_OBLIGATIONS,
    ) -> SettlementRun:
        """A settlement run to iterate (stage by stage); its ``report`` is set when done.

        It settles in this book's unit of work (per call: a unit of work of its own, opened
        when the iteration starts and committed when it ends)."""
        return SettlementRun(
            self, cycle_id, dry_run=dry_run, convert=convert, unwind=_checked(unwind)
        )

    def settle(
        self,
        cycle_id: int,
        *,
        dry_run: bool = False,
        convert: bool = False,
        unwind: str = UNWIND_OBLIGATIONS,
    ) -> CycleReport:
        """Settle a frozen cycle in one transaction (or, ``dry_run``, compute without writing).

        ``unwind``: what gives way when a net payer cannot fund its debit — ``obligations``
        (default): single obligations of its, by the rule of :mod:`.unwind`, carried to the
        next cycle; ``participants``: the participant whole, all its obligations carried.
        ``convert`` also values every position in its participant's settlement currency at the
        cycle's fixing rates. A settled cycle raises ``CYCLE_ALREADY_SETTLED``."""
        unwind = _checked(unwind)
        if dry_run:
            return _finish(self.settlement(cycle_id, dry_run=True, convert=convert, unwind=unwind))
        return self._settle(cycle_id, convert=convert, unwind=unwind)

    @operation
    def _settle(self, cycle_id: int, *, convert: bool, unwind: str) -> CycleReport:
        return _finish(self.settlement(cycle_id, convert=convert, unwind=unwind))

    def report(
        self, cycle_id: int, *, convert: bool = False, unwind: str = UNWIND_OBLIGATIONS
    ) -> CycleReport:
        """The stored report of a settled cycle; for an unsettled one, a dry-run preview
        (with ``unwind``)."""
        unwind = _checked(unwind)
        with self.reading() as connection:
            cycles.read_cycle(connection, cycle_id)
            stored = stored_report(connection, cycle_id)
        if stored is not None:
            return stored
        return self.settle(cycle_id, dry_run=True, convert=convert, unwind=unwind)

    def export_iso20022(
        self, report: CycleReport, directory: str | Path, *, created_at: datetime | None = None
    ) -> Path:
        """Write the report's instructions as pain.001.001.09 into ``directory``."""
        from jiaolong_ledger.clearing.iso20022 import write_pain001  # lxml: only when exporting

        roster = {p.name: p for p in self.participants()}
        return write_pain001(report, roster, directory, created_at or self.now())


def _deferred(connection: Connection, cycle_id: int) -> list[Obligation]:
    """The obligations settled cycle ``cycle_id`` carried on, by its stored report."""
    stored = stored_report(connection, cycle_id)
    if stored is None or not stored.deferred:
        return []
    reasons = {d.reference: d.reason for d in stored.deferred}
    carried = cycles.read_obligations(connection, references=sorted(reasons))
    return [
        replace(o, status=OBLIGATION_DEFERRED, deferred_reason=reasons[o.reference])
        for o in carried
    ]


def _checked(unwind: str) -> str:
    if unwind not in UNWIND_MODES:
        raise InvalidInputError(
            f"unwind must be one of {', '.join(UNWIND_MODES)}, not {unwind!r}",
            unwind=unwind,
            allowed=list(UNWIND_MODES),
        )
    return unwind


def _finish(run: SettlementRun) -> CycleReport:
    for _stage in run:
        pass
    assert run.report is not None
    return run.report


__all__ = ["ClearingBook"]

"""Clearing: obligations in cycles, cut-off, multilateral netting, unwind, atomic settlement.

Design overview. Participants register a settlement currency, a settlement account per currency
(default ``participant:<name>:cash:<CCY>``; the platform, payee of fees, settles into
``platform:fees:<CCY>``) and bank identifiers for ISO 20022. Obligations (payer, payee, amount,
reference, optional settlement currency) accumulate in the one open cycle; a reference is an
idempotency key. ``cutoff(at)`` freezes the open cycle and opens the next, safely against
concurrent submitters (``cycles``). ``settle(cycle)`` is one database transaction
(``settlement``): netting aggregated in SQL (``netting``), the funding check and unwind that
excludes one short participant per round and recomputes (``funding``), a minimal list of
payer -> payee instructions (``instructions``), pay-in and pay-out entries of kind
``settlement`` through ``clearing:settlement:<CCY>`` (zero afterwards), excluded participants'
obligations carried to the open cycle, and the report stored with the cycle. ``--dry-run`` runs
the same computation without writing. Instructions export as ISO 20022 pain.001 (``iso20022``).

Built only on the journal and accounts: every balance change is an entry handed to the posting
engine; the clearing tables hold obligations, cycles and reports, written on the same connection.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from moneyed import Money
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from jiaolong_ledger.clearing import cycles, participants
from jiaolong_ledger.clearing.model import (
    PLATFORM,
    Cycle,
    CycleReport,
    Exclusion,
    Instruction,
    Obligation,
    ObligationRequest,
    Participant,
    Position,
    SubmitResult,
    clearing_account,
    default_settlement_account,
)
from jiaolong_ledger.clearing.netting import Netting, net
from jiaolong_ledger.clearing.settlement import SettlementRun, stored_report
from jiaolong_ledger.errors import (
    CurrencyMismatchError,
    InvalidInputError,
    LedgerError,
    ParticipantNotFoundError,
    StorageUnavailableError,
)
from jiaolong_ledger.journal.validation import check_timestamp, raise_problems
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import money_to_minor
from jiaolong_ledger.storage.engine import WRITE_OPTION

if TYPE_CHECKING:
    from jiaolong_ledger.journal.engine import Transaction
    from jiaolong_ledger.ledger import Ledger

log = get_logger("jiaolong_ledger.clearing")


class Clearing:
    """``ledger.clearing``: the clearing engine's Python API."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    # -- plumbing ------------------------------------------------------------------------

    @contextmanager
    def _writing(self, tx: Transaction | None = None) -> Iterator[Connection]:
        """A write transaction of its own, or the caller's ``tx`` (commits with its entries)."""
        if tx is not None:
            yield tx.connection
            return
        try:
            with self.ledger.engine.connect() as connection:
                connection = connection.execution_options(**{WRITE_OPTION: True})
                with connection.begin():
                    yield connection
        except LedgerError as error:
            log.warning("rejected", code=error.code, message=error.message)
            raise
        except OperationalError as error:
            raise StorageUnavailableError(f"database unavailable: {error.orig}") from error

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self.ledger.engine.connect() as connection:
                yield connection
        except OperationalError as error:
            raise StorageUnavailableError(f"database unavailable: {error.orig}") from error

    # -- participants --------------------------------------------------------------------

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
    ) -> Participant:
        """Register ``name`` (or replace its details). ``accounts``: currency -> account code
        when the settlement account is not ``participant:<name>:cash:<CCY>``. ``iban`` or
        ``other_id`` (for countries without IBAN, e.g. CN, LA) and ``bic`` feed ISO 20022."""
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
        with self._writing() as connection:
            registered = participants.upsert(connection, participant, self.ledger.clock())
        log.info("participant_registered", participant=name, currency=settlement_currency)
        return registered

    def participant(self, name: str) -> Participant:
        for found in self.participants():
            if found.name == name:
                return found
        raise ParticipantNotFoundError(f"no clearing participant {name!r}", participant=name)

    def participants(self) -> list[Participant]:
        with self._reading() as connection:
            return list(participants.load_all(connection).values())

    # -- obligations ---------------------------------------------------------------------

    def submit(
        self,
        payer: str,
        payee: str,
        amount: Money,
        reference: str,
        *,
        settlement_currency: str | None = None,
        at: datetime | None = None,
        tx: Transaction | None = None,
    ) -> Obligation:
        """Add one obligation to the open cycle (a known reference: the original, unchanged)."""
        request = ObligationRequest(payer, payee, amount, reference, settlement_currency, at)
        with self._writing(tx) as connection:
            cycles.submit_many(connection, [request], self.ledger.clock())
            return next(cycles.read_obligations(connection, references=[reference]))

    def submit_many(
        self, requests: Sequence[ObligationRequest], *, tx: Transaction | None = None
    ) -> SubmitResult:
        """Add obligations atomically (all or none); duplicates with equal content are no-ops."""
        with self._writing(tx) as connection:
            result = cycles.submit_many(connection, requests, self.ledger.clock())
        log.info("obligations_submitted", accepted=result.accepted, duplicates=result.duplicates)
        return result

    def submit_order(
        self,
        order_id: str,
        buyer: str,
        seller: str,
        amount: Money,
        fee: Money | None = None,
        at: datetime | None = None,
        *,
        tx: Transaction | None = None,
    ) -> tuple[Obligation, ...]:
        """An order on deferred-net terms: buyer owes seller ``amount - fee`` and the platform
        ``fee`` (0 <= fee <= amount). References ``order:<id>`` and ``order:<id>:fee``. Unknown
        buyer or seller are registered with defaults (settlement currency = the order's); so is
        the platform. Pass ``tx`` to submit inside the caller's transaction."""
        amount_minor, currency = money_to_minor(amount)
        fee_minor = 0
        if fee is not None:
            fee_minor, fee_currency = money_to_minor(fee)
            if fee_currency != currency:
                raise CurrencyMismatchError(
                    f"order {order_id!r}: fee in {fee_currency}, amount in {currency}",
                    order_id=order_id,
                )
        if not 0 <= fee_minor <= amount_minor:
            raise InvalidInputError(
                f"order {order_id!r}: the fee must be between 0 and the amount",
                order_id=order_id,
            )
        requests = []
        if fee_minor < amount_minor:
            requests.append(
                ObligationRequest(
                    buyer,
                    seller,
                    _minor_money(amount_minor - fee_minor, currency),
                    f"order:{order_id}",
                    at=at,
                )
            )
        if fee_minor:
            requests.append(
                ObligationRequest(
                    buyer,
                    PLATFORM,
                    _minor_money(fee_minor, currency),
                    f"order:{order_id}:fee",
                    at=at,
                )
            )
        now = self.ledger.clock()
        with self._writing(tx) as connection:
            for name in (buyer, seller):
                participants.ensure(connection, name, currency, now)
            if fee_minor:
                participants.ensure_platform(connection, currency, now)
            cycles.submit_many(connection, requests, now)
            references = [request.reference for request in requests]
            return tuple(cycles.read_obligations(connection, references=references))

    def obligations(self, cycle_id: int) -> list[Obligation]:
        with self._reading() as connection:
            return list(cycles.read_obligations(connection, cycle_id=cycle_id))

    # -- cycles --------------------------------------------------------------------------

    def open_cycle(self) -> Cycle:
        """The cycle now accepting obligations (created if there is none yet)."""
        with self._writing() as connection:
            row = cycles.lock_open_cycle(connection, exclusive=False, now=self.ledger.clock())
            return cycles.cycle_of(connection, row)

    def cycle(self, cycle_id: int) -> Cycle:
        with self._reading() as connection:
            return cycles.read_cycle(connection, cycle_id)

    def cycles(self) -> list[Cycle]:
        with self._reading() as connection:
            return cycles.read_cycles(connection)

    def cutoff(self, at: datetime | None = None) -> Cycle:
        """Freeze the open cycle at ``at`` (default now; not in the future) and open the next.

        Obligations stamped after ``at`` move to the next cycle. Returns the frozen cycle."""
        raise_problems(check_timestamp(at, "at"))
        now = self.ledger.clock()
        at = at or now
        if at > now:
            raise InvalidInputError(
                f"cut-off at {at.isoformat()} is in the future", at=at.isoformat()
            )
        with self._writing() as connection:
            frozen_id, next_id = cycles.cutoff(connection, at, now)
            frozen = cycles.read_cycle(connection, frozen_id)
        log.info(
            "cycle_cut_off", cycle=frozen_id, next_cycle=next_id, obligations=frozen.obligations
        )
        return frozen

    # -- netting and settlement ----------------------------------------------------------

    def net(self, cycle_id: int) -> Netting:
        """Multilateral net positions of the cycle, before any funding check."""
        from jiaolong_ledger.clearing.settlement import RateBook

        with self._reading() as connection:
            row = cycles.read_cycle(connection, cycle_id)
            roster = participants.load_all(connection)
            names = {participant_id: p.name for participant_id, p in roster.items()}
            rates = RateBook(self.ledger, row.cutoff_at or self.ledger.clock())
            return net(connection, cycle_id, names, rate_for=rates)

    def settlement(
        self, cycle_id: int, *, dry_run: bool = False, convert: bool = False
    ) -> SettlementRun:
        """A settlement run to iterate (stage by stage); its ``report`` is set when done."""
        return SettlementRun(self.ledger, cycle_id, dry_run=dry_run, convert=convert)

    def settle(self, cycle_id: int, *, dry_run: bool = False, convert: bool = False) -> CycleReport:
        """Settle a frozen cycle in one transaction (or, ``dry_run``, compute without writing).

        ``convert`` also values every position in its participant's settlement currency at the
        cycle's fixing rates. A settled cycle raises ``CYCLE_ALREADY_SETTLED``."""
        run = self.settlement(cycle_id, dry_run=dry_run, convert=convert)
        for _stage in run:
            pass
        assert run.report is not None
        return run.report

    def report(self, cycle_id: int, *, convert: bool = False) -> CycleReport:
        """The stored report of a settled cycle; for an unsettled one, a dry-run preview."""
        with self._reading() as connection:
            cycles.read_cycle(connection, cycle_id)
            stored = stored_report(connection, cycle_id)
        if stored is not None:
            return stored
        return self.settle(cycle_id, dry_run=True, convert=convert)

    def export_iso20022(
        self, report: CycleReport, directory: str | Path, *, created_at: datetime | None = None
    ) -> Path:
        """Write the report's instructions as pain.001.001.09 into ``directory``."""
        from jiaolong_ledger.clearing.iso20022 import write_pain001

        roster = {p.name: p for p in self.participants()}
        return write_pain001(report, roster, directory, created_at or self.ledger.clock())


def _minor_money(amount_minor: int, currency: str) -> Money:
    from jiaolong_ledger.money import minor_to_money

    return minor_to_money(amount_minor, currency)


def service_for(ledger: Ledger) -> Clearing:
    return Clearing(ledger)


__all__ = [
    "PLATFORM",
    "Clearing",
    "Cycle",
    "CycleReport",
    "Exclusion",
    "Instruction",
    "Netting",
    "Obligation",
    "ObligationRequest",
    "Participant",
    "Position",
    "SettlementRun",
    "SubmitResult",
    "clearing_account",
    "default_settlement_account",
    "service_for",
]

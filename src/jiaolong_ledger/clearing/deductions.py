"""Automatic financing deductions at settlement (SPEC §2: repayment from settlement proceeds).

After a cycle's pay-outs are posted, and in the SAME database transaction, every net receiver
in a currency that borrows on a facility in that currency opened with ``auto_deduct=True`` has
part of its proceeds applied as a repayment: interest accrued up to the settlement day first,
then principal (``FinancingBook.deduct``). At most the receiver's net proceeds of this cycle
(and never more than its available cash, so no constraint is violated) are taken; several
facilities of one borrower are served in the order they were opened. Only receivers settling
into their default account ``participant:<name>:cash:<CCY>`` (the account a repayment debits)
are considered. Each repayment is a journal entry ``financing/<f>/repayment/clearing-cycle-<n>``.

A dry run computes the same deductions from a projection of the interest (nothing is booked).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from jiaolong_ledger.clearing.model import (
    PLATFORM,
    Deduction,
    Participant,
    default_settlement_account,
)
from jiaolong_ledger.clearing.netting import Netting
from jiaolong_ledger.financing.service import FinancingBook, projected_debt
from jiaolong_ledger.financing.tables import financing_facilities
from jiaolong_ledger.logs import get_logger

if TYPE_CHECKING:
    from jiaolong_ledger.journal.engine import Transaction

log = get_logger("jiaolong_ledger.clearing")


def reference(cycle_id: int) -> str:
    return f"clearing-cycle-{cycle_id}"


def _receivers(netting: Netting, roster: Mapping[int, Participant]) -> list[tuple[str, str, int]]:
    """``(name, currency, net proceeds)`` of the net receivers that may be deducted from."""
    found = []
    for (pid, currency), position in sorted(
        netting.positions.items(), key=lambda item: (roster[item[0][0]].name, item[0][1])
    ):
        participant = roster[pid]
        if position.net_minor <= 0 or participant.name == PLATFORM:
            continue
        if participant.settlement_account(currency) != default_settlement_account(
            participant.name, currency
        ):
            continue
        found.append((participant.name, currency, position.net_minor))
    return found


def _facilities(
    connection: Connection, receivers: list[tuple[str, str, int]]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    if not receivers:
        return {}
    f = financing_facilities
    query = (
        select(f)
        .where(f.c.auto_deduct.is_(True), f.c.borrower.in_(sorted({r[0] for r in receivers})))
        .order_by(f.c.opened_at, f.c.facility_id)
    )
    by_borrower: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in connection.execute(query):
        by_borrower.setdefault((row.borrower, row.currency), []).append(dict(row._mapping))
    return by_borrower


def deduct(
    tx: Transaction,
    cycle_id: int,
    netting: Netting,
    roster: Mapping[int, Participant],
    now: datetime,
) -> tuple[Deduction, ...]:
    """Post the deductions (call after the pay-outs, inside the settlement transaction)."""
    receivers = _receivers(netting, roster)
    facilities = _facilities(tx.connection, receivers)
    book = FinancingBook(tx)
    done = []
    for name, currency, proceeds in receivers:
        rows = facilities.get((name, currency), [])
        if not rows:
            continue
        cash = default_settlement_account(name, currency)
        left = min(proceeds, tx.account(cash).balance().available_minor)
        for row in rows:
            taken = book.deduct(row["facility_id"], left, reference=reference(cycle_id), at=now)
            if taken is None:
                continue
            interest, principal, key = taken
            left -= interest + principal
            done.append(
                Deduction(name, currency, row["facility_id"], proceeds, interest, principal, key)
            )
            log.info(
                "clearing_deducted",
                cycle=cycle_id,
                participant=name,
                facility_id=row["facility_id"],
                interest=interest,
                principal=principal,
            )
    return tuple(done)


def preview(
    connection: Connection,
    netting: Netting,
    roster: Mapping[int, Participant],
    available: Mapping[str, int],
    now: datetime,
) -> tuple[Deduction, ...]:
    """What ``deduct`` would take (dry run): ``available`` is each receiver's cash available
    before the pay-out, by account code."""
    receivers = _receivers(netting, roster)
    facilities = _facilities(connection, receivers)
    found = []
    for name, currency, proceeds in receivers:
        cash = default_settlement_account(name, currency)
        left = min(proceeds, available.get(cash, 0) + proceeds)
        for row in facilities.get((name, currency), []):
            accrued = row["accrued_until"]
            if left <= 0 or (accrued is not None and accrued > now):
                continue
            interest_due, principal = projected_debt(row, now)
            amount = min(left, interest_due + principal)
            if amount <= 0:
                continue
            interest = min(amount, interest_due)
            left -= amount
            found.append(
                Deduction(name, currency, row["facility_id"], proceeds, interest, amount - interest)
            )
    return tuple(found)


def receiver_accounts(netting: Netting, roster: Mapping[int, Participant]) -> list[str]:
    return [default_settlement_account(n, c) for n, c, _ in _receivers(netting, roster)]


__all__ = ["deduct", "preview", "receiver_accounts", "reference"]

"""Automatic financing deductions at settlement (SPEC §2: repayment from settlement proceeds).

After a cycle's pay-outs are posted, and in the SAME database transaction, every net receiver
in a currency may have part of its proceeds applied as a repayment of its facilities in that
currency opened with ``auto_deduct=True``. Clearing decides who may be deducted from and how
much may be taken; the financing book (reached through the :class:`~.ports.Deductions`
protocol, wired by the unit of work) decides which facilities are served and books the
repayments: interest accrued up to the settlement day first, then principal, facilities in the
order they were opened, each a journal entry ``financing/<f>/repayment/clearing-cycle-<n>``.

At most the receiver's net proceeds of this cycle are taken, and never more than its available
cash, so no constraint is violated. Only receivers settling into their default account
``participant:<name>:cash:<CCY>`` (the account a repayment debits) are considered; the platform
never is. A dry run asks the financing book for a preview (nothing is booked) and bounds it by
the cash available before the pay-out plus the proceeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from jiaolong_ledger.clearing.model import (
    PLATFORM,
    Deduction,
    Participant,
    default_settlement_account,
)
from jiaolong_ledger.clearing.netting import Netting
from jiaolong_ledger.clearing.ports import Deductions
from jiaolong_ledger.logs import get_logger

log = get_logger("jiaolong_ledger.clearing")

Receiver = tuple[str, str, int]
"""``(participant name, currency, net proceeds in minor units)``."""


def reference(cycle_id: int) -> str:
    return f"clearing-cycle-{cycle_id}"


def receivers(
    book: Deductions, netting: Netting, roster: Mapping[int, Participant]
) -> list[Receiver]:
    """The net receivers that may be deducted from (they hold a facility that repays from
    proceeds in that currency), by name then currency."""
    borrowers = book.auto_deduct_borrowers()
    if not borrowers:
        return []
    found = []
    for (pid, currency), position in sorted(
        netting.positions.items(), key=lambda item: (roster[item[0][0]].name, item[0][1])
    ):
        participant = roster[pid]
        if position.net_minor <= 0 or participant.name == PLATFORM:
            continue
        if (participant.name, currency) not in borrowers:
            continue
        if participant.settlement_account(currency) != default_settlement_account(
            participant.name, currency
        ):
            continue
        found.append((participant.name, currency, position.net_minor))
    return found


def deduct(
    book: Deductions,
    cycle_id: int,
    found: list[Receiver],
    available: Mapping[str, int],
    now: datetime,
) -> tuple[Deduction, ...]:
    """Book the deductions (after the pay-outs, in the settlement transaction; ``book`` bound).

    ``available``: each receiver's cash available after the pay-out, by account code."""
    done = []
    for name, currency, proceeds in found:
        cash = default_settlement_account(name, currency)
        limit_minor = min(proceeds, available.get(cash, 0))
        if limit_minor <= 0:
            continue
        taken = book.deduct_from_proceeds(
            name, currency, limit_minor, reference=reference(cycle_id), at=now
        )
        for facility_id, interest, principal, key in taken:
            done.append(Deduction(name, currency, facility_id, proceeds, interest, principal, key))
            log.info(
                "clearing_deducted",
                cycle=cycle_id,
                participant=name,
                facility_id=facility_id,
                interest=interest,
                principal=principal,
            )
    return tuple(done)


def preview(
    book: Deductions,
    found: list[Receiver],
    available: Mapping[str, int],
    now: datetime,
) -> tuple[Deduction, ...]:
    """What :func:`deduct` would take (dry run): ``available`` is each receiver's cash
    available before the pay-out, by account code."""
    previewed = []
    for name, currency, proceeds in found:
        cash = default_settlement_account(name, currency)
        limit_minor = min(proceeds, available.get(cash, 0) + proceeds)
        if limit_minor <= 0:
            continue
        for facility_id, interest, principal in book.preview_deductions(
            name, currency, limit_minor, at=now
        ):
            previewed.append(Deduction(name, currency, facility_id, proceeds, interest, principal))
    return tuple(previewed)


__all__ = ["deduct", "preview", "receivers", "reference"]

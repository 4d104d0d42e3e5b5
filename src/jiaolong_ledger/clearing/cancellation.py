"""Cancelling an obligation before its cut-off.

An obligation may be cancelled while it is in the open cycle, never after (once its cycle is
frozen, the frozen set is final: it is what the cut-off digest names). The row stays, as the
record: ``cycle_id`` becomes NULL (no netting, carry or cut-off query selects it),
``cancelled_at`` and ``cancelled_cycle_id`` (the cycle it left) are set. Cancelling again is a
no-op. The open cycle's row is taken ``FOR SHARE`` like a submission, so a cancellation and a
cut-off are serialised: whichever commits first wins, and a cancellation that waited for a cut-off
finds the obligation in the frozen cycle and is refused (``OBLIGATION_NOT_CANCELLABLE``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from jiaolong_ledger.clearing.cycles import lock_open_cycle, read_obligations
from jiaolong_ledger.clearing.model import Obligation
from jiaolong_ledger.clearing.tables import clearing_cycles, clearing_obligations
from jiaolong_ledger.errors import ObligationNotCancellableError, ObligationNotFoundError


def _row(connection: Connection, reference: str, *, lock: bool) -> Any:
    o = clearing_obligations
    query = select(o.c.id, o.c.cycle_id, o.c.cancelled_at).where(o.c.reference == reference)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        raise ObligationNotFoundError(
            f"no clearing obligation with reference {reference!r}", reference=reference
        )
    return row


def cancel(connection: Connection, reference: str, now: datetime) -> Obligation:
    """Cancel obligation ``reference`` if it is in the open cycle (again: a no-op)."""
    if _row(connection, reference, lock=False).cancelled_at is not None:
        return _read(connection, reference)
    open_id = int(lock_open_cycle(connection, exclusive=False, now=now).id)
    row = _row(connection, reference, lock=True)
    if row.cancelled_at is not None:
        return _read(connection, reference)
    if row.cycle_id != open_id:
        status = connection.execute(
            select(clearing_cycles.c.status).where(clearing_cycles.c.id == row.cycle_id)
        ).scalar_one()
        raise ObligationNotCancellableError(
            f"obligation {reference!r} is in cycle {row.cycle_id}, which is {status} "
            "(past its cut-off); only obligations of the open cycle can be cancelled",
            reference=reference,
            cycle=int(row.cycle_id),
            cycle_status=status,
        )
    connection.execute(
        update(clearing_obligations)
        .where(clearing_obligations.c.id == row.id)
        .values(cycle_id=None, cancelled_at=now, cancelled_cycle_id=open_id)
    )
    return _read(connection, reference)


def _read(connection: Connection, reference: str) -> Obligation:
    return next(read_obligations(connection, references=[reference]))


__all__ = ["ObligationNotFoundError", "cancel"]

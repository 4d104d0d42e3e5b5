"""Financing's own rows: facilities and movements, read and written on a given connection.

The book hands these functions the connection of its unit of work (writes, and reads that
must see them) or a read connection; nothing here opens one, decides, or touches the journal.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from jiaolong_ledger.financing.tables import financing_facilities, financing_movements


def facility(connection: Connection, facility_id: str) -> dict[str, Any] | None:
    row = connection.execute(
        select(financing_facilities).where(financing_facilities.c.facility_id == facility_id)
    ).first()
    return None if row is None else dict(row._mapping)


def facilities(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(financing_facilities).order_by(financing_facilities.c.facility_id)
    )
    return [dict(row._mapping) for row in rows]


def facility_ids(connection: Connection) -> list[str]:
    query = select(financing_facilities.c.facility_id).order_by(financing_facilities.c.facility_id)
    return list(connection.execute(query).scalars())


def auto_deduct_facilities(
    connection: Connection, borrower: str, currency: str
) -> list[dict[str, Any]]:
    """The borrower's ``auto_deduct`` facilities in ``currency``, in opening order."""
    f = financing_facilities
    query = (
        select(f)
        .where(f.c.auto_deduct.is_(True), f.c.borrower == borrower, f.c.currency == currency)
        .order_by(f.c.opened_at, f.c.facility_id)
    )
    return [dict(row._mapping) for row in connection.execute(query)]


def auto_deduct_borrowers(connection: Connection) -> set[tuple[str, str]]:
    """``(borrower, currency)`` of every facility opened with ``auto_deduct``, in one read."""
    f = financing_facilities
    query = select(f.c.borrower, f.c.currency).where(f.c.auto_deduct.is_(True)).distinct()
    return {(row.borrower, row.currency) for row in connection.execute(query)}


def insert_facility(connection: Connection, row: dict[str, Any]) -> None:
    connection.execute(financing_facilities.insert(), row)


def update_facility(connection: Connection, row: dict[str, Any]) -> None:
    values = {k: v for k, v in row.items() if k != "facility_id"}
    connection.execute(
        financing_facilities.update()
        .where(financing_facilities.c.facility_id == row["facility_id"])
        .values(**values)
    )


def movements(connection: Connection, facility_id: str) -> list[dict[str, Any]]:
    """Drawdowns and repayments of a facility, in time order (amounts in minor units)."""
    query = (
        select(financing_movements)
        .where(financing_movements.c.facility_id == facility_id)
        .order_by(financing_movements.c.effective_at, financing_movements.c.kind)
    )
    return [dict(row._mapping) for row in connection.execute(query)]


def movement_digest(
    connection: Connection, facility_id: str, kind: str, reference: str
) -> str | None:
    """The request digest of the movement booked under ``reference``, if there is one."""
    m = financing_movements
    found = connection.execute(
        select(m.c.request_digest).where(
            m.c.facility_id == facility_id, m.c.kind == kind, m.c.reference == reference
        )
    ).scalar_one_or_none()
    return None if found is None else str(found)


def movement_count(connection: Connection, facility_id: str, kind: str) -> int:
    m = financing_movements
    query = select(func.count()).where(m.c.facility_id == facility_id, m.c.kind == kind)
    return int(connection.execute(query).scalar_one())


def insert_movement(connection: Connection, movement: dict[str, Any]) -> None:
    connection.execute(financing_movements.insert(), movement)


__all__ = [
    "auto_deduct_facilities",
    "facilities",
    "facility",
    "facility_ids",
    "insert_facility",
    "insert_movement",
    "movement_count",
    "movement_digest",
    "movements",
    "update_facility",
]

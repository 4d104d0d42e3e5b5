"""Loading and saving escrow rows: the only module of the sub-domain that speaks SQL.

An order is read into a mutable :class:`OrderRecord` inside the writer's transaction, changed by
the book, and written back with :func:`save`, which updates only what changed. The entries an
operation builds for an order ride on its record (``queued``) until the book hands them to the
journal, so nothing of one operation can leak into the next. Writers hold
the ledger's chain-head lock for the whole transaction, so read-modify-write is safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection, Select, and_, bindparam, select, update

from jiaolong_ledger.escrow.state import EscrowState, MilestoneSeen, PlanItemState
from jiaolong_ledger.escrow.tables import (
    escrow_milestones,
    escrow_orders,
    escrow_plan_items,
    escrow_shipment_milestones,
)
from jiaolong_ledger.journal.entry import Entry

QUERY_CHUNK_SIZE: Final = 500

ORDER_COLUMNS: Final = tuple(column.name for column in escrow_orders.columns)


@dataclass(slots=True)
class ItemRecord:
    position: int
    milestone: str
    share: Decimal
    amount_minor: int
    released: bool = False
    fee_minor: int | None = None
    released_at: datetime | None = None
    entry_key: str | None = None
    dirty: bool = False


@dataclass(slots=True)
class OrderRecord:
    order_id: str
    buyer: str
    seller: str
    currency: str
    amount_minor: int
    fee_minor: int
    fee_rate: str | None
    incoterm: str
    shipment_id: str | None
    escrow_account: str
    status: str
    placed_at: datetime
    funding_deadline: datetime | None
    release_deadline: datetime | None
    funded_at: datetime | None
    closed_at: datetime | None
    funded_minor: int
    released_minor: int
    fee_charged_minor: int
    refunded_minor: int
    disputed: bool
    dispute_id: str | None
    dispute_reason: str | None
    dispute_outcome: str | None
    close_reason: str | None
    request_digest: str
    items: list[ItemRecord] = field(default_factory=list)
    milestones: dict[str, MilestoneSeen] = field(default_factory=dict)
    new_milestones: list[tuple[MilestoneSeen, datetime]] = field(default_factory=list)
    loaded: dict[str, Any] = field(default_factory=dict)
    is_new: bool = False
    queued: list[Entry] = field(default_factory=list)
    """Entries built for this order by the operation under way, not yet posted."""
    closing: bool = False
    """The order was closed by the operation under way: its escrow account is to be closed."""

    @property
    def remaining_minor(self) -> int:
        return self.funded_minor - self.released_minor - self.refunded_minor

    def columns(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ORDER_COLUMNS}

    def snapshot(self) -> EscrowState:
        plan = tuple(
            PlanItemState(
                item.milestone,
                item.share,
                item.amount_minor,
                item.released,
                item.fee_minor,
                item.released_at,
                item.entry_key,
            )
            for item in self.items
        )
        seen = tuple(sorted(self.milestones.values(), key=lambda m: (m.reached_at, m.milestone)))
        values = {
            f.name: getattr(self, f.name)
            for f in fields(EscrowState)
            if f.name not in ("plan", "milestones")
        }
        return EscrowState(**values, plan=plan, milestones=seen)


def _order(row: Any) -> OrderRecord:
    values = {name: getattr(row, name) for name in ORDER_COLUMNS}
    record = OrderRecord(**values)
    record.loaded = dict(values)
    return record


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), QUERY_CHUNK_SIZE):
        yield items[start : start + QUERY_CHUNK_SIZE]


def _attach_details(connection: Connection, records: dict[str, OrderRecord]) -> None:
    ids = sorted(records)
    for chunk in _chunks(ids):
        items = connection.execute(
            select(escrow_plan_items)
            .where(escrow_plan_items.c.order_id.in_(chunk))
            .order_by(escrow_plan_items.c.order_id, escrow_plan_items.c.position)
        )
        for row in items:
            records[row.order_id].items.append(
                ItemRecord(
                    row.position,
                    row.milestone,
                    Decimal(row.share),
                    int(row.amount_minor),
                    bool(row.released),
                    None if row.fee_minor is None else int(row.fee_minor),
                    row.released_at,
                    row.entry_key,
                )
            )
        seen = connection.execute(
            select(escrow_milestones).where(escrow_milestones.c.order_id.in_(chunk))
        )
        for row in seen:
            records[row.order_id].milestones[row.milestone] = MilestoneSeen(
                row.milestone, row.reached_at, row.location, row.shipment_id
            )


def load_where(connection: Connection, query: Select[Any]) -> list[OrderRecord]:
    """Orders selected by ``query`` (a select of escrow_orders), with plan and milestones."""
    records = {row.order_id: _order(row) for row in connection.execute(query)}
    _attach_details(connection, records)
    return [records[order_id] for order_id in sorted(records)]


def load(connection: Connection, order_id: str) -> OrderRecord | None:
    found = load_where(
        connection, select(escrow_orders).where(escrow_orders.c.order_id == order_id)
    )
    return found[0] if found else None


def load_by_shipment(
    connection: Connection, shipment_id: str, placed_by: datetime | None = None
) -> list[OrderRecord]:
    """The orders on ``shipment_id``; only those placed at or before ``placed_by`` if given."""
    query = select(escrow_orders).where(escrow_orders.c.shipment_id == shipment_id)
    if placed_by is not None:
        query = query.where(escrow_orders.c.placed_at <= placed_by)
    return load_where(connection, query)


def shipment_known(connection: Connection, shipment_id: str) -> bool:
    """Whether any order (whenever placed) travels on ``shipment_id``."""
    query = select(escrow_orders.c.order_id).where(escrow_orders.c.shipment_id == shipment_id)
    return connection.execute(query.limit(1)).first() is not None


def shipment_milestone(
    connection: Connection, shipment_id: str, milestone: str
) -> MilestoneSeen | None:
    """The first report of ``milestone`` for ``shipment_id``, if it was reported."""
    shipments = escrow_shipment_milestones.c
    row = connection.execute(
        select(escrow_shipment_milestones).where(
            shipments.shipment_id == shipment_id, shipments.milestone == milestone
        )
    ).first()
    return (
        None if row is None else MilestoneSeen(milestone, row.reached_at, row.location, shipment_id)
    )


def shipment_milestones_since(
    connection: Connection, shipment_id: str, placed_at: datetime
) -> list[MilestoneSeen]:
    """The milestones of ``shipment_id`` reached at or after ``placed_at`` (those an order
    placed then sees), by time."""
    shipments = escrow_shipment_milestones.c
    rows = connection.execute(
        select(escrow_shipment_milestones)
        .where(shipments.shipment_id == shipment_id, shipments.reached_at >= placed_at)
        .order_by(shipments.reached_at, shipments.milestone)
    )
    return [MilestoneSeen(row.milestone, row.reached_at, row.location, shipment_id) for row in rows]


def record_shipment_milestone(
    connection: Connection, seen: MilestoneSeen, recorded_at: datetime
) -> None:
    """Record the first report of a shipment milestone (the caller checked there was none)."""
    assert seen.shipment_id is not None
    connection.execute(
        escrow_shipment_milestones.insert().values(
            shipment_id=seen.shipment_id,
            milestone=seen.milestone,
            reached_at=seen.reached_at,
            location=seen.location,
            recorded_at=recorded_at,
        )
    )


def order_id_for_account(connection: Connection, escrow_account: str) -> str | None:
    return connection.execute(
        select(escrow_orders.c.order_id).where(escrow_orders.c.escrow_account == escrow_account)
    ).scalar()


def save(connection: Connection, changed: Sequence[OrderRecord]) -> None:
    """Write orders in a few batched statements: new orders and their plans are inserted,
    existing ones updated (every mutable column), dirty plan items updated, new milestones
    inserted."""
    new = [record for record in changed if record.is_new]
    old = [record for record in changed if not record.is_new and record.columns() != record.loaded]
    items = [
        _item_params(_item_values(record.order_id, item))
        for record in changed
        if not record.is_new
        for item in record.items
        if item.dirty
    ]
    seen = [
        {
            "order_id": record.order_id,
            "milestone": milestone.milestone,
            "reached_at": milestone.reached_at,
            "location": milestone.location,
            "shipment_id": milestone.shipment_id,
            "recorded_at": recorded_at,
        }
        for record in changed
        for milestone, recorded_at in record.new_milestones
    ]
    if new:
        connection.execute(escrow_orders.insert(), [record.columns() for record in new])
        connection.execute(
            escrow_plan_items.insert(),
            [_item_values(record.order_id, item) for record in new for item in record.items],
        )
    if old:
        connection.execute(_ORDER_UPDATE, [_order_params(record) for record in old])
    if items:
        connection.execute(_ITEM_UPDATE, items)
    if seen:
        connection.execute(escrow_milestones.insert(), seen)
    for record in changed:
        record.is_new = False
        record.loaded = record.columns()
        record.new_milestones = []
        for item in record.items:
            item.dirty = False


MUTABLE_COLUMNS: Final = (
    "status",
    "funded_at",
    "closed_at",
    "funded_minor",
    "released_minor",
    "fee_charged_minor",
    "refunded_minor",
    "disputed",
    "dispute_id",
    "dispute_reason",
    "dispute_outcome",
    "close_reason",
)
"""What changes after placement; the terms (and the request digest over them) never do."""

_ORDER_UPDATE: Final = (
    update(escrow_orders)
    .where(escrow_orders.c.order_id == bindparam("b_order_id"))
    .values(**{name: bindparam(f"b_{name}") for name in MUTABLE_COLUMNS})
)


def _order_params(record: OrderRecord) -> dict[str, Any]:
    changed = {k for k, v in record.columns().items() if record.loaded.get(k) != v}
    assert changed <= set(MUTABLE_COLUMNS), f"immutable order terms changed: {changed}"
    params = {f"b_{name}": getattr(record, name) for name in MUTABLE_COLUMNS}
    params["b_order_id"] = record.order_id
    return params


_ITEM_UPDATE: Final = (
    update(escrow_plan_items)
    .where(
        and_(
            escrow_plan_items.c.order_id == bindparam("b_order_id"),
            escrow_plan_items.c.position == bindparam("b_position"),
        )
    )
    .values(
        released=bindparam("b_released"),
        fee_minor=bindparam("b_fee_minor"),
        released_at=bindparam("b_released_at"),
        entry_key=bindparam("b_entry_key"),
    )
)


def _item_params(values: dict[str, Any]) -> dict[str, Any]:
    names = ("order_id", "position", "released", "fee_minor", "released_at", "entry_key")
    return {f"b_{name}": values[name] for name in names}


def _item_values(order_id: str, item: ItemRecord) -> dict[str, Any]:
    from jiaolong_ledger.escrow.plan import format_share

    return {
        "order_id": order_id,
        "position": item.position,
        "milestone": item.milestone,
        "share": format_share(item.share),
        "amount_minor": item.amount_minor,
        "released": item.released,
        "fee_minor": item.fee_minor,
        "released_at": item.released_at,
        "entry_key": item.entry_key,
    }


__all__ = [
    "ItemRecord",
    "OrderRecord",
    "load",
    "load_by_shipment",
    "load_where",
    "order_id_for_account",
    "record_shipment_milestone",
    "save",
    "shipment_known",
    "shipment_milestone",
    "shipment_milestones_since",
]

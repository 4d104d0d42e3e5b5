"""``jiaolong escrow``: show an order's escrow, list orders, expire past-deadline orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from jiaolong_ledger.cli.common import TIMESTAMP, emit, json_option, state, table
from jiaolong_ledger.escrow import STATUSES


@click.group()
def escrow() -> None:
    """Escrow held per order and released by rail milestones."""


def _show_human(data: dict[str, Any]) -> None:
    ccy = data["currency"]
    click.echo(
        f"order {data['order_id']}  {data['status']}"
        + ("  DISPUTED" if data["disputed"] else "")
        + f"  {data['buyer']} -> {data['seller']}  {data['amount']} {ccy}"
        + f"  ({data['incoterm']}, shipment {data['shipment_id'] or '-'})"
    )
    click.echo(
        f"funded {data['funded']}  released {data['released']} (fee {data['fee_charged']}, "
        f"seller {data['seller_received']})  refunded {data['refunded']}  "
        f"remaining {data['remaining']}  [{data['escrow_account']}]"
    )
    if data["close_reason"]:
        click.echo(f"closed: {data['close_reason']}")
    rows = [
        [
            item["milestone"],
            item["share"] + "%",
            item["amount"],
            "yes" if item["released"] else "no",
            item["fee"] or "",
            item["released_at"] or "",
        ]
        for item in data["release_plan"]
    ]
    table(["milestone", "share", "amount", "released", "fee", "released at"], rows, {1, 2, 4})
    if data["milestones_seen"]:
        click.echo("milestones seen:")
        for seen in data["milestones_seen"]:
            click.echo(f"  {seen['milestone']:<16} {seen['reached_at']}  {seen['location'] or ''}")


@escrow.command("show")
@click.argument("order_id")
@json_option
def escrow_show(order_id: str) -> None:
    """Show ORDER_ID's escrow: funded, released, refunded, remaining, milestones seen."""
    data = state().ledger().escrow.state(order_id).to_dict()
    emit(data, lambda: _show_human(data))


@escrow.command("list")
@click.option(
    "--status", type=click.Choice(STATUSES), default=None, help="Only orders with this status."
)
@click.option("--shipment", "shipment_id", default=None, help="Only orders on this shipment.")
@json_option
def escrow_list(status: str | None, shipment_id: str | None) -> None:
    """List escrow orders."""
    orders = state().ledger().escrow.orders(status=status, shipment_id=shipment_id)
    data = [order.to_dict() for order in orders]

    def human() -> None:
        rows = [
            [
                d["order_id"],
                d["status"] + ("*" if d["disputed"] else ""),
                d["buyer"],
                d["seller"],
                d["currency"],
                d["amount"],
                d["released"],
                d["refunded"],
                d["remaining"],
            ]
            for d in data
        ]
        headers = ["order", "status", "buyer", "seller", "ccy", "amount", "released"]
        table([*headers, "refunded", "remaining"], rows, {5, 6, 7, 8})

    emit(data, human)


@escrow.command("expire")
@click.option("--now", type=TIMESTAMP, default=None, help="Instant to expire at (default now).")
@json_option
def escrow_expire(now: datetime | None) -> None:
    """Close orders past their funding or release deadline, refunding what they hold."""
    expired = state().ledger().escrow.expire_due(now)
    data = [order.to_dict() for order in expired]

    def human() -> None:
        click.echo(f"expired {len(data)} orders")
        for d in data:
            click.echo(f"  {d['order_id']}: refunded {d['refunded']} {d['currency']}")

    emit(data, human)


COMMANDS: list[click.Command] = [escrow]

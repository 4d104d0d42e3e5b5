"""Escrow step of the demo: orders funded into escrow and released by rail milestones.

The day's intake is written as JSON Lines (``escrow-events.jsonl`` in the demo directory, the
format ``jiaolong events ingest`` reads) and ingested through the adapters in one transaction
per batch. Orders travel on a
few container trains of the Chengdu–Duisburg line; each train's milestones release the shares
of every order on it: departed at Chengdu, border crossed at Khorgos (gauge change into
Kazakhstan), customs cleared at Małaszewicze (gauge change into the EU), delivered at Duisburg.
One order is cancelled after departure (the unreleased remainder is refunded) and one is
disputed at the EU border and resolved by a split.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Final

from jiaolong_ledger.adapters import ingest_many
from jiaolong_ledger.demo.run import DemoContext, Participant
from jiaolong_ledger.money import exponent, format_minor

ROUTE: Final = (
    ("departed", "Chengdu", "30"),
    ("border_crossed", "Khorgos", "20"),
    ("customs_cleared", "Małaszewicze", "40"),
    ("delivered", "Duisburg", "10"),
)
INCOTERMS: Final = ("CPT", "CIP", "DAP", "FCA", "DDP")
FEE_RATE: Final = "0.015"
ORDERS_PER_TRAIN: Final = 12
ORDER_SIZE_BASIS_POINTS: Final = (50, 300)
"""Each order spends 0.5%–3% of what its buyer still has in cash, so buyers never run dry."""
DEMO_BATCH_SIZE: Final = 250
"""Events per transaction: one commit per batch, and the posting engine's per-transaction
bookkeeping (it snapshots every account the transaction has touched on each append) small."""


def _trains(count: int) -> list[str]:
    return [f"X{8001 + index}" for index in range(max(1, -(-count // ORDERS_PER_TRAIN)))]


def _orders(context: DemoContext) -> Iterator[dict[str, Any]]:
    """OrderPlaced events between random pairs of participants, in the buyer's currency."""
    ledger, rng = context.ledger, context.rng
    available = {p.name: ledger.balance(p.cash()).available_minor for p in context.participants}
    trains = _trains(context.orders)
    for index in range(context.orders):
        buyer, seller = rng.sample(context.participants, 2)
        unit = 10 ** exponent(buyer.currency)
        basis_points = rng.randint(*ORDER_SIZE_BASIS_POINTS)
        amount_minor = available[buyer.name] * basis_points // 10_000 // unit * unit
        amount_minor = max(amount_minor, unit)
        available[buyer.name] -= amount_minor
        yield _order_placed(index, buyer, seller, amount_minor, trains[index % len(trains)])


def _order_placed(
    index: int, buyer: Participant, seller: Participant, amount_minor: int, train: str
) -> dict[str, Any]:
    return {
        "type": "OrderPlaced",
        "order_id": f"demo-{index + 1:05d}",
        "buyer": buyer.name,
        "seller": seller.name,
        "amount": format_minor(amount_minor, buyer.currency),
        "currency": buyer.currency,
        "incoterm": INCOTERMS[index % len(INCOTERMS)],
        "shipment_id": train,
        "release_plan": [{"milestone": m, "share": share} for m, _, share in ROUTE],
        "platform_fee_rate": FEE_RATE,
    }


def _day(placed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The day's event stream: orders, funding, then each leg of the journey for every train."""
    events = list(placed)
    events += [{"type": "EscrowFunded", "order_id": o["order_id"]} for o in placed]
    trains = sorted({o["shipment_id"] for o in placed})
    cancelled = placed[0]["order_id"]
    disputed = placed[-1]["order_id"] if len(placed) > 1 else None
    for leg, (milestone, location, _) in enumerate(ROUTE):
        events += [
            {
                "type": "MilestoneReached",
                "shipment_id": train,
                "milestone": milestone,
                "location": location,
            }
            for train in trains
        ]
        if leg == 0:
            events.append(
                {"type": "OrderCancelled", "order_id": cancelled, "reason": "buyer withdrew"}
            )
        if leg == 1 and disputed:
            events.append(
                {
                    "type": "DisputeOpened",
                    "order_id": disputed,
                    "dispute_id": "dispute-1",
                    "reason": "crate damaged during the gauge change at Khorgos",
                }
            )
    return events


def _resolution(context: DemoContext, order_id: str) -> dict[str, Any]:
    state = context.ledger.escrow.state(order_id)
    half = state.remaining_minor // 2
    return {
        "type": "DisputeResolved",
        "order_id": order_id,
        "dispute_id": "dispute-1",
        "outcome": "split",
        "seller_amount": format_minor(half, state.currency),
    }


def run(context: DemoContext) -> None:
    ledger = context.ledger
    placed = list(_orders(context))
    events = _day(placed)
    path = context.out_dir / "escrow-events.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event, ensure_ascii=False) + "\n")
    for start in range(0, len(events), DEMO_BATCH_SIZE):
        ingest_many(ledger, events[start : start + DEMO_BATCH_SIZE])
    disputed = next((e["order_id"] for e in events if e["type"] == "DisputeOpened"), None)
    if disputed is not None:
        resolution = _resolution(context, disputed)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(resolution, ensure_ascii=False) + "\n")
        ledger.ingest(resolution)
    _report(context, len(events) + (disputed is not None), len(_trains(context.orders)))


def _report(context: DemoContext, event_count: int, train_count: int) -> None:
    orders = context.ledger.escrow.orders()
    by_status: dict[str, int] = {}
    totals: dict[str, dict[str, int]] = {}
    for order in orders:
        by_status[order.status] = by_status.get(order.status, 0) + 1
        total = totals.setdefault(order.currency, {"escrowed": 0, "released": 0, "refunded": 0})
        total["escrowed"] += order.funded_minor
        total["released"] += order.released_minor
        total["refunded"] += order.refunded_minor
        total.setdefault("fees", 0)
        total["fees"] += order.fee_charged_minor
    context.say(
        f"escrow: ingested {event_count} events: {len(orders)} orders on {train_count} trains "
        "Chengdu -> Khorgos -> Małaszewicze -> Duisburg"
    )
    context.say(
        "escrow: orders "
        + ", ".join(f"{count} {status}" for status, count in sorted(by_status.items()))
    )
    for currency, total in sorted(totals.items()):
        escrowed, released, refunded, fees = (
            format_minor(total[name], currency)
            for name in ("escrowed", "released", "refunded", "fees")
        )
        context.say(
            f"escrow: {currency} escrowed {escrowed} = released {released} "
            f"(fees {fees}) + refunded {refunded}"
        )
    context.results["escrow"] = {
        "events": event_count,
        "orders": len(orders),
        "by_status": by_status,
        "totals": {
            currency: {name: format_minor(value, currency) for name, value in total.items()}
            for currency, total in sorted(totals.items())
        },
    }

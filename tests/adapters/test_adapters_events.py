"""The eight intake events: parsing, the ``type`` discriminator, INVALID_EVENT naming the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from adapters_helpers import journey, order_placed

from jiaolong_ledger.adapters import (
    DisputeOpened,
    DisputeResolved,
    DrawdownRequested,
    EscrowFunded,
    MilestoneReached,
    OrderCancelled,
    OrderPlaced,
    RepaymentReceived,
    parse_event,
)
from jiaolong_ledger.errors import InvalidEventError

ALL_EIGHT = [
    (order_placed(), OrderPlaced),
    ({"type": "OrderCancelled", "order_id": "ORD-7", "reason": "x"}, OrderCancelled),
    ({"type": "EscrowFunded", "order_id": "ORD-7", "amount": "5", "currency": "EUR"}, EscrowFunded),
    ({"type": "MilestoneReached", "order_id": "ORD-7", "milestone": "arrived"}, MilestoneReached),
    ({"type": "DisputeOpened", "order_id": "ORD-7", "dispute_id": "D-1"}, DisputeOpened),
    (
        {"type": "DisputeResolved", "order_id": "ORD-7", "outcome": "split", "seller_amount": "1"},
        DisputeResolved,
    ),
    (
        {
            "type": "DrawdownRequested",
            "facility_id": "F-1",
            "borrower": "shu-brocade",
            "amount": "50000.00",
            "currency": "CNY",
        },
        DrawdownRequested,
    ),
    (
        {
            "type": "RepaymentReceived",
            "facility_id": "F-1",
            "borrower": "shu-brocade",
            "amount": "100",
            "currency": "CNY",
            "received_at": "2026-12-01T00:00:00+08:00",
        },
        RepaymentReceived,
    ),
]


@pytest.mark.parametrize(("obj", "model"), ALL_EIGHT)
def test_each_event_type_parses_to_its_model(obj: dict[str, Any], model: type) -> None:
    event = parse_event(obj)
    assert type(event) is model
    assert event.type == obj["type"]
    assert parse_event(event) is event


def test_order_placed_fields_are_typed() -> None:
    event = parse_event(order_placed())
    assert isinstance(event, OrderPlaced)
    assert event.amount == Decimal("1200.00")
    assert event.platform_fee_rate == Decimal("0.015")
    assert [item.share for item in event.release_plan] == [Decimal(s) for s in (30, 20, 40, 10)]
    assert event.settlement_terms == "escrow"
    assert event.placed_at is not None and event.placed_at.utcoffset() is not None
    assert event.model_dump(mode="json")["amount"] == "1200.00"


def test_the_journey_parses() -> None:
    assert [parse_event(obj).type for obj in journey()][:3] == [
        "OrderPlaced",
        "EscrowFunded",
        "MilestoneReached",
    ]


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        (order_placed(amount=1200.0), "amount"),
        (order_placed(amount="1200.005"), "amount"),
        (order_placed(amount="-1"), "amount"),
        (order_placed(amount="0"), "amount"),
        (order_placed(amount="12x"), "amount"),
        (order_placed(currency="XXY"), "currency"),
        (order_placed(incoterm="FOB"), "incoterm"),
        (order_placed(buyer="Lodz Gallery"), "buyer"),
        (order_placed(order_id="ORD 7"), "order_id"),
        (order_placed(platform_fee_rate=0.015), "platform_fee_rate"),
        (order_placed(platform_fee_rate="1.5"), "platform_fee_rate"),
        (order_placed(platform_fee="5.00"), "platform_fee"),
        (order_placed(release_plan=[{"milestone": "departed", "share": 100.0}]), None),
        (order_placed(settlement_terms="cash"), "settlement_terms"),
        (order_placed(placed_at="2026-11-20T09:00:00"), "placed_at"),
        (order_placed(placed_at=1700000000), "placed_at"),
        (order_placed(colour="red"), "colour"),
        ({k: v for k, v in order_placed().items() if k != "seller"}, "seller"),
        ({"type": "MilestoneReached", "milestone": "departed"}, "shipment_id"),
        ({"type": "MilestoneReached", "order_id": "O", "milestone": "lost"}, "milestone"),
        ({"type": "EscrowFunded", "order_id": "O", "amount": "10.00"}, "currency"),
        ({"type": "DisputeResolved", "order_id": "O", "outcome": "split"}, "seller_amount"),
        ({"type": "DisputeResolved", "order_id": "O", "outcome": "maybe"}, "outcome"),
        ({"type": "Teleported", "order_id": "O"}, "type"),
        ({"order_id": "O"}, "type"),
    ],
)
def test_malformed_events_are_invalid_event_naming_the_field(
    obj: dict[str, Any], field: str | None
) -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_event(obj)
    error = caught.value
    assert error.code == "INVALID_EVENT"
    assert error.exit_code == 2
    expected = field or "release_plan.0.share"
    assert error.details["field"] == expected
    assert repr(expected) in error.message


def test_every_problem_is_reported() -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_event(order_placed(amount=1.5, incoterm="CIF"))
    fields = {problem["field"] for problem in caught.value.details["problems"]}
    assert fields == {"amount", "incoterm"}


def test_non_objects_are_invalid_events() -> None:
    with pytest.raises(InvalidEventError):
        parse_event(["OrderPlaced"])


def test_models_are_frozen() -> None:
    event = parse_event(order_placed())
    with pytest.raises(ValueError):
        event.order_id = "other"  # type: ignore[misc]

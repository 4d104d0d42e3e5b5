"""Several writers replaying the same event stream at once move the money exactly once."""

from __future__ import annotations

import threading

from escrow_helpers import PLAN, cash, open_market
from moneyed import Money

from jiaolong_ledger import Ledger

WRITERS = 3
EVENTS = [
    {
        "type": "OrderPlaced",
        "order_id": "ORD-C",
        "buyer": "lodz-gallery",
        "seller": "shu-brocade",
        "amount": "999.99",
        "currency": "EUR",
        "incoterm": "DAP",
        "shipment_id": "X8100",
        "release_plan": PLAN,
        "platform_fee_rate": "0.015",
    },
    {"type": "EscrowFunded", "order_id": "ORD-C"},
    {"type": "MilestoneReached", "shipment_id": "X8100", "milestone": "customs_cleared"},
    {"type": "MilestoneReached", "shipment_id": "X8100", "milestone": "departed"},
    {"type": "MilestoneReached", "shipment_id": "X8100", "milestone": "delivered"},
]


def test_concurrent_replays_release_exactly_once(db_url: str) -> None:
    setup = Ledger.connect(db_url)
    open_market(setup)
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def writer() -> None:
        ledger = Ledger.connect(db_url)
        try:
            barrier.wait()
            for event in EVENTS:
                ledger.ingest(event)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            ledger.close()

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    state = setup.escrow.state("ORD-C")
    assert state.status == "completed"
    escrow_keys = [e.key for e in setup.entries() if e.kind.startswith("escrow_")]
    assert sorted(escrow_keys) == sorted(
        [
            "escrow/ORD-C/fund",
            "escrow/ORD-C/release/departed",
            "escrow/ORD-C/release/customs_cleared",
            "escrow/ORD-C/release/delivered",
        ]
    )
    assert setup.balance(cash("shu-brocade", "EUR")).posted == Money("984.99", "EUR")
    assert setup.balance("platform:fees:EUR").posted == Money("15.00", "EUR")
    assert setup.verify().ok
    setup.close()

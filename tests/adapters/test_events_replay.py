"""Replays complete the work: an events file run again (whole, or after an interrupted run)
ends in exactly the state of one clean run, on SQLite and PostgreSQL.

Every event kind is idempotent on its own identity: applied again identically it changes
nothing; applied again with other content where that identity is taken it is refused with a
clear code and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from adapters_helpers import FACILITY, SPLIT_PLAN, every_kind, open_buyer, open_facility
from adapters_helpers import order_placed as placed
from click.testing import CliRunner, Result

from jiaolong_ledger import Ledger
from jiaolong_ledger.adapters import ingest_many
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.errors import LedgerError
from jiaolong_ledger.testing import assert_unchanged, snapshot

FIXED_NOW = datetime(2026, 12, 31, tzinfo=UTC)
"""Every ledger of these tests runs on this clock, so two runs can be compared byte for byte
(``recorded_at`` and with it every hash)."""


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    connect = Ledger.connect.__func__  # type: ignore[attr-defined]

    def on_fixed_clock(cls: type[Ledger], url: str, **options: Any) -> Ledger:
        options.setdefault("clock", lambda: FIXED_NOW)
        return connect(cls, url, **options)  # type: ignore[no-any-return]

    monkeypatch.setattr(Ledger, "connect", classmethod(on_fixed_clock))


@pytest.fixture
def prepared_url(make_url_for: Callable[[], str]) -> Callable[[], str]:
    """Fresh ledgers with the buyer's cash and the facility the events need."""

    def factory() -> str:
        url = make_url_for()
        with Ledger.connect(url) as ledger:
            open_buyer(ledger)
            open_facility(ledger)
        return url

    return factory


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    return str(path)


def ingest(url: str, path: str, *options: str) -> Result:
    result = CliRunner().invoke(cli, ["--db", url, "events", "ingest", *options, path])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def state_of(url: str, tmp_path: Path) -> dict[str, Any]:
    """The journal export (every entry, its hash chain) and the sub-domains' own rows."""
    target = tmp_path / f"export-{abs(hash(url))}.jsonl"
    with Ledger.connect(url) as ledger:
        ledger.export_journal(target)
        cycle = ledger.clearing.open_cycle().id
        return {
            "journal": target.read_text(encoding="utf-8"),
            "orders": [order.to_dict() for order in ledger.escrow.orders()],
            "facility": ledger.financing.state(FACILITY),
            "obligations": [o.to_dict() for o in ledger.clearing.obligations(cycle)],
        }


def test_the_same_file_twice_ends_as_one_clean_run(
    prepared_url: Callable[[], str], tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", every_kind())
    clean, twice = prepared_url(), prepared_url()
    ingest(clean, path)
    ingest(twice, path)
    again = ingest(twice, path, "--batch-size", "3")
    assert "ingested 18 events" in again.output
    expected = state_of(clean, tmp_path)
    assert state_of(twice, tmp_path) == expected
    statuses = {order["order_id"]: order["status"] for order in expected["orders"]}
    assert statuses == {
        "ORD-1": "completed",
        "ORD-2": "resolved",
        "ORD-3": "cancelled",
        "ORD-5": "resolved",
    }
    facility = expected["facility"]  # drew 500.00, repaid 100.00: interest first, then principal
    assert facility.principal_minor == 50_000 - (10_000 - facility.interest_paid_minor)
    assert [o["reference"] for o in expected["obligations"]] == ["order:ORD-4", "order:ORD-4:fee"]


@pytest.mark.parametrize("cut", [1, 4, 7, 10, 13, 16])
def test_a_file_cut_short_then_run_whole_ends_as_one_clean_run(
    prepared_url: Callable[[], str], tmp_path: Path, cut: int
) -> None:
    """What an interrupted run leaves (the batches before the interruption) is finished by
    running the whole file again."""
    events = every_kind()
    whole = write_jsonl(tmp_path / "events.jsonl", events)
    half = write_jsonl(tmp_path / "half.jsonl", events[:cut])
    clean, interrupted = prepared_url(), prepared_url()
    ingest(clean, whole)
    ingest(interrupted, half, "--batch-size", "2")
    ingest(interrupted, whole)
    assert state_of(interrupted, tmp_path) == state_of(clean, tmp_path)


# -- each kind through the API ---------------------------------------------------------------


@pytest.fixture
def ingested(ledger: Ledger) -> Iterator[Ledger]:
    open_buyer(ledger)
    open_facility(ledger)
    ingest_many(ledger, every_kind())
    yield ledger


def _states(ledger: Ledger) -> tuple[Any, ...]:
    cycle = ledger.clearing.open_cycle().id
    return (
        [order.to_dict() for order in ledger.escrow.orders()],
        ledger.financing.state(FACILITY),
        [o.to_dict() for o in ledger.clearing.obligations(cycle)],
    )


KINDS = [
    "OrderPlaced",
    "EscrowFunded",
    "MilestoneReached",
    "DisputeOpened",
    "DisputeResolved",
    "OrderCancelled",
    "DrawdownRequested",
    "RepaymentReceived",
]


@pytest.mark.parametrize("index", range(len(every_kind())))
def test_every_event_applied_again_identically_changes_nothing(
    ingested: Ledger, index: int
) -> None:
    event = every_kind()[index]
    before, states = snapshot(ingested), _states(ingested)
    ingested.ingest(event)
    ingested.ingest(event)
    assert_unchanged(ingested, before)
    assert _states(ingested) == states


def test_every_kind_is_covered() -> None:
    kinds = {event["type"] for event in every_kind()}
    assert kinds == set(KINDS)
    assert any(event.get("settlement_terms") == "deferred_net" for event in every_kind())


def _changed(index: int, **changes: Any) -> dict[str, Any]:
    event = {**every_kind()[index], **changes}
    return {name: value for name, value in event.items() if value is not None}


CONFLICTS = [
    pytest.param(_changed(0, amount="1300.00"), "IDEMPOTENCY_CONFLICT", id="order-other-terms"),
    pytest.param(
        _changed(4, amount="1300.00"), "INVALID_INPUT", id="funding-other-amount"
    ),  # escrow is funded in full: the amount must be the order's
    pytest.param(_changed(5, dispute_id="D-2"), "ESCROW_CLOSED", id="another-dispute"),
    pytest.param(
        _changed(6, outcome="refund", seller_amount=None), "ESCROW_CLOSED", id="other-resolution"
    ),
    pytest.param(
        _changed(13, outcome="release"), "ESCROW_CLOSED", id="other-resolution-without-id"
    ),
    pytest.param(
        placed("ORD-3", shipment_id="X3", release_plan=SPLIT_PLAN, amount="1.00"),
        "IDEMPOTENCY_CONFLICT",
        id="cancelled-order-other-terms",
    ),
    pytest.param(
        _changed(14, amount="1300.00"), "IDEMPOTENCY_CONFLICT", id="deferred-net-other-amount"
    ),
]


@pytest.mark.parametrize(("event", "code"), CONFLICTS)
def test_other_content_under_a_taken_identity_is_a_clear_conflict(
    ingested: Ledger, event: dict[str, Any], code: str
) -> None:
    before, states = snapshot(ingested), _states(ingested)
    with pytest.raises(LedgerError) as caught:
        ingested.ingest(event)
    assert caught.value.code == code
    assert_unchanged(ingested, before)
    assert _states(ingested) == states


def test_a_conflict_in_a_replayed_file_names_its_line(
    prepared_url: Callable[[], str], tmp_path: Path
) -> None:
    url = prepared_url()
    events = every_kind()
    ingest(url, write_jsonl(tmp_path / "events.jsonl", events))
    events[6] = _changed(6, outcome="refund", seller_amount=None)
    changed = write_jsonl(tmp_path / "changed.jsonl", events)
    with Ledger.connect(url) as ledger:
        before = snapshot(ledger)
        result = CliRunner().invoke(cli, ["--db", url, "events", "ingest", changed])
        assert result.exit_code == 1
        assert "error: ESCROW_CLOSED: line 7:" in result.output
        assert "a different resolution cannot be applied" in result.output
        assert "Traceback" not in result.output
        assert_unchanged(ledger, before)


def test_a_replayed_milestone_changes_nothing_when_an_earlier_order_arrived_after_it(
    ledger: Ledger,
) -> None:
    """B is placed at 2026-11-20T09:00Z, before the train departs (2026-11-21), but its
    ``OrderPlaced`` arrives after the milestone's event: B sees the milestone when it is placed
    (the shipment's record of it), its funding releases the share, and the file replayed is a
    no-op instead of reaching B a second way."""
    open_buyer(ledger)
    events = [
        placed("A", shipment_id="X1", release_plan=SPLIT_PLAN),
        {"type": "EscrowFunded", "order_id": "A"},
        {
            "type": "MilestoneReached",
            "shipment_id": "X1",
            "milestone": "departed",
            "reached_at": "2026-11-21T00:00:00Z",
        },
        placed("B", shipment_id="X1", release_plan=SPLIT_PLAN),
        {"type": "EscrowFunded", "order_id": "B"},
    ]
    ingest_many(ledger, events)
    for order_id in ("A", "B"):
        state = ledger.escrow.state(order_id)
        assert state.milestones_seen == ("departed",)
        assert [item.released for item in state.plan] == [True, False]
    before, states = snapshot(ledger), [o.to_dict() for o in ledger.escrow.orders()]
    ingest_many(ledger, events)
    assert_unchanged(ledger, before)
    assert [o.to_dict() for o in ledger.escrow.orders()] == states

"""Deterministic, realistic inputs for the kill-and-rerun tests, built through the public API.

- :func:`escrow_events`: an ``events ingest`` file of rail orders, every event kind of SPEC §2.
  Trains of orders on escrow terms are placed and funded, then reach a prefix of the rail
  milestones; some orders are disputed and resolved (release, refund, split), some cancelled
  before or after funding, some travel without a shipment and are delivered order by order,
  some are on deferred-net terms (clearing obligations); a few buyers draw on and repay credit
  facilities. Every event carries its time, so two runs of the same file write the same entries
  (keys, postings, effective times). :meth:`EventsFile.setup` opens the accounts and facilities
  and deposits what every buyer spends.
- :func:`clearing_cycle`: participants registered in two settlement currencies, their cash
  funded (a few of them short, so the settlement unwinds them), three of them owing on
  facilities repaid from their clearing proceeds, a few hundred obligations submitted and the
  cycle cut off, ready for ``clearing settle``.

The same seed gives the same input; the tests run it on fresh databases side by side.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.accounts.chart import participant_cash, platform_bank
from jiaolong_ledger.clearing.model import ObligationRequest
from jiaolong_ledger.escrow.plan import MILESTONES
from jiaolong_ledger.money import minor_to_decimal, minor_to_money

EPOCH: Final = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
"""Every input happens after this instant ..."""
INPUT_END: Final = EPOCH + timedelta(days=30)
"""... and before this one, long before the tests run: an entry effective later was stamped by
the clock when it was recorded, not by the input."""

SELLERS: Final = (
    "shu-brocade",
    "chongqing-lacquer",
    "jingdezhen-porcelain",
    "suzhou-silk",
    "xian-terracotta",
    "yixing-teapots",
)
BUYERS: Final = (
    "lodz-gallery",
    "almaty-prints",
    "vientiane-silk",
    "duisburg-prints",
    "warsaw-antiques",
    "minsk-books",
)
ORDER_CURRENCIES: Final = ("EUR", "CNY", "USD")
PLANS: Final = (
    (("departed", "30"), ("border_crossed", "30"), ("delivered", "40")),
    (("delivered", "100"),),
    (("booked", "10"), ("arrived", "50"), ("customs_cleared", "40")),
    (("departed", "25"), ("arrived", "25"), ("delivered", "50")),
)
ORDERS_PER_TRAIN: Final = 10
FACILITY_BORROWERS: Final = BUYERS[:3]
FACILITY_CURRENCY: Final = "EUR"
FACILITY_LIMIT_MINOR: Final = 10_000_000


def _time(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(amount_minor: int, currency: str) -> str:
    return str(minor_to_decimal(amount_minor, currency))


def _deposit(key: str, name: str, currency: str, amount_minor: int, at: datetime) -> Entry:
    """Money from the platform's bank into the participant's cash."""
    amount = minor_to_money(amount_minor, currency)
    return Entry(
        key=key,
        postings=[
            debit(platform_bank(currency), amount),
            credit(participant_cash(name, currency), amount),
        ],
        effective_at=at,
        description=f"deposit of {name}",
    )


def _fund(ledger: Ledger, cash: Iterable[tuple[str, str]], deposits: list[Entry]) -> None:
    """Open the banks and the (name, currency) cash accounts, post the deposits: one unit."""
    accounts = sorted(cash)
    with ledger.transaction() as tx:
        for currency in sorted({currency for _, currency in accounts}):
            tx.ensure_account(platform_bank(currency), currency, "asset")
        for name, currency in accounts:
            tx.ensure_account(
                participant_cash(name, currency),
                currency,
                "liability",
                "debits_must_not_exceed_credits",
            )
        tx.post_many(deposits)


def _open_facilities(ledger: Ledger, borrowers: Iterable[tuple[str, str]]) -> None:
    """A platform facility per (borrower, currency) at no interest (so an amount repaid
    never depends on the day a command runs), repaid automatically from clearing proceeds."""
    for borrower, currency in borrowers:
        ledger.financing.open_facility(
            facility_id(borrower),
            borrower,
            "platform",
            minor_to_money(FACILITY_LIMIT_MINOR, currency),
            "0",
            "ACT/360",
            at=EPOCH - timedelta(days=7),
            auto_deduct=True,
        )


def facility_id(borrower: str) -> str:
    return f"FAC-{borrower}"


@dataclass
class EventsFile:
    """An events file (one JSON object per line) and what it needs before ingesting."""

    events: list[dict[str, Any]] = field(default_factory=list)
    deposits_minor: dict[tuple[str, str], int] = field(default_factory=dict)
    participants: set[tuple[str, str]] = field(default_factory=set)

    def head(self, count: int) -> EventsFile:
        """The first ``count`` events (valid on their own: the file is in time order), with the
        whole file's accounts and deposits."""
        return EventsFile(self.events[:count], dict(self.deposits_minor), set(self.participants))

    def placed(self, count: int) -> set[str]:
        """The escrow orders placed by the first ``count`` events."""
        return {
            event["order_id"]
            for event in self.events[:count]
            if event["type"] == "OrderPlaced" and event.get("settlement_terms") != "deferred_net"
        }

    def write(self, path: Path) -> Path:
        path.write_text(
            "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in self.events),
            encoding="utf-8",
        )
        return path

    def setup(self, ledger: Ledger) -> None:
        """Open the bank and cash accounts and deposit each buyer's spending (one unit)."""
        at = EPOCH - timedelta(days=7)
        deposits = [
            _deposit(f"reliability/deposit/{buyer}/{currency}", buyer, currency, amount_minor, at)
            for (buyer, currency), amount_minor in sorted(self.deposits_minor.items())
        ]
        _fund(ledger, self.participants, deposits)
        _open_facilities(ledger, ((name, FACILITY_CURRENCY) for name in FACILITY_BORROWERS))


@dataclass
class _Order:
    number: int
    currency: str
    amount_minor: int
    placed_at: datetime
    fate: str
    events: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)


def _fate(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return "unfunded-cancel"
    if roll < 0.10:
        return "cancel-in-transit"
    if roll < 0.22:
        return "dispute"
    if roll < 0.27:
        return "deferred"
    return "normal"


def _fee(rng: random.Random, amount_minor: int, currency: str) -> dict[str, str]:
    choice = rng.choice(("rate", "rate", "fixed", "none"))
    if choice == "rate":
        return {"platform_fee_rate": rng.choice(("0.015", "0.02", "0.0125"))}
    if choice == "fixed":
        return {"platform_fee": _amount(amount_minor // 50, currency)}
    return {}


def _place(
    rng: random.Random, number: int, train: str | None, placed_at: datetime, out: EventsFile
) -> _Order:
    buyer, seller = rng.choice(BUYERS), rng.choice(SELLERS)
    currency = rng.choice(ORDER_CURRENCIES)
    amount_minor = rng.randrange(10_000, 5_000_000)
    plan = (("delivered", "100"),) if train is None else rng.choice(PLANS)
    order = _Order(number, currency, amount_minor, placed_at, _fate(rng))
    if order.fate == "deferred":
        train = None
    event: dict[str, Any] = {
        "type": "OrderPlaced",
        "order_id": f"ORD-{number}",
        "buyer": buyer,
        "seller": seller,
        "currency": currency,
        "amount": _amount(amount_minor, currency),
        "incoterm": rng.choice(("FCA", "CPT", "CIP", "DAP", "DDP")),
        "release_plan": [{"milestone": name, "share": share} for name, share in plan],
        **_fee(rng, amount_minor, currency),
        "placed_at": _time(placed_at),
    }
    if train is not None:
        event["shipment_id"] = train
    order.events.append((placed_at, event))
    if order.fate == "deferred":
        # Clearing terms: an obligation for the next settlement, nothing held in escrow.
        event.update(settlement_terms="deferred_net", release_plan=[])
        return order
    out.participants |= {(buyer, currency), (seller, currency)}
    if order.fate != "unfunded-cancel":
        key = (buyer, currency)
        out.deposits_minor[key] = out.deposits_minor.get(key, 0) + amount_minor
    return order


def _order_life(rng: random.Random, order: _Order, departs_at: datetime) -> None:
    """Funding, disputes and cancellations of one order (its train's milestones apart)."""
    order_id = f"ORD-{order.number}"
    funded_at = order.placed_at + timedelta(hours=1)
    if order.fate == "deferred":
        return
    if order.fate == "unfunded-cancel":
        cancelled_at = order.placed_at + timedelta(hours=3)
        order.events.append(
            (
                cancelled_at,
                {
                    "type": "OrderCancelled",
                    "order_id": order_id,
                    "reason": "buyer withdrew before funding",
                    "cancelled_at": _time(cancelled_at),
                },
            )
        )
        return
    order.events.append(
        (
            funded_at,
            {
                "type": "EscrowFunded",
                "order_id": order_id,
                "currency": order.currency,
                "amount": _amount(order.amount_minor, order.currency),
                "funded_at": _time(funded_at),
            },
        )
    )
    if order.fate == "cancel-in-transit":
        cancelled_at = departs_at + timedelta(hours=1, minutes=order.number % 50)
        order.events.append(
            (
                cancelled_at,
                {
                    "type": "OrderCancelled",
                    "order_id": order_id,
                    "reason": "goods damaged at loading",
                    "cancelled_at": _time(cancelled_at),
                },
            )
        )
    elif order.fate == "dispute":
        _dispute(rng, order, funded_at + timedelta(minutes=30), departs_at)


def _dispute(rng: random.Random, order: _Order, opened_at: datetime, departs_at: datetime) -> None:
    order_id, dispute_id = f"ORD-{order.number}", f"D-{order.number}"
    resolved_at = departs_at + timedelta(hours=36, minutes=order.number % 50)
    outcome = rng.choice(("release", "refund", "split"))
    resolution: dict[str, Any] = {
        "type": "DisputeResolved",
        "order_id": order_id,
        "dispute_id": dispute_id,
        "outcome": outcome,
        "resolved_at": _time(resolved_at),
    }
    if outcome == "split":
        resolution["seller_amount"] = _amount(order.amount_minor // 2, order.currency)
    order.events += [
        (
            opened_at,
            {
                "type": "DisputeOpened",
                "order_id": order_id,
                "dispute_id": dispute_id,
                "reason": "quality complaint",
                "opened_at": _time(opened_at),
            },
        ),
        (resolved_at, resolution),
    ]


def _train_milestones(
    rng: random.Random, train: str, departs_at: datetime
) -> list[tuple[datetime, dict[str, Any]]]:
    reached = MILESTONES[: rng.choice((4, 5, 6, 6, 6))]
    found = []
    for step, milestone in enumerate(reached):
        at = departs_at + timedelta(hours=12 * step - 12)
        found.append(
            (
                at,
                {
                    "type": "MilestoneReached",
                    "shipment_id": train,
                    "milestone": milestone,
                    "reached_at": _time(at),
                    "location": f"station {step}",
                },
            )
        )
    return found


def escrow_events(orders: int = 200, seed: int = 10) -> EventsFile:
    """About ``orders`` rail orders (trains of ten, a few without a shipment), in time order."""
    rng = random.Random(seed)
    out = EventsFile(participants={(name, FACILITY_CURRENCY) for name in FACILITY_BORROWERS})
    timed: list[tuple[datetime, int, dict[str, Any]]] = []
    number = 0
    for train_number in range(orders // ORDERS_PER_TRAIN):
        train = f"TRAIN-{train_number + 1}"
        departs_at = EPOCH + timedelta(days=2, hours=6 * train_number)
        for _ in range(ORDERS_PER_TRAIN):
            number += 1
            loose = rng.random() < 0.05
            placed_at = departs_at - timedelta(days=2) + timedelta(minutes=number)
            order = _place(rng, number, None if loose else train, placed_at, out)
            _order_life(rng, order, departs_at)
            if loose and order.fate in ("normal", "dispute"):
                delivered_at = departs_at + timedelta(days=3, minutes=number)
                order.events.append(
                    (
                        delivered_at,
                        {
                            "type": "MilestoneReached",
                            "order_id": f"ORD-{number}",
                            "milestone": "delivered",
                            "reached_at": _time(delivered_at),
                        },
                    )
                )
            for at, event in order.events:
                timed.append((at, len(timed), event))
        for at, event in _train_milestones(rng, train, departs_at):
            timed.append((at, len(timed), event))
    for at, event in _facility_events(rng):
        timed.append((at, len(timed), event))
    assert all(at < INPUT_END for at, _, _ in timed)
    out.events = [event for _, _, event in sorted(timed, key=lambda item: item[:2])]
    return out


def _facility_events(rng: random.Random) -> list[tuple[datetime, dict[str, Any]]]:
    """Each borrower draws four times and repays twice, less than it drew before."""
    found = []
    for borrower in FACILITY_BORROWERS:
        drawn_minor = 0
        for day in range(1, 7):
            at = EPOCH + timedelta(days=day, hours=rng.randrange(24))
            if day in (3, 6):
                kind, field_name, amount_minor = (
                    "RepaymentReceived",
                    "received_at",
                    drawn_minor // 3,
                )
            else:
                kind, field_name = "DrawdownRequested", "requested_at"
                amount_minor = rng.randrange(100_000, 1_000_000)
                drawn_minor += amount_minor
            event = {
                "type": kind,
                "facility_id": facility_id(borrower),
                "borrower": borrower,
                "currency": FACILITY_CURRENCY,
                "amount": _amount(amount_minor, FACILITY_CURRENCY),
                field_name: _time(at),
            }
            found.append((at, event))
    return found


# -- clearing ---------------------------------------------------------------------------------

CLEARING_CURRENCIES: Final = ("EUR", "CNY")
CUTOFF_AT: Final = EPOCH + timedelta(days=1)


@dataclass(frozen=True)
class ClearingInput:
    participants: tuple[tuple[str, str], ...]
    """(name, settlement currency)."""
    funding_minor: dict[tuple[str, str], int]
    obligations: tuple[ObligationRequest, ...]
    borrowers: tuple[tuple[str, str], ...]
    """(name, currency) owing on a facility repaid from its proceeds in that currency."""

    def setup(self, ledger: Ledger) -> int:
        """Register, fund, submit and cut off; returns the frozen cycle's id."""
        for name, currency in self.participants:
            ledger.clearing.register_participant(name, currency, legal_name=f"{name} ltd")
        at = EPOCH - timedelta(days=1)
        deposits = [
            _deposit(f"reliability/funding/{name}/{currency}", name, currency, amount_minor, at)
            for (name, currency), amount_minor in sorted(self.funding_minor.items())
        ]
        _fund(ledger, self.funding_minor, deposits)
        _open_facilities(ledger, self.borrowers)
        for borrower, currency in self.borrowers:
            money = minor_to_money(FACILITY_LIMIT_MINOR // 4, currency)
            ledger.financing.draw(facility_id(borrower), money, reference="d1", at=EPOCH)
        ledger.clearing.submit_many(list(self.obligations))
        return ledger.clearing.cutoff(CUTOFF_AT).id


def clearing_cycle(participants: int = 20, obligations: int = 300, seed: int = 10) -> ClearingInput:
    """``obligations`` among ``participants`` in EUR and CNY; about one participant in six is
    funded too thinly to pay its net, so the settlement has to unwind it."""
    rng = random.Random(seed)
    names = [f"studio-{number:02d}" for number in range(1, participants + 1)]
    roster = tuple((name, CLEARING_CURRENCIES[index % 2]) for index, name in enumerate(names))
    short = set(rng.sample(names, max(1, participants // 6)))
    funding: dict[tuple[str, str], int] = defaultdict(int)
    for name in names:
        for currency in CLEARING_CURRENCIES:
            funding[name, currency] = 5_000 if name in short else rng.randrange(10**7, 10**8)
    requests = []
    for number in range(1, obligations + 1):
        payer, payee = rng.sample(names, 2)
        currency = rng.choice(CLEARING_CURRENCIES)
        requests.append(
            ObligationRequest(
                payer=payer,
                payee=payee,
                amount=Money(minor_to_decimal(rng.randrange(1_000, 2_000_000), currency), currency),
                reference=f"invoice-{number:05d}",
                at=EPOCH + timedelta(minutes=number),
            )
        )
    borrowers = tuple(
        (name, CLEARING_CURRENCIES[index % 2]) for index, name in enumerate(names[:3])
    )
    return ClearingInput(roster, dict(funding), tuple(requests), borrowers)

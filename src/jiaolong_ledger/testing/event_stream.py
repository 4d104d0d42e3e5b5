"""``EventStream``: what :func:`~.events.order_event_streams` draws, ready to ingest and check.

A stream carries its escrow events in arrival order, the refusal codes the ledger raises for
the events it keeps despite a refusal, each order's predicted :class:`OrderOutcome`, and what
:meth:`EventStream.setup` must open and deposit first. These are the values a test handles; how
a stream is drawn is in :mod:`.events`, how its outcomes are predicted in :mod:`.escrow_model`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from jiaolong_ledger.accounts.chart import participant_cash, platform_bank
from jiaolong_ledger.adapters import Transactional
from jiaolong_ledger.adapters.events import (
    IDENTIFIER_RE,
    DisputeOpened,
    DisputeResolved,
    EscrowFunded,
    MilestoneReached,
    OrderCancelled,
    OrderPlaced,
)
from jiaolong_ledger.journal.entry import Entry, credit, debit
from jiaolong_ledger.money import minor_to_money

StreamEvent = (
    OrderPlaced | EscrowFunded | MilestoneReached | DisputeOpened | DisputeResolved | OrderCancelled
)
"""The six escrow events a stream is made of."""


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """An order's predicted state once its stream is ingested (compare with
    ``ledger.escrow.state(order_id)``). ``funded = released + refunded + remaining``."""

    order_id: str
    status: str
    funded_minor: int
    released_minor: int
    refunded_minor: int
    disputed: bool

    @property
    def remaining_minor(self) -> int:
        return self.funded_minor - self.released_minor - self.refunded_minor


def _renamed(event: StreamEvent, rename: Callable[[str], str]) -> StreamEvent:
    """``event`` with its order and shipment ids renamed (validated again)."""
    data = event.model_dump()
    for name in ("order_id", "shipment_id"):
        if data.get(name) is not None:
            data[name] = rename(data[name])
    return type(event).model_validate(data)


@dataclass(frozen=True, slots=True)
class EventStream:
    """Escrow events in arrival order, what the ledger will make of them, and their setup."""

    events: tuple[StreamEvent, ...]
    refusals: Mapping[int, str]
    """Index in ``events`` -> the error code ``ledger.ingest`` raises for it."""
    outcomes: Mapping[str, OrderOutcome]
    """Order id -> its state after the whole stream."""
    deposits_minor: Mapping[tuple[str, str], int]
    """(buyer, currency) -> what :meth:`setup` deposits into its cash account."""
    participants: frozenset[tuple[str, str]]
    """Every (participant, currency) whose cash account the stream touches."""
    starts_at: datetime

    @property
    def accepted(self) -> tuple[StreamEvent, ...]:
        """The events the ledger accepts (all of them when ``refusals`` is empty)."""
        return tuple(e for i, e in enumerate(self.events) if i not in self.refusals)

    def digest(self) -> str:
        """A short fingerprint of the events (it names the setup's deposits)."""
        text = "\n".join(
            json.dumps(event.model_dump(mode="json"), sort_keys=True) for event in self.events
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def setup(self, ledger: Transactional) -> None:
        """Open ``platform:bank:<CCY>`` and the cash accounts of every participant in the
        stream (liability, ``debits_must_not_exceed_credits``), and deposit into each buyer's
        cash what all its orders cost, effective a day before the stream starts. Idempotent:
        the deposits' keys derive from :meth:`digest`."""
        effective_at = self.starts_at - timedelta(days=1)
        digest = self.digest()
        entries = []
        for (buyer, currency), amount_minor in sorted(self.deposits_minor.items()):
            amount = minor_to_money(amount_minor, currency)
            entries.append(
                Entry(
                    key=f"testing/deposit/{digest}/{buyer}/{currency}",
                    postings=[
                        debit(platform_bank(currency), amount),
                        credit(participant_cash(buyer, currency), amount),
                    ],
                    effective_at=effective_at,
                    description=f"deposit of {buyer} for an event stream",
                )
            )
        with ledger.transaction() as tx:
            for currency in sorted({currency for _, currency in self.participants}):
                tx.ensure_account(platform_bank(currency), currency, "asset")
            for name, currency in sorted(self.participants):
                tx.ensure_account(
                    participant_cash(name, currency),
                    currency,
                    "liability",
                    "debits_must_not_exceed_credits",
                )
            tx.post_many(entries)

    def renamed(self, prefix: str) -> EventStream:
        """The same stream with ``prefix`` before every order and shipment id, so several
        streams can run in one ledger (``stream.renamed("run7-")``)."""

        def rename(identifier: str) -> str:
            renamed = prefix + identifier
            if not IDENTIFIER_RE.match(renamed):
                raise ValueError(f"prefix {prefix!r} makes the invalid id {renamed!r}")
            return renamed

        events = tuple(_renamed(event, rename) for event in self.events)
        outcomes = {
            rename(order_id): OrderOutcome(
                rename(order_id),
                outcome.status,
                outcome.funded_minor,
                outcome.released_minor,
                outcome.refunded_minor,
                outcome.disputed,
            )
            for order_id, outcome in self.outcomes.items()
        }
        return EventStream(
            events,
            dict(self.refusals),
            outcomes,
            dict(self.deposits_minor),
            self.participants,
            self.starts_at,
        )


__all__ = ["EventStream", "OrderOutcome", "StreamEvent"]

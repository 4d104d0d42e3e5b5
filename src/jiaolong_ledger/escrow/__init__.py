"""Escrow sub-domain: buyers' money held per order and released by rail milestones.

Design. An order (``place``) is an agreement between a buyer and a seller with a release plan
(milestone -> share, shares summing to exactly 100%) and a platform fee; it opens the liability
account ``platform:escrow:<order>``. ``fund`` moves the buyer's money from
``participant:<buyer>:cash:<CCY>`` into it (the buyer's no-overdraft constraint applies).
Each ``milestone`` of the order's shipment releases, in plan order, every unreleased share up to
that milestone: one ``escrow_release`` entry per share, debiting escrow with the gross share and
crediting the seller's cash with the net and ``platform:fees:<CCY>`` with the fee part.
``cancel`` refunds the unreleased remainder (``escrow_refund``); ``open_dispute`` freezes
releases until ``resolve_dispute`` pays the remainder to the seller, back to the buyer, or
splits it; ``expire_due`` closes orders past their deadlines. A closed order's escrow account
is closed too (its balance is zero by then).

Milestones go by event time. A shipment milestone reached at T applies to the orders on that
shipment placed at or before T (``placed_at <= reached_at``); an order placed after T is neither
released by it nor marks it as seen (a later milestone still releases, in plan order, every
unreleased share up to it). The first report of a shipment milestone is recorded for the
shipment, and the first report wins: reported again, whatever its time, it changes nothing. An
order placed at or before T whose placement arrives after the milestone's event sees it when it
is placed, and ``fund`` releases it, dated at the milestone's time or the funding time,
whichever is later. So the orders a milestone reaches, and what they end with, depend neither on
the order in which the events arrive nor on how often a file is replayed. A shipment with
orders, none placed by T, takes the milestone (recorded, without other effect and without
error); a shipment no order travels on is ``SHIPMENT_NOT_FOUND``. A milestone naming an
``order_id`` applies to that order whenever it was placed and is not recorded for the shipment.
An event without a time is taken as happening when it is applied, so an events file carries
``placed_at`` and ``reached_at`` for its replays to end as one run.

Every operation is declared once, on :class:`EscrowBook` (``service``): ``ledger.escrow`` is
the book per call (each write its own transaction; ``expire_due`` one transaction per
``EXPIRE_BATCH_MAX`` orders), ``tx.escrow`` the book bound to a unit of work
(``with ledger.transaction() as tx:``), where it commits or rolls back with everything else in
the unit. Requests are checked by the pure rules of ``terms`` before anything is written.

Amounts are integer minor units throughout (see ``plan`` for the release and fee arithmetic:
the parts of an order always sum exactly to its amount). The sub-domain never writes balances:
it builds entries and hands them to the journal's writer in the same database transaction as
its own rows (``tables``, ``records``). Keys are derived from the order id and the step, and
every operation is a no-op when asked again as it was applied (placing, funding, a milestone
already reported, cancelling, opening the same dispute, the recorded resolution), so an event
file interrupted part-way can simply be run again.
"""

from __future__ import annotations

from jiaolong_ledger.escrow.plan import (
    MILESTONES,
    PlanItem,
    ReleasePlan,
    platform_fee,
    release_amounts_minor,
)
from jiaolong_ledger.escrow.service import EscrowBook
from jiaolong_ledger.escrow.state import STATUSES, EscrowState, MilestoneSeen, PlanItemState
from jiaolong_ledger.escrow.terms import (
    DISPUTE_OUTCOMES,
    EXPIRE_BATCH_MAX,
    INCOTERMS,
    escrow_account,
)

Escrow = EscrowBook
"""The former name of the per-call escrow API, kept for callers that still use it."""

__all__ = [
    "DISPUTE_OUTCOMES",
    "EXPIRE_BATCH_MAX",
    "INCOTERMS",
    "MILESTONES",
    "STATUSES",
    "Escrow",
    "EscrowBook",
    "EscrowState",
    "MilestoneSeen",
    "PlanItem",
    "PlanItemState",
    "ReleasePlan",
    "escrow_account",
    "platform_fee",
    "release_amounts_minor",
]

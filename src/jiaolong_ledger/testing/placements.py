"""Strategies for one escrow order: its ``OrderPlaced`` event and the release plan in it.

:func:`order_placed` and :func:`release_plans` draw single events that ``ledger.ingest``
accepts; :func:`~.events.order_event_streams` builds whole streams from them. The participant,
currency and instant helpers here are shared with :mod:`.events`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from jiaolong_ledger.adapters.events import PARTICIPANT_RE, OrderPlaced, ReleasePlanItem
from jiaolong_ledger.escrow import INCOTERMS
from jiaolong_ledger.escrow.plan import MILESTONES, PLAN_ITEMS_MAX, SHARE_DECIMALS_MAX
from jiaolong_ledger.money import minor_to_decimal
from jiaolong_ledger.testing.strategies import amounts_minor, currencies

PARTICIPANTS_DEFAULT: Final = (
    "shu-brocade",
    "lodz-gallery",
    "almaty-prints",
    "vientiane-silk",
    "duisburg-prints",
    "chongqing-lacquer",
)

AMOUNT_MINOR_DEFAULT_MAX: Final = 10**10
FEE_RATE_PER_MILLE_MAX: Final = 100
"""Fee rates are drawn in [0, 10%] in steps of 0.1%."""
STREAM_EPOCH_MIN: Final = datetime(2024, 1, 1)
STREAM_EPOCH_MAX: Final = datetime(2030, 12, 31)


def instants() -> st.SearchStrategy[datetime]:
    return st.datetimes(STREAM_EPOCH_MIN, STREAM_EPOCH_MAX, timezones=st.just(UTC)).map(
        lambda instant: instant.replace(microsecond=0)
    )


def release_plans(
    milestones: Sequence[str] = MILESTONES,
    *,
    items_min: int = 1,
    items_max: int | None = None,
    share_decimals_max: int = 2,
    rail_order: bool = True,
) -> st.SearchStrategy[list[ReleasePlanItem]]:
    """Release plans: distinct milestones from ``milestones``, positive shares summing to
    exactly 100 with up to ``share_decimals_max`` decimals (``"30"``, ``"33.33"``).

    With ``rail_order`` the items follow the rail order of ``MILESTONES``; otherwise any order
    (the plan's order is the order of release).
    """
    pool = tuple(dict.fromkeys(milestones))
    unknown = [name for name in pool if name not in MILESTONES]
    size_max = min(len(pool), PLAN_ITEMS_MAX) if items_max is None else items_max
    if unknown or not 1 <= items_min <= size_max <= min(len(pool), PLAN_ITEMS_MAX):
        raise InvalidArgument(
            f"release_plans() needs known milestones (unknown: {unknown}) and "
            f"1 <= items_min <= items_max <= {min(len(pool), PLAN_ITEMS_MAX)}"
        )
    if not 0 <= share_decimals_max <= SHARE_DECIMALS_MAX:
        raise InvalidArgument(f"share_decimals_max must be in [0, {SHARE_DECIMALS_MAX}]")

    @st.composite
    def build(draw: st.DrawFn) -> list[ReleasePlanItem]:
        chosen = draw(
            st.lists(st.sampled_from(pool), min_size=items_min, max_size=size_max, unique=True)
        )
        if rail_order:
            chosen.sort(key=MILESTONES.index)
        decimals = draw(st.integers(0, share_decimals_max))
        total = 100 * 10**decimals
        cuts = draw(
            st.lists(
                st.integers(1, total - 1),
                min_size=len(chosen) - 1,
                max_size=len(chosen) - 1,
                unique=True,
            )
        )
        edges = [0, *sorted(cuts), total]
        return [
            ReleasePlanItem(milestone=name, share=Decimal(high - low) / 10**decimals)
            for name, low, high in zip(chosen, edges, edges[1:], strict=False)
        ]

    return build()


def check_participants(participants: Sequence[str]) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(participants))
    bad = [name for name in names if not PARTICIPANT_RE.match(name)]
    if bad or len(names) < 2:
        raise InvalidArgument(
            f"need at least two distinct participant names (lowercase account-code segments); "
            f"got {list(participants)}"
        )
    return names


def currency_strategy(currency: str | st.SearchStrategy[str] | None) -> st.SearchStrategy[str]:
    if currency is None:
        return currencies()
    if isinstance(currency, str):
        return currencies((currency,))
    return currency


def _fee_terms(draw: st.DrawFn, amount_minor: int, currency: str) -> dict[str, Decimal]:
    """No fee, a rate (a fraction such as ``0.015``), or a fixed fee of at most the amount."""
    choice = draw(st.sampled_from(("none", "rate", "fixed")))
    if choice == "rate":
        per_mille = draw(st.integers(0, FEE_RATE_PER_MILLE_MAX))
        return {"platform_fee_rate": Decimal(per_mille) / 1000}
    if choice == "fixed":
        fee_minor = draw(st.integers(0, amount_minor))
        return {"platform_fee": minor_to_decimal(fee_minor, currency)}
    return {}


def order_placed(
    participants: Sequence[str] = PARTICIPANTS_DEFAULT,
    currency: str | st.SearchStrategy[str] | None = None,
    *,
    order_ids: st.SearchStrategy[str] | None = None,
    shipment_ids: st.SearchStrategy[str | None] | None = None,
    plans: st.SearchStrategy[list[ReleasePlanItem]] | None = None,
    amount_minor_max: int = AMOUNT_MINOR_DEFAULT_MAX,
    fees: bool = True,
    placed_at: st.SearchStrategy[datetime] | None = None,
) -> st.SearchStrategy[OrderPlaced]:
    """``OrderPlaced`` events on escrow terms that ``ledger.ingest`` accepts.

    Buyer and seller are two different ``participants``; ``currency`` is a code, a strategy of
    codes or ``None`` for :func:`~jiaolong_ledger.testing.strategies.currencies`. The amount has
    exactly the currency's decimals; the fee is none, a rate in [0, 10%] or a fixed amount of at
    most the order amount (``fees=False``: none). The buyer's cash must hold the amount before
    the order is funded (see :meth:`~.event_stream.EventStream.setup`).
    """
    names = check_participants(participants)
    currency_codes = currency_strategy(currency)
    amounts = amounts_minor(1, amount_minor_max)
    ids = order_ids if order_ids is not None else st.integers(1, 9999).map(lambda n: f"ORD-{n}")
    shipments = (
        shipment_ids
        if shipment_ids is not None
        else st.one_of(st.none(), st.integers(1, 99).map(lambda n: f"TRAIN-{n}"))
    )
    plan_items = plans if plans is not None else release_plans()
    times = placed_at if placed_at is not None else instants()

    @st.composite
    def build(draw: st.DrawFn) -> OrderPlaced:
        buyer, seller = draw(st.permutations(names))[:2]
        code = draw(currency_codes)
        amount_minor = draw(amounts)
        return OrderPlaced(
            order_id=draw(ids),
            buyer=buyer,
            seller=seller,
            currency=code,
            amount=minor_to_decimal(amount_minor, code),
            incoterm=draw(st.sampled_from(INCOTERMS)),
            shipment_id=draw(shipments),
            release_plan=draw(plan_items),
            placed_at=draw(times),
            settlement_terms="escrow",
            **(_fee_terms(draw, amount_minor, code) if fees else {}),
        )

    return build()


__all__ = ["PARTICIPANTS_DEFAULT", "order_placed", "release_plans"]

"""The rules an escrow request is checked against before anything is written: pure functions.

An order's terms are validated once, at placement, into the row values that never change and a
request digest over them (the same order placed again with other terms is a conflict, not a
retry). The other checks here — texts, timestamps, dispute outcomes, amounts against an order —
and the refusals they raise (``ESCROW_CLOSED``, ``ESCROW_DISPUTED``) read an order's record but
never change it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from moneyed import Money

from jiaolong_ledger.accounts.chart import check_identifier, check_participant_name
from jiaolong_ledger.errors import (
    CurrencyMismatchError,
    EscrowClosedError,
    EscrowDisputedError,
    InvalidInputError,
)
from jiaolong_ledger.escrow.plan import PlanInput, ReleasePlan, platform_fee
from jiaolong_ledger.escrow.records import OrderRecord
from jiaolong_ledger.escrow.state import PLACED
from jiaolong_ledger.journal.canonical import format_timestamp
from jiaolong_ledger.journal.drafts import request_digest
from jiaolong_ledger.journal.validation import check_timestamp, raise_problems
from jiaolong_ledger.money import format_minor, money_to_minor, positive_minor

INCOTERMS: Final = ("FCA", "CPT", "CIP", "DAP", "DPU", "DDP")
"""Incoterms 2020 usable for rail (any-mode rules); FOB/CIF/FAS/CFR are sea-only."""
DISPUTE_OUTCOMES: Final = ("release", "refund", "split")
EXPIRE_BATCH_MAX: Final = 1_000
"""Orders expired per transaction by ``expire_due`` (it loops until none is due)."""

FRESH_ORDER: Final[dict[str, Any]] = {
    "status": PLACED,
    "funded_at": None,
    "closed_at": None,
    "funded_minor": 0,
    "released_minor": 0,
    "fee_charged_minor": 0,
    "refunded_minor": 0,
    "disputed": False,
    "dispute_id": None,
    "dispute_reason": None,
    "dispute_outcome": None,
    "close_reason": None,
}
"""The running state of an order that has just been placed."""


def escrow_account(order_id: str) -> str:
    return f"platform:escrow:{order_id.lower()}"


def entry_key(order_id: str, step: str) -> str:
    return f"escrow/{order_id}/{step}"


def check_text(value: str | None, field: str, length_max: int) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > length_max):
        raise InvalidInputError(
            f"{field} must be a string of at most {length_max} characters", field=field
        )


def check_times(**values: datetime | None) -> None:
    problems = []
    for name, value in values.items():
        problems += check_timestamp(value, name)
    raise_problems(problems)


def order_terms(
    order_id: str,
    *,
    buyer: str,
    seller: str,
    amount: Money,
    incoterm: str,
    release_plan: ReleasePlan | Iterable[PlanInput],
    fee: Money | None,
    fee_rate: str | int | Decimal | None,
    shipment_id: str | None,
    funding_deadline: datetime | None,
    release_deadline: datetime | None,
) -> tuple[dict[str, Any], ReleasePlan]:
    """Validate an order's terms; the row values that never change, and the plan."""
    check_identifier(order_id, "order_id")
    if shipment_id is not None:
        check_identifier(shipment_id, "shipment_id")
    amount_minor, currency = positive_minor(amount)
    check_participant_name(buyer, "buyer")
    check_participant_name(seller, "seller")
    if buyer == seller:
        raise InvalidInputError("buyer and seller must differ", field="seller")
    if incoterm not in INCOTERMS:
        raise InvalidInputError(
            f"incoterm {incoterm!r} is not a rail incoterm ({', '.join(INCOTERMS)})",
            field="incoterm",
        )
    check_times(funding_deadline=funding_deadline, release_deadline=release_deadline)
    if not isinstance(release_plan, ReleasePlan):
        release_plan = ReleasePlan.parse(release_plan)
    terms: dict[str, Any] = {
        "order_id": order_id,
        "buyer": buyer,
        "seller": seller,
        "currency": currency,
        "amount_minor": amount_minor,
        "fee_minor": money_to_minor(platform_fee(amount, fee_rate, fee))[0],
        "fee_rate": None if fee_rate is None else str(fee_rate),
        "incoterm": incoterm,
        "shipment_id": shipment_id,
        "funding_deadline": funding_deadline,
        "release_deadline": release_deadline,
    }
    fingerprint = {
        **terms,
        "plan": release_plan.to_list(),
        "funding_deadline": _stamp(funding_deadline),
        "release_deadline": _stamp(release_deadline),
    }
    del fingerprint["order_id"]
    terms["request_digest"] = request_digest(fingerprint)
    return terms, release_plan


def check_outcome(outcome: str, seller_amount: Money | None) -> None:
    if outcome not in DISPUTE_OUTCOMES:
        raise InvalidInputError(
            f"dispute outcome must be one of {', '.join(DISPUTE_OUTCOMES)}, got {outcome!r}",
            field="outcome",
        )
    if (outcome == "split") != (seller_amount is not None):
        raise InvalidInputError(
            "seller_amount is required for a split and only for a split", field="seller_amount"
        )


def check_amount(record: OrderRecord, amount: Money, field: str, *, exact: bool) -> int:
    """``amount`` in minor units: the order's amount (``exact``) or at most what it holds."""
    minor, currency = money_to_minor(amount)
    if currency != record.currency:
        raise CurrencyMismatchError(
            f"{field} is in {currency}, order {record.order_id!r} is in {record.currency}",
            field=field,
            account_currency=record.currency,
            posting_currency=currency,
        )
    limit = record.amount_minor if exact else record.remaining_minor
    if (exact and minor != limit) or not 0 <= minor <= limit:
        expected = "exactly" if exact else "at most"
        raise InvalidInputError(
            f"{field} {format_minor(minor, currency)} {currency}: order "
            f"{record.order_id!r} needs {expected} {format_minor(limit, currency)}",
            field=field,
            order_id=record.order_id,
        )
    return minor


def had_dispute(record: OrderRecord, dispute_id: str | None) -> bool:
    """Whether the order's dispute (open or resolved) is ``dispute_id``: opening it again is a
    retry of the event that opened it."""
    return (record.disputed or record.dispute_outcome is not None) and (
        record.dispute_id == dispute_id
    )


def dispute_seller_minor(record: OrderRecord) -> int:
    """What a resolved dispute paid the seller (gross): released beyond the plan's items."""
    return record.released_minor - sum(item.amount_minor for item in record.items if item.released)


def check_same_resolution(
    record: OrderRecord, outcome: str, seller_amount: Money | None, dispute_id: str | None
) -> None:
    """A resolution asked again of a resolved order must be the recorded one (a retry);
    any other is refused with ``ESCROW_CLOSED``, the recorded resolution in its details."""
    recorded_minor = dispute_seller_minor(record)
    asked_minor, asked_currency = (
        money_to_minor(seller_amount) if seller_amount is not None else (None, record.currency)
    )
    same = (
        outcome == record.dispute_outcome
        and dispute_id in (None, record.dispute_id)
        and asked_currency == record.currency
        and asked_minor in (None, recorded_minor)
    )
    if same:
        return
    currency = record.currency
    recorded = {
        "outcome": record.dispute_outcome,
        "dispute_id": record.dispute_id,
        "seller_amount": format_minor(recorded_minor, currency),
        "currency": currency,
    }
    asked = {
        "outcome": outcome,
        "dispute_id": dispute_id,
        "seller_amount": None if asked_minor is None else format_minor(asked_minor, asked_currency),
        "currency": asked_currency,
    }
    raise EscrowClosedError(
        f"order {record.order_id!r} was already resolved ({record.dispute_outcome}, "
        f"{format_minor(recorded_minor, currency)} {currency} to the seller); "
        "a different resolution cannot be applied",
        order_id=record.order_id,
        status=record.status,
        recorded=recorded,
        asked=asked,
    )


def closed(record: OrderRecord) -> EscrowClosedError:
    return EscrowClosedError(
        f"order {record.order_id!r} is {record.status}"
        + (f" ({record.close_reason})" if record.close_reason else ""),
        order_id=record.order_id,
        status=record.status,
    )


def disputed(record: OrderRecord) -> EscrowDisputedError:
    return EscrowDisputedError(
        f"order {record.order_id!r} is under dispute"
        + (f" {record.dispute_id!r}" if record.dispute_id else "")
        + "; releases and cancellation wait for its resolution",
        order_id=record.order_id,
        dispute_id=record.dispute_id,
    )


def floor(record: OrderRecord) -> datetime:
    """No entry of an order is effective before an earlier one (as-of balances stay >= 0)."""
    times = [record.placed_at]
    times += [t for t in (record.funded_at,) if t is not None]
    times += [item.released_at for item in record.items if item.released_at is not None]
    return max(times)


def _stamp(value: datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None


__all__ = [
    "DISPUTE_OUTCOMES",
    "EXPIRE_BATCH_MAX",
    "FRESH_ORDER",
    "INCOTERMS",
    "check_amount",
    "check_outcome",
    "check_same_resolution",
    "check_text",
    "check_times",
    "closed",
    "dispute_seller_minor",
    "disputed",
    "entry_key",
    "escrow_account",
    "floor",
    "had_dispute",
    "order_terms",
]

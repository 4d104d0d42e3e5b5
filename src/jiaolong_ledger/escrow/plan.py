"""Release plans and the arithmetic of releases and fees: pure functions, no storage.

A release plan is an ordered list of (milestone, share) with shares in percent summing to
exactly 100. The gross amount of each plan item is ``floor(amount * share / 100)`` in minor
units, except the last, which takes the remainder: the parts always sum to the escrowed amount,
to the minor unit, whatever the currency's exponent and the shares.

The platform fee is fixed at placement (a rate rounded half-even to the minor unit, or an
amount). Each gross release to the seller carries ``floor(fee * released_after / amount) -
floor(fee * released_before / amount)`` of it: cumulative, so the fee parts sum exactly to the
fee once everything is released, never exceed the gross part they ride on, and a refunded part
carries no fee.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Final

from jiaolong_ledger.errors import (
    LedgerError,
    ReleasePlanInvalidError,
)
from jiaolong_ledger.money import (
    platform_fee,
    to_decimal,
)

MILESTONES: Final = (
    "booked",
    "departed",
    "border_crossed",
    "arrived",
    "customs_cleared",
    "delivered",
)
"""The rail milestones of SPEC §2, in the order a shipment usually reaches them."""

PLAN_ITEMS_MAX: Final = len(MILESTONES)
SHARE_DECIMALS_MAX: Final = 8
HUNDRED: Final = Decimal(100)


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One step of a release plan: reaching ``milestone`` releases ``share`` percent."""

    milestone: str
    share: Decimal

    def to_dict(self) -> dict[str, str]:
        return {"milestone": self.milestone, "share": format_share(self.share)}


def format_share(share: Decimal) -> str:
    """``Decimal("30.0")`` -> ``"30"``; never exponent notation."""
    text = format(share, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


PlanInput = PlanItem | Mapping[str, object] | tuple[str, object]


def _item(raw: PlanInput, index: int) -> PlanItem:
    if isinstance(raw, PlanItem):
        return raw
    if isinstance(raw, Mapping):
        milestone, share = raw.get("milestone"), raw.get("share")
    else:
        milestone, share = raw
    if not isinstance(milestone, str) or milestone not in MILESTONES:
        raise ReleasePlanInvalidError(
            f"release plan item {index}: milestone {milestone!r} is not one of "
            f"{', '.join(MILESTONES)}",
            index=index,
            milestone=str(milestone),
        )
    try:
        value = to_decimal(share)
    except (TypeError, LedgerError):
        raise ReleasePlanInvalidError(
            f"release plan item {index}: share {share!r} is not a decimal string or integer",
            index=index,
        ) from None
    return PlanItem(milestone, value)


def _check_item(item: PlanItem, index: int) -> None:
    if not item.share.is_finite() or item.share <= 0 or item.share > HUNDRED:
        raise ReleasePlanInvalidError(
            f"release plan item {index} ({item.milestone}): share must be in (0, 100], "
            f"got {item.share}",
            index=index,
            milestone=item.milestone,
            share=str(item.share),
        )
    exponent = item.share.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > SHARE_DECIMALS_MAX:
        raise ReleasePlanInvalidError(
            f"release plan item {index} ({item.milestone}): share has more than "
            f"{SHARE_DECIMALS_MAX} decimals",
            index=index,
            milestone=item.milestone,
        )


@dataclass(frozen=True, slots=True)
class ReleasePlan:
    """A validated release plan: distinct known milestones, positive shares summing to 100."""

    items: tuple[PlanItem, ...]

    @classmethod
    def parse(cls, raw_items: Iterable[PlanInput]) -> ReleasePlan:
        items = tuple(_item(raw, index) for index, raw in enumerate(raw_items))
        if not items:
            raise ReleasePlanInvalidError("a release plan needs at least one milestone")
        if len(items) > PLAN_ITEMS_MAX:
            raise ReleasePlanInvalidError(
                f"a release plan has at most {PLAN_ITEMS_MAX} items, got {len(items)}",
                limit="plan_items_max",
                limit_value=PLAN_ITEMS_MAX,
            )
        seen: set[str] = set()
        for index, item in enumerate(items):
            _check_item(item, index)
            if item.milestone in seen:
                raise ReleasePlanInvalidError(
                    f"milestone {item.milestone!r} appears twice in the release plan",
                    milestone=item.milestone,
                )
            seen.add(item.milestone)
        total = sum((item.share for item in items), Decimal(0))
        if total != HUNDRED:
            raise ReleasePlanInvalidError(
                f"release plan shares sum to {format_share(total)}%, not exactly 100%",
                total=format_share(total),
            )
        return cls(items)

    def position(self, milestone: str) -> int | None:
        for index, item in enumerate(self.items):
            if item.milestone == milestone:
                return index
        return None

    def amounts_minor(self, amount_minor: int) -> list[int]:
        return release_amounts_minor(amount_minor, [item.share for item in self.items])

    def to_list(self) -> list[dict[str, str]]:
        return [item.to_dict() for item in self.items]


def release_amounts_minor(amount_minor: int, shares: list[Decimal]) -> list[int]:
    """Gross release per share: floor of each share, the last takes the remainder."""
    assert amount_minor >= 0 and shares, "release of a negative amount or an empty plan"
    parts: list[int] = []
    with localcontext() as context:
        context.prec = 80
        for share in shares[:-1]:
            exact = Decimal(amount_minor) * share / HUNDRED
            parts.append(int(exact.to_integral_value(rounding=ROUND_DOWN)))
    parts.append(amount_minor - sum(parts))
    assert parts[-1] >= 0 and sum(parts) == amount_minor, "release parts do not sum"
    return parts


def fee_part_minor(
    fee_minor: int, amount_minor: int, released_before_minor: int, release_minor: int
) -> int:
    """The fee carried by a gross release of ``release_minor`` after ``released_before_minor``."""
    assert 0 <= fee_minor <= amount_minor and amount_minor > 0
    released_after = released_before_minor + release_minor
    assert 0 <= released_before_minor <= released_after <= amount_minor
    part = (fee_minor * released_after) // amount_minor - (
        fee_minor * released_before_minor
    ) // amount_minor
    assert 0 <= part <= release_minor, "fee part exceeds its release"
    return part


__all__ = [
    "MILESTONES",
    "PlanItem",
    "ReleasePlan",
    "fee_part_minor",
    "format_share",
    "platform_fee",
    "release_amounts_minor",
]

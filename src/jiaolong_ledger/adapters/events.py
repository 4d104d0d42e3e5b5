"""The eight intake events of SPEC §2 as frozen pydantic models with a ``type`` discriminator.

Amounts are decimal strings or integers, never JSON floats (a float is refused, not rounded),
and must fit their currency's minor unit. Timestamps are ISO 8601 strings with a UTC offset
(``2026-11-26T08:00:00Z``). Unknown fields are refused, so a misspelt field is an error rather
than silently ignored. :func:`parse_event` turns any validation failure into ``INVALID_EVENT``
naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from jiaolong_ledger.errors import InvalidEventError, LedgerError
from jiaolong_ledger.money import decimal_to_minor, exponent

IDENTIFIER_RE: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$")
PARTICIPANT_RE: Final = re.compile(r"^[a-z0-9](?:[a-z0-9_.-]{0,62}[a-z0-9])?$")
TEXT_LENGTH_MAX: Final = 500
LOCATION_LENGTH_MAX: Final = 100


class FieldProblem(ValueError):
    """A model-level check that blames one field (pydantic reports those at the root)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError("must be a decimal string or an integer, not a float")
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, int):
        parsed = Decimal(value)
    elif isinstance(value, str):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
    else:
        raise ValueError("must be a decimal string or an integer")
    if not parsed.is_finite():
        raise ValueError(f"must be a finite decimal number, got {value!r}")
    return parsed


def _identifier(value: str) -> str:
    if not IDENTIFIER_RE.match(value):
        raise ValueError(
            "must be 1-64 letters, digits, '_', '.' or '-', starting and ending alphanumeric"
        )
    return value


def _participant(value: str) -> str:
    if not PARTICIPANT_RE.match(value):
        raise ValueError(
            "must be a participant name: 1-64 lowercase letters, digits, '_', '.' or '-', "
            "starting and ending alphanumeric"
        )
    return value


def _currency(value: str) -> str:
    try:
        exponent(value)
    except LedgerError as error:
        raise ValueError(error.message) from None
    return value


def _timestamp_text(value: object) -> object:
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 timestamp string with a UTC offset")
    return value


DecimalValue = Annotated[
    Decimal,
    BeforeValidator(_decimal),
    PlainSerializer(lambda value: format(value, "f"), return_type=str),
]
Identifier = Annotated[str, AfterValidator(_identifier)]
ParticipantName = Annotated[str, AfterValidator(_participant)]
CurrencyCode = Annotated[str, AfterValidator(_currency)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text)]
Text = Annotated[str, Field(max_length=TEXT_LENGTH_MAX)]
Milestone = Literal[
    "booked", "departed", "border_crossed", "arrived", "customs_cleared", "delivered"
]
Incoterm = Literal["FCA", "CPT", "CIP", "DAP", "DPU", "DDP"]


def _check_amount(value: Decimal | None, info: ValidationInfo, *, positive: bool) -> None:
    if value is None:
        return
    if value < 0 or (positive and value == 0):
        raise ValueError(f"must be {'positive' if positive else 'zero or more'}, got {value}")
    currency = info.data.get("currency")
    if currency is None:
        return  # the currency's own error is reported
    try:
        decimal_to_minor(value, currency)
    except LedgerError as error:
        raise ValueError(error.message) from None


class BaseEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class ReleasePlanItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    milestone: str
    share: DecimalValue
    """Percent of the order amount, e.g. ``"30"``."""


class OrderPlaced(BaseEvent):
    type: Literal["OrderPlaced"] = "OrderPlaced"
    order_id: Identifier
    buyer: ParticipantName
    seller: ParticipantName
    currency: CurrencyCode
    amount: DecimalValue
    incoterm: Incoterm
    shipment_id: Identifier | None = None
    release_plan: list[ReleasePlanItem] = Field(default_factory=list)
    platform_fee_rate: DecimalValue | None = None
    """Decimal fraction of the amount, e.g. ``"0.015"`` for 1.5%."""
    platform_fee: DecimalValue | None = None
    """A fixed fee amount in the order's currency (instead of a rate)."""
    funding_deadline: Timestamp | None = None
    release_deadline: Timestamp | None = None
    settlement_terms: Literal["escrow", "deferred_net"] = "escrow"
    placed_at: Timestamp | None = None

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        _check_amount(value, info, positive=True)
        return value

    @field_validator("platform_fee")
    @classmethod
    def _fee(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        _check_amount(value, info, positive=False)
        return value

    @field_validator("platform_fee_rate")
    @classmethod
    def _rate(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not 0 <= value <= 1:
            raise ValueError(f"must be a fraction in [0, 1] (0.015 is 1.5%), got {value}")
        return value

    @model_validator(mode="after")
    def _one_fee(self) -> OrderPlaced:
        if self.platform_fee_rate is not None and self.platform_fee is not None:
            raise FieldProblem("platform_fee", "give platform_fee_rate or platform_fee, not both")
        return self


class OrderCancelled(BaseEvent):
    type: Literal["OrderCancelled"] = "OrderCancelled"
    order_id: Identifier
    reason: Text = ""
    cancelled_at: Timestamp | None = None


class EscrowFunded(BaseEvent):
    type: Literal["EscrowFunded"] = "EscrowFunded"
    order_id: Identifier
    currency: CurrencyCode | None = None
    amount: DecimalValue | None = None
    """Optional check: must equal the order amount (escrow is funded in full)."""
    funded_at: Timestamp | None = None

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        _check_amount(value, info, positive=True)
        return value

    @model_validator(mode="after")
    def _currency_with_amount(self) -> EscrowFunded:
        if (self.amount is None) != (self.currency is None):
            raise FieldProblem(
                "currency" if self.currency is None else "amount", "amount and currency go together"
            )
        return self


class MilestoneReached(BaseEvent):
    type: Literal["MilestoneReached"] = "MilestoneReached"
    shipment_id: Identifier | None = None
    order_id: Identifier | None = None
    milestone: Milestone
    reached_at: Timestamp | None = None
    location: Annotated[str, Field(max_length=LOCATION_LENGTH_MAX)] | None = None

    @model_validator(mode="after")
    def _target(self) -> MilestoneReached:
        if self.shipment_id is None and self.order_id is None:
            raise FieldProblem("shipment_id", "a milestone names a shipment_id or an order_id")
        return self


class DisputeOpened(BaseEvent):
    type: Literal["DisputeOpened"] = "DisputeOpened"
    order_id: Identifier
    dispute_id: Identifier | None = None
    reason: Text = ""
    opened_at: Timestamp | None = None


class DisputeResolved(BaseEvent):
    type: Literal["DisputeResolved"] = "DisputeResolved"
    order_id: Identifier
    dispute_id: Identifier | None = None
    outcome: Literal["release", "refund", "split"]
    seller_amount: DecimalValue | None = None
    """For ``split``: what the seller gets (gross, before its fee part); the rest is refunded."""
    resolved_at: Timestamp | None = None

    @field_validator("seller_amount")
    @classmethod
    def _seller_amount(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < 0:
            raise ValueError(f"must be zero or more, got {value}")
        return value

    @model_validator(mode="after")
    def _split(self) -> DisputeResolved:
        if (self.outcome == "split") != (self.seller_amount is not None):
            raise FieldProblem(
                "seller_amount", "seller_amount is required for a split and only for a split"
            )
        return self


class DrawdownRequested(BaseEvent):
    type: Literal["DrawdownRequested"] = "DrawdownRequested"
    facility_id: Identifier
    borrower: ParticipantName
    currency: CurrencyCode
    amount: DecimalValue
    requested_at: Timestamp | None = None

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        _check_amount(value, info, positive=True)
        return value


class RepaymentReceived(BaseEvent):
    type: Literal["RepaymentReceived"] = "RepaymentReceived"
    facility_id: Identifier
    borrower: ParticipantName
    currency: CurrencyCode
    amount: DecimalValue
    received_at: Timestamp | None = None

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        _check_amount(value, info, positive=True)
        return value


Event = Annotated[
    OrderPlaced
    | OrderCancelled
    | EscrowFunded
    | MilestoneReached
    | DisputeOpened
    | DisputeResolved
    | DrawdownRequested
    | RepaymentReceived,
    Field(discriminator="type"),
]
EVENT_TYPES: Final[tuple[type[BaseEvent], ...]] = (
    OrderPlaced,
    OrderCancelled,
    EscrowFunded,
    MilestoneReached,
    DisputeOpened,
    DisputeResolved,
    DrawdownRequested,
    RepaymentReceived,
)
EVENT_NAMES: Final = tuple(event_type.__name__ for event_type in EVENT_TYPES)
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)


def _field(location: tuple[int | str, ...], event_type: object) -> str:
    parts = list(location)
    if parts and parts[0] == event_type:
        parts = parts[1:]
    return ".".join(str(part) for part in parts)


def _message(error: Mapping[str, Any]) -> str:
    text = str(error["msg"])
    return text.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def invalid_event(error: ValidationError, obj: object) -> InvalidEventError:
    """``INVALID_EVENT`` naming the first bad field; every problem is in ``details``."""
    event_type = obj.get("type") if isinstance(obj, Mapping) else None
    problems = []
    for item in error.errors():
        field = _field(item["loc"], event_type)
        message = _message(item)
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, FieldProblem):
            field = ".".join(filter(None, (field, cause.field)))
        if item["type"] == "union_tag_not_found":
            field, message = "type", f"missing; one of {', '.join(EVENT_NAMES)}"
        elif item["type"] == "union_tag_invalid":
            field, message = "type", f"{event_type!r} is not one of {', '.join(EVENT_NAMES)}"
        problems.append({"field": field or "event", "message": message})
    first = problems[0]
    label = event_type if isinstance(event_type, str) and event_type else "event"
    return InvalidEventError(
        f"{label}: field {first['field']!r}: {first['message']}",
        field=first["field"],
        event_type=event_type if isinstance(event_type, str) else None,
        problems=problems,
    )


def parse_event(obj: object) -> BaseEvent:
    """An event model from a mapping (a JSON object) or a model; else ``INVALID_EVENT``."""
    if isinstance(obj, EVENT_TYPES):
        return obj
    if not isinstance(obj, Mapping):
        raise InvalidEventError(
            f"an event is a JSON object with a 'type', got {type(obj).__name__}", field="event"
        )
    try:
        event = _ADAPTER.validate_python(obj)
    except ValidationError as error:
        raise invalid_event(error, obj) from None
    assert isinstance(event, BaseEvent)
    return event


__all__ = [
    "EVENT_TYPES",
    "BaseEvent",
    "DisputeOpened",
    "DisputeResolved",
    "DrawdownRequested",
    "EscrowFunded",
    "Event",
    "MilestoneReached",
    "OrderCancelled",
    "OrderPlaced",
    "ReleasePlanItem",
    "RepaymentReceived",
    "parse_event",
]

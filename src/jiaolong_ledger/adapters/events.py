"""The eight intake events of SPEC §2 as frozen, strict pydantic models with a ``type``
discriminator.

Strict: a string where a string belongs (a number, list or object there is refused, never
coerced), unknown fields refused (a misspelt field is an error rather than silently ignored).
Amounts are decimal strings (``"1200.00"``; a ``Decimal`` from Python), never JSON numbers, and
must fit their currency's minor unit. Timestamps go through the one timestamp rule,
:func:`jiaolong_ledger.intake.parse_timestamp`: ISO 8601 text with a UTC offset or ``Z``
(``2026-11-26T08:00:00Z``), stored in UTC. :func:`parse_event` turns any validation failure
into ``INVALID_EVENT`` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
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

from jiaolong_ledger.errors import InvalidEventError, InvalidInputError, LedgerError
from jiaolong_ledger.intake import parse_timestamp
from jiaolong_ledger.money import decimal_to_minor, exponent

IDENTIFIER_RE: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$")
PARTICIPANT_RE: Final = re.compile(r"^[a-z0-9](?:[a-z0-9_.-]{0,62}[a-z0-9])?$")
TEXT_LENGTH_MAX: Final = 500
LOCATION_LENGTH_MAX: Final = 100
MILESTONE_LENGTH_MAX: Final = 32
CURRENCY_LENGTH_MAX: Final = 3
"""ISO 4217 codes have three letters; anything longer is refused before it is looked up."""
DECIMAL_TEXT_LENGTH_MAX: Final = 64
"""Longest decimal string taken as an amount, a share or a rate."""
DECIMAL_TEXT_RE: Final = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


class FieldProblem(ValueError):
    """A model-level check that blames one field (pydantic reports those at the root)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _decimal(value: object) -> Decimal:
    """A decimal string (``"1200.00"``) or, from Python, a ``Decimal``; never a number."""
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, str):
        if len(value) > DECIMAL_TEXT_LENGTH_MAX or not DECIMAL_TEXT_RE.fullmatch(value):
            raise ValueError(f'must be a decimal string such as "100.00", got {value[:48]!r}')
        parsed = Decimal(value)
    else:
        raise ValueError(f'must be a decimal string such as "100.00", not {_json_type(value)}')
    if not parsed.is_finite():
        raise ValueError(f"must be a finite decimal number, got {value!r}")
    return parsed


def _json_type(value: object) -> str:
    """What a user wrote, in JSON's words (``1.5`` is a number, not a float)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _identifier(value: str) -> str:
    if not IDENTIFIER_RE.fullmatch(value):
        raise ValueError(
            "must be 1-64 letters, digits, '_', '.' or '-', starting and ending alphanumeric"
        )
    return value


def _participant(value: str) -> str:
    if not PARTICIPANT_RE.fullmatch(value):
        raise ValueError(
            "must be a participant name: 1-64 lowercase letters, digits, '_', '.' or '-', "
            "starting and ending alphanumeric"
        )
    return value


def _currency(value: str) -> str:
    if len(value) > CURRENCY_LENGTH_MAX:
        raise ValueError(f"unknown currency {value[:8]!r}... (a currency code has 3 letters)")
    try:
        exponent(value)
    except LedgerError as error:
        raise ValueError(error.message) from None
    return value


def _encodable(value: str) -> str:
    """Free text must be storable as UTF-8: a lone surrogate (Python API) is refused."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("holds a lone surrogate (an unpaired \\ud800-\\udfff)") from None
    return value


def _timestamp(value: object, info: ValidationInfo) -> datetime:
    """The one timestamp rule (:func:`~jiaolong_ledger.intake.parse_timestamp`), in UTC."""
    field = info.field_name or "timestamp"
    try:
        return parse_timestamp(value, field)
    except InvalidInputError as error:
        raise ValueError(error.message.removeprefix(f"{field}: ")) from None


DecimalValue = Annotated[
    Decimal,
    BeforeValidator(_decimal),
    PlainSerializer(lambda value: format(value, "f"), return_type=str),
]
Identifier = Annotated[str, AfterValidator(_identifier)]
ParticipantName = Annotated[str, AfterValidator(_participant)]
CurrencyCode = Annotated[str, AfterValidator(_currency)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp)]
Text = Annotated[str, Field(max_length=TEXT_LENGTH_MAX), AfterValidator(_encodable)]
Location = Annotated[str, Field(max_length=LOCATION_LENGTH_MAX), AfterValidator(_encodable)]
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


STRICT: Final = ConfigDict(extra="forbid", frozen=True, strict=True, str_strip_whitespace=False)
"""Unknown fields refused; no coercion (a number is not a string, a string not a timestamp
except through :func:`_timestamp`)."""


class BaseEvent(BaseModel):
    model_config = STRICT


class ReleasePlanItem(BaseModel):
    model_config = STRICT

    milestone: Annotated[str, Field(max_length=MILESTONE_LENGTH_MAX), AfterValidator(_encodable)]
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
    location: Location | None = None

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
    if error["type"] == "extra_forbidden":
        return "not a field of this event (misspelt?)"
    if error["type"] in ("string_type", "list_type", "model_type", "dict_type"):
        wanted = {"string_type": "a string", "list_type": "a list"}.get(error["type"], "an object")
        return f"must be {wanted}, not {_json_type(error.get('input'))}"
    text = str(error["msg"])
    return text.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def invalid_event(error: ValidationError, obj: object) -> InvalidEventError:
    """``INVALID_EVENT`` naming the first bad field; every problem is in ``details``."""
    event_type = obj.get("type") if isinstance(obj, Mapping) else None
    problems = []
    # An unknown (misspelt) field first: it usually explains a missing one.
    for item in sorted(error.errors(), key=lambda item: item["type"] != "extra_forbidden"):
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

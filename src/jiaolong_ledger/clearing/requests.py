"""Obligation intake: one JSON object (a line of ``jiaolong clearing submit``) -> an
:class:`~jiaolong_ledger.clearing.model.ObligationRequest`.

The model is strict, like the adapters' events: unknown (misspelt) fields are refused rather than
dropped, a string is required where a string belongs (a number, list or object there is refused,
never coerced), the amount is a decimal string (``"100.00"``; a JSON number, ``NaN`` or
``1e3`` is refused) and ``at`` passes the one timestamp rule
(:func:`jiaolong_ledger.intake.parse_timestamp`: an offset or ``Z`` is required). Every refusal
is ``INVALID_INPUT`` naming the line and the field. What only the ledger can judge (a known
participant, the currency's decimals, a positive amount, the reference's length) is judged by
the book, with its own codes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
)

from jiaolong_ledger.clearing.model import ObligationRequest
from jiaolong_ledger.errors import InvalidInputError, LedgerError
from jiaolong_ledger.intake import parse_timestamp
from jiaolong_ledger.limits import PARTICIPANT_NAME_LENGTH_MAX
from jiaolong_ledger.money import money

AMOUNT_TEXT_LENGTH_MAX: Final = 64
"""Longest amount string (a 64-bit minor amount with its decimals has about 22 characters)."""

CURRENCY_TEXT_LENGTH_MAX: Final = 16
"""Longest currency text passed on to the currency check (ISO 4217 codes have three letters)."""

AMOUNT_TEXT_RE: Final = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")

FIELDS: Final = (
    "payer",
    "payee",
    "amount",
    "currency",
    "reference",
    "settlement_currency",
    "at",
    "priority",
)


def _amount_text(value: str) -> str:
    if not AMOUNT_TEXT_RE.fullmatch(value):
        raise ValueError(f'must be a decimal string such as "100.00", got {value[:48]!r}')
    return value


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("holds a lone surrogate (an unpaired \\ud800-\\udfff)") from None
    return value


def _timestamp(value: object, info: ValidationInfo) -> datetime:
    field = info.field_name or "at"
    try:
        return parse_timestamp(value, field)
    except InvalidInputError as error:
        raise ValueError(error.message.removeprefix(f"{field}: ")) from None


Name = Annotated[
    str,
    Field(min_length=1, max_length=PARTICIPANT_NAME_LENGTH_MAX),
    AfterValidator(_encodable),
]
AmountText = Annotated[str, Field(max_length=AMOUNT_TEXT_LENGTH_MAX), AfterValidator(_amount_text)]
CurrencyText = Annotated[str, Field(max_length=CURRENCY_TEXT_LENGTH_MAX)]
Reference = Annotated[str, AfterValidator(_encodable)]
Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]


class ObligationLine(BaseModel):
    """One obligation as a submitter writes it: ``payer`` owes ``payee`` ``amount``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    payer: Name
    payee: Name
    amount: AmountText
    """A decimal string in the currency's units, e.g. ``"100.00"``."""
    currency: CurrencyText
    reference: Reference
    """The obligation's idempotency key: the same reference again with the same content is a
    no-op, with other content a conflict."""
    settlement_currency: CurrencyText | None = None
    at: Timestamp | None = None
    """When the obligation arose (default: when it is submitted); decides its cycle."""
    priority: Literal["urgent", "normal"] = "normal"
    """``urgent`` obligations are deferred last by the obligation unwind."""

    def request(self) -> ObligationRequest:
        """The book's request; the amount's decimals and the currency are checked here
        (``AMOUNT_PRECISION``, ``UNKNOWN_CURRENCY``)."""
        return ObligationRequest(
            payer=self.payer,
            payee=self.payee,
            amount=money(self.amount, self.currency),
            reference=self.reference,
            settlement_currency=self.settlement_currency,
            at=self.at,
            priority=self.priority,
        )


def obligation_request(obj: object, line: int | None = None) -> ObligationRequest:
    """Validate one obligation object; every refusal names ``line`` (when given) and the field."""
    at = f"line {line}: " if line is not None else ""
    if not isinstance(obj, Mapping):
        raise InvalidInputError(f"{at}an obligation is a JSON object", line=line)
    try:
        return ObligationLine.model_validate(obj).request()
    except ValidationError as error:
        raise _invalid(error, at, line) from None
    except LedgerError as error:
        error.message = at + error.message
        if line is not None:
            error.details.setdefault("line", line)
        raise


def _invalid(error: ValidationError, at: str, line: int | None) -> InvalidInputError:
    # An unknown (misspelt) field first: it usually explains the missing one.
    items = sorted(error.errors(), key=lambda item: item["type"] != "extra_forbidden")
    problems = [
        {
            "field": ".".join(str(part) for part in item["loc"]) or "obligation",
            "message": _say(item),
        }
        for item in items
    ]
    first = problems[0]
    more = "".join(f"; field {p['field']!r}: {p['message']}" for p in problems[1:3])
    return InvalidInputError(
        f"{at}field {first['field']!r}: {first['message']}{more}",
        line=line,
        field=first["field"],
        problems=problems,
    )


def _say(item: Mapping[str, Any]) -> str:
    kind = item["type"]
    if kind == "missing":
        return "missing"
    if kind == "extra_forbidden":
        return f"not a field of an obligation (the fields are {', '.join(FIELDS)})"
    if kind == "string_type":
        wanted = 'a decimal string such as "100.00"' if item["loc"] == ("amount",) else "a string"
        return f"must be {wanted}, not {_json_type(item.get('input'))}"
    return str(item["msg"]).removeprefix("Value error, ")


def _json_type(value: object) -> str:
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


__all__ = ["AMOUNT_TEXT_LENGTH_MAX", "ObligationLine", "obligation_request"]

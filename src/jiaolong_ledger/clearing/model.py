"""Clearing values: participants, obligations, cycles, positions, instructions and the report.

All frozen dataclasses; amounts are integer minor units (``*_minor``) with a ``Money`` view where
a caller wants one. :class:`CycleReport` round-trips through ``to_dict``/``from_dict`` so a
settled cycle's report is stored as JSON and read back unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

from moneyed import Money

from jiaolong_ledger.accounts.chart import participant_cash, platform_fees
from jiaolong_ledger.errors import InvalidInputError
from jiaolong_ledger.intake import require_aware
from jiaolong_ledger.money import format_minor, minor_to_money, parse_minor

PLATFORM: Final = "platform"

PRIORITY_NORMAL: Final = "normal"
PRIORITY_URGENT: Final = "urgent"
PRIORITIES: Final = (PRIORITY_URGENT, PRIORITY_NORMAL)

OBLIGATION_PENDING: Final = "pending"
OBLIGATION_SETTLED: Final = "settled"
OBLIGATION_DEFERRED: Final = "deferred"
OBLIGATION_CANCELLED: Final = "cancelled"
"""The exchange itself as a participant: the payee of platform fees."""

EFFICIENCY_EXPONENT: Final = Decimal("0.0001")


def default_settlement_account(participant: str, currency: str) -> str:
    """``participant:<name>:cash:<CCY>``; the platform settles into ``platform:fees:<CCY>``."""
    if participant == PLATFORM:
        return platform_fees(currency)
    return participant_cash(participant, currency)


def clearing_account(currency: str) -> str:
    """The per-currency transit account: payers pay in, payees are paid out, zero afterwards."""
    return f"clearing:settlement:{currency}"


def _timestamp(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Participant:
    name: str
    settlement_currency: str
    accounts: Mapping[str, str] = field(default_factory=dict)
    """Settlement accounts that differ from the default, by currency."""
    legal_name: str | None = None
    country: str | None = None
    iban: str | None = None
    bic: str | None = None
    other_id: str | None = None
    net_debit_caps: Mapping[str, int] = field(default_factory=dict)
    """Risk limits: currency -> the largest net debit (minor units) a cycle settles for it."""

    def settlement_account(self, currency: str) -> str:
        return self.accounts.get(currency) or default_settlement_account(self.name, currency)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "settlement_currency": self.settlement_currency,
            "accounts": dict(self.accounts),
            "legal_name": self.legal_name,
            "country": self.country,
            "iban": self.iban,
            "bic": self.bic,
            "other_id": self.other_id,
            "net_debit_caps": {
                currency: format_minor(cap, currency)
                for currency, cap in sorted(self.net_debit_caps.items())
            },
        }


@dataclass(frozen=True, slots=True)
class ObligationRequest:
    """What a submitter asks: ``payer`` owes ``payee`` ``amount``, identified by ``reference``."""

    payer: str
    payee: str
    amount: Money
    reference: str
    settlement_currency: str | None = None
    at: datetime | None = None
    priority: str = PRIORITY_NORMAL
    """``urgent`` or ``normal``: the obligation unwind defers urgent obligations last."""

    def __post_init__(self) -> None:
        # The Python door: a wrong type is INVALID_INPUT here, not a TypeError deep in a query.
        for name in ("payer", "payee", "reference"):
            _require_text(getattr(self, name), name)
        if self.priority not in PRIORITIES:
            raise InvalidInputError(
                f"priority: one of {', '.join(PRIORITIES)}, not {self.priority!r}",
                field="priority",
                allowed=list(PRIORITIES),
            )
        if not isinstance(self.amount, Money):
            raise InvalidInputError(
                f"amount: a moneyed.Money, not {type(self.amount).__name__}", field="amount"
            )
        if self.settlement_currency is not None:
            _require_text(self.settlement_currency, "settlement_currency")
        if self.at is not None:
            if not isinstance(self.at, datetime):
                raise InvalidInputError(
                    f"at: a datetime with a UTC offset, not {type(self.at).__name__}", field="at"
                )
            object.__setattr__(self, "at", require_aware(self.at, "at"))


def _require_text(value: object, name: str) -> None:
    if not isinstance(value, str):
        raise InvalidInputError(f"{name}: a string, not {type(value).__name__}", field=name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(
            f"{name}: holds a lone surrogate (an unpaired \\ud800-\\udfff)", field=name
        ) from None


@dataclass(frozen=True, slots=True)
class Obligation:
    reference: str
    cycle_id: int
    payer: str
    payee: str
    amount_minor: int
    currency: str
    settlement_currency: str
    submitted_at: datetime
    first_cycle_id: int
    priority: str = PRIORITY_NORMAL
    status: str = OBLIGATION_PENDING
    """``pending`` (open or frozen cycle), ``settled``, ``deferred`` (carried out of the cycle
    asked about) or ``cancelled``."""
    cancelled_at: datetime | None = None
    deferred_reason: str | None = None

    @property
    def amount(self) -> Money:
        return minor_to_money(self.amount_minor, self.currency)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "cycle": self.cycle_id,
            "first_cycle": self.first_cycle_id,
            "payer": self.payer,
            "payee": self.payee,
            "amount": format_minor(self.amount_minor, self.currency),
            "currency": self.currency,
            "settlement_currency": self.settlement_currency,
            "submitted_at": self.submitted_at.isoformat(),
            "priority": self.priority,
            "status": self.status,
            "cancelled_at": _timestamp(self.cancelled_at),
            "deferred_reason": self.deferred_reason,
        }


@dataclass(frozen=True, slots=True)
class SubmitResult:
    accepted: int
    duplicates: int
    cycles: Mapping[int, int]
    """Obligations of this call per cycle they belong to (duplicates: the cycle they were in)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "cycles": {str(cycle): count for cycle, count in sorted(self.cycles.items())},
        }


@dataclass(frozen=True, slots=True)
class Cycle:
    id: int
    status: str
    opened_at: datetime
    cutoff_at: datetime | None
    settled_at: datetime | None
    obligations: int
    """Obligations now in the cycle (for a frozen cycle: the count fixed at cut-off)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "cycle": self.id,
            "status": self.status,
            "opened_at": _timestamp(self.opened_at),
            "cutoff_at": _timestamp(self.cutoff_at),
            "settled_at": _timestamp(self.settled_at),
            "obligations": self.obligations,
        }


@dataclass(frozen=True, slots=True)
class Position:
    """A participant's multilateral position in one currency: received - paid."""

    participant: str
    currency: str
    paid_minor: int
    received_minor: int
    settlement_currency: str | None = None
    settlement_value_minor: int | None = None
    """The position valued in the participant's settlement currency (when conversion was asked)."""

    @property
    def net_minor(self) -> int:
        return self.received_minor - self.paid_minor

    @property
    def net(self) -> Money:
        return minor_to_money(self.net_minor, self.currency)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "participant": self.participant,
            "currency": self.currency,
            "paid": format_minor(self.paid_minor, self.currency),
            "received": format_minor(self.received_minor, self.currency),
            "net": format_minor(self.net_minor, self.currency),
        }
        if self.settlement_currency is not None and self.settlement_value_minor is not None:
            out["settlement_currency"] = self.settlement_currency
            out["settlement_value"] = format_minor(
                self.settlement_value_minor, self.settlement_currency
            )
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Position:
        currency = data["currency"]
        settlement_currency = data.get("settlement_currency")
        value = data.get("settlement_value")
        return cls(
            participant=data["participant"],
            currency=currency,
            paid_minor=parse_minor(data["paid"], currency),
            received_minor=parse_minor(data["received"], currency),
            settlement_currency=settlement_currency,
            settlement_value_minor=(
                parse_minor(value, settlement_currency)
                if value is not None and settlement_currency
                else None
            ),
        )


def netting_efficiency(gross_minor: int, net_minor: int) -> Decimal | None:
    """``1 - net/gross`` to four decimals (half-even); ``None`` when nothing was owed."""
    if gross_minor == 0:
        return None
    return (1 - Decimal(net_minor) / Decimal(gross_minor)).quantize(
        EFFICIENCY_EXPONENT, rounding=ROUND_HALF_EVEN
    )


@dataclass(frozen=True, slots=True)
class CurrencySummary:
    currency: str
    obligations: int
    gross_minor: int
    net_minor: int
    participants: int
    instruction_method: str = "none"
    instruction_count: int = 0

    @property
    def efficiency(self) -> Decimal | None:
        return netting_efficiency(self.gross_minor, self.net_minor)

    def to_dict(self) -> dict[str, Any]:
        efficiency = self.efficiency
        return {
            "currency": self.currency,
            "obligations": self.obligations,
            "gross": format_minor(self.gross_minor, self.currency),
            "net": format_minor(self.net_minor, self.currency),
            "efficiency": str(efficiency) if efficiency is not None else None,
            "participants": self.participants,
            "instruction_method": self.instruction_method,
            "instruction_count": self.instruction_count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CurrencySummary:
        currency = data["currency"]
        return cls(
            currency=currency,
            obligations=int(data["obligations"]),
            gross_minor=parse_minor(data["gross"], currency),
            net_minor=parse_minor(data["net"], currency),
            participants=int(data["participants"]),
            instruction_method=data["instruction_method"],
            instruction_count=int(data["instruction_count"]),
        )


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A participant removed by the unwind because it could not fund a net debit."""

    participant: str
    round: int
    currency: str
    account: str
    required_minor: int
    available_minor: int
    obligations_carried: int = 0

    @property
    def shortfall_minor(self) -> int:
        return self.required_minor - self.available_minor

    @property
    def reason(self) -> str:
        return (
            f"net debit {format_minor(self.required_minor, self.currency)} {self.currency} "
            f"exceeds available {format_minor(self.available_minor, self.currency)} "
            f"{self.currency} on {self.account}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "participant": self.participant,
            "round": self.round,
            "currency": self.currency,
            "account": self.account,
            "required": format_minor(self.required_minor, self.currency),
            "available": format_minor(self.available_minor, self.currency),
            "shortfall": format_minor(self.shortfall_minor, self.currency),
            "obligations_carried": self.obligations_carried,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Exclusion:
        currency = data["currency"]
        return cls(
            participant=data["participant"],
            round=int(data["round"]),
            currency=currency,
            account=data["account"],
            required_minor=parse_minor(data["required"], currency),
            available_minor=parse_minor(data["available"], currency),
            obligations_carried=int(data["obligations_carried"]),
        )


def _share(part_minor: int, whole_minor: int) -> Decimal | None:
    if whole_minor == 0:
        return None
    return (Decimal(part_minor) / Decimal(whole_minor)).quantize(
        EFFICIENCY_EXPONENT, rounding=ROUND_HALF_EVEN
    )


@dataclass(frozen=True, slots=True)
class SettledValue:
    """How much of a currency's submitted value the cycle settled (the unwind's yardstick).

    ``submitted_*``: the cycle's obligations at netting, before any unwind; ``settled_*``: what
    settled. Obligations settling in another currency count in that currency, converted at the
    fixing (as in :class:`CurrencySummary`)."""

    currency: str
    submitted_obligations: int
    submitted_gross_minor: int
    settled_obligations: int
    settled_gross_minor: int

    @property
    def deferred_obligations(self) -> int:
        return self.submitted_obligations - self.settled_obligations

    @property
    def deferred_gross_minor(self) -> int:
        return self.submitted_gross_minor - self.settled_gross_minor

    @property
    def settled_share(self) -> Decimal | None:
        """``settled_gross / submitted_gross`` to four decimals; ``None`` when nothing was owed."""
        return _share(self.settled_gross_minor, self.submitted_gross_minor)

    def to_dict(self) -> dict[str, Any]:
        share = self.settled_share
        ccy = self.currency
        return {
            "currency": ccy,
            "submitted_obligations": self.submitted_obligations,
            "submitted_gross": format_minor(self.submitted_gross_minor, ccy),
            "settled_obligations": self.settled_obligations,
            "settled_gross": format_minor(self.settled_gross_minor, ccy),
            "deferred_obligations": self.deferred_obligations,
            "deferred_gross": format_minor(self.deferred_gross_minor, ccy),
            "settled_share": str(share) if share is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SettledValue:
        ccy = data["currency"]
        return cls(
            currency=ccy,
            submitted_obligations=int(data["submitted_obligations"]),
            submitted_gross_minor=parse_minor(data["submitted_gross"], ccy),
            settled_obligations=int(data["settled_obligations"]),
            settled_gross_minor=parse_minor(data["settled_gross"], ccy),
        )


@dataclass(frozen=True, slots=True)
class Deferral:
    """An obligation the unwind carried to the next cycle, and why (``unwind.REASON_*``):
    ``shortfall``, ``net_debit_cap`` or ``counterparty_excluded`` (a whole participant)."""

    reference: str
    payer: str
    payee: str
    amount_minor: int
    currency: str
    reason: str

    @property
    def amount(self) -> Money:
        return minor_to_money(self.amount_minor, self.currency)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "payer": self.payer,
            "payee": self.payee,
            "amount": format_minor(self.amount_minor, self.currency),
            "currency": self.currency,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deferral:
        return cls(
            reference=data["reference"],
            payer=data["payer"],
            payee=data["payee"],
            amount_minor=parse_minor(data["amount"], data["currency"]),
            currency=data["currency"],
            reason=data["reason"],
        )


@dataclass(frozen=True, slots=True)
class Instruction:
    """One settlement transfer: ``payer`` pays ``payee`` ``amount_minor`` of ``currency``."""

    payer: str
    payee: str
    currency: str
    amount_minor: int

    @property
    def amount(self) -> Money:
        return minor_to_money(self.amount_minor, self.currency)

    def to_dict(self) -> dict[str, Any]:
        return {
            "payer": self.payer,
            "payee": self.payee,
            "currency": self.currency,
            "amount": format_minor(self.amount_minor, self.currency),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Instruction:
        currency = data["currency"]
        return cls(
            payer=data["payer"],
            payee=data["payee"],
            currency=currency,
            amount_minor=parse_minor(data["amount"], currency),
        )


@dataclass(frozen=True, slots=True)
class FixingRate:
    """A rate the cycle used: ``rate`` units of ``quote`` per 1 ``base`` at the cut-off."""

    base: str
    quote: str
    rate: Decimal
    as_of: datetime
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "quote": self.quote,
            "rate": str(self.rate),
            "as_of": self.as_of.isoformat(),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FixingRate:
        return cls(
            base=data["base"],
            quote=data["quote"],
            rate=Decimal(data["rate"]),
            as_of=datetime.fromisoformat(data["as_of"]),
            source=data["source"],
        )


@dataclass(frozen=True, slots=True)
class Deduction:
    """Part of a net receiver's proceeds applied to a financing facility (``auto_deduct``):
    interest first, then principal. ``entry_key`` is None in a dry run (nothing posted)."""

    participant: str
    currency: str
    facility_id: str
    proceeds_minor: int
    interest_minor: int
    principal_minor: int
    entry_key: str | None = None

    @property
    def amount_minor(self) -> int:
        return self.interest_minor + self.principal_minor

    def to_dict(self) -> dict[str, Any]:
        ccy = self.currency
        return {
            "participant": self.participant,
            "currency": ccy,
            "facility_id": self.facility_id,
            "proceeds": format_minor(self.proceeds_minor, ccy),
            "interest": format_minor(self.interest_minor, ccy),
            "principal": format_minor(self.principal_minor, ccy),
            "amount": format_minor(self.amount_minor, ccy),
            "entry_key": self.entry_key,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deduction:
        ccy = data["currency"]
        return cls(
            participant=data["participant"],
            currency=ccy,
            facility_id=data["facility_id"],
            proceeds_minor=parse_minor(data["proceeds"], ccy),
            interest_minor=parse_minor(data["interest"], ccy),
            principal_minor=parse_minor(data["principal"], ccy),
            entry_key=data["entry_key"],
        )


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What a settlement run computed (and, unless ``dry_run``, posted)."""

    cycle_id: int
    status: str
    dry_run: bool
    cutoff_at: datetime | None
    settled_at: datetime | None
    currencies: tuple[CurrencySummary, ...]
    positions: tuple[Position, ...]
    exclusions: tuple[Exclusion, ...]
    instructions: tuple[Instruction, ...]
    rounds: int
    obligations_settled: int
    obligations_carried: int
    carried_to_cycle: int | None
    entry_keys: tuple[str, ...] = ()
    rates: tuple[FixingRate, ...] = ()
    deductions: tuple[Deduction, ...] = ()
    """Financing repayments taken from net receivers' proceeds, in posting order."""
    unwind: str = "obligations"
    """The unwind used: ``obligations`` (the default) or ``participants``. A report stored
    before the field existed reads back as ``participants`` (the only unwind there was)."""
    settled_value: tuple[SettledValue, ...] = ()
    """Submitted and settled value per currency (empty in reports stored before it existed)."""
    deferred: tuple[Deferral, ...] = ()
    """Obligations carried to the next cycle, by reference."""

    def currency(self, code: str) -> CurrencySummary:
        for summary in self.currencies:
            if summary.currency == code:
                return summary
        raise KeyError(code)

    def position(self, participant: str, currency: str) -> Position | None:
        for position in self.positions:
            if position.participant == participant and position.currency == currency:
                return position
        return None

    def value(self, code: str) -> SettledValue:
        for value in self.settled_value:
            if value.currency == code:
                return value
        raise KeyError(code)

    @property
    def excluded(self) -> tuple[str, ...]:
        return tuple(exclusion.participant for exclusion in self.exclusions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "cutoff_at": _timestamp(self.cutoff_at),
            "settled_at": _timestamp(self.settled_at),
            "currencies": [summary.to_dict() for summary in self.currencies],
            "positions": [position.to_dict() for position in self.positions],
            "excluded": [exclusion.to_dict() for exclusion in self.exclusions],
            "instructions": [instruction.to_dict() for instruction in self.instructions],
            "instruction_count": len(self.instructions),
            "rounds": self.rounds,
            "obligations_settled": self.obligations_settled,
            "obligations_carried": self.obligations_carried,
            "carried_to_cycle": self.carried_to_cycle,
            "entry_keys": list(self.entry_keys),
            "rates": [rate.to_dict() for rate in self.rates],
            "deductions": [deduction.to_dict() for deduction in self.deductions],
            "unwind": self.unwind,
            "settled_value": [value.to_dict() for value in self.settled_value],
            "deferred": [deferral.to_dict() for deferral in self.deferred],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CycleReport:
        return cls(
            cycle_id=int(data["cycle"]),
            status=data["status"],
            dry_run=bool(data["dry_run"]),
            cutoff_at=_parse_timestamp(data["cutoff_at"]),
            settled_at=_parse_timestamp(data["settled_at"]),
            currencies=tuple(CurrencySummary.from_dict(item) for item in data["currencies"]),
            positions=tuple(Position.from_dict(item) for item in data["positions"]),
            exclusions=tuple(Exclusion.from_dict(item) for item in data["excluded"]),
            instructions=tuple(Instruction.from_dict(item) for item in data["instructions"]),
            rounds=int(data["rounds"]),
            obligations_settled=int(data["obligations_settled"]),
            obligations_carried=int(data["obligations_carried"]),
            carried_to_cycle=data["carried_to_cycle"],
            entry_keys=tuple(data["entry_keys"]),
            rates=tuple(FixingRate.from_dict(item) for item in data["rates"]),
            deductions=tuple(Deduction.from_dict(item) for item in data.get("deductions", [])),
            unwind=data.get("unwind", "participants"),
            settled_value=tuple(
                SettledValue.from_dict(item) for item in data.get("settled_value", [])
            ),
            deferred=tuple(Deferral.from_dict(item) for item in data.get("deferred", [])),
        )

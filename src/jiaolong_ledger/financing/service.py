"""Financing operations inside one ledger transaction (:class:`FinancingBook`).

Every operation loads the facility row, decides, posts its entries through the transaction's
posting engine and saves the row on the same connection, so terms, running totals and entries
commit together or not at all. Entry keys are derived from the facility and the step
(``financing/<f>/drawdown/<ref>``, ``financing/<f>/interest/<YYYY-MM-DD>``,
``financing/<f>/repayment/<ref>``): a replay can never move money twice.

Days are UTC calendar days. Interest for a day accrues on the principal outstanding at the end
of that day (so the day of a drawdown bears interest, the day of a repayment does not), and a
drawdown or repayment first accrues every earlier day, so the principal is constant between
accruals. Nothing may be booked on a day that has already been accrued.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final

from moneyed import Money
from sqlalchemy import Connection, select

from jiaolong_ledger.accounts.chart import check_identifier, check_participant_name
from jiaolong_ledger.accounts.chart import participant_cash as cash_account
from jiaolong_ledger.errors import (
    CurrencyMismatchError,
    FacilityLimitExceededError,
    FacilityNotFoundError,
    IdempotencyConflictError,
    InvalidInputError,
    RepaymentExceedsDebtError,
)
from jiaolong_ledger.financing.interest import (
    check_day_count,
    day_numerator,
    exact_interest,
    parse_rate,
    rate_fraction,
    rounded_minor,
)
from jiaolong_ledger.financing.tables import financing_facilities, financing_movements
from jiaolong_ledger.journal.canonical import format_timestamp
from jiaolong_ledger.journal.engine import Transaction, request_digest
from jiaolong_ledger.journal.entry import Entry, Posting, credit, debit
from jiaolong_ledger.journal.validation import check_timestamp, raise_problems
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import format_minor, minor_to_money, positive_minor

log = get_logger("jiaolong_ledger.financing")

PLATFORM_LENDER: Final = "platform"
"""The lender name meaning the exchange itself lends (no lender cash account is involved)."""
DRAWDOWN: Final = "drawdown"
REPAYMENT: Final = "repayment"
ACCRUAL_DAYS_MAX: Final = 3_660
"""Days of interest entries handed to the posting engine in one batch (about ten years)."""


def loan_account(facility_id: str) -> str:
    return f"financing:loan:{facility_id.lower()}"


def interest_account(facility_id: str) -> str:
    return f"financing:interest:{facility_id.lower()}"


def lender_account(facility_id: str) -> str:
    return f"financing:lender:{facility_id.lower()}"


def interest_income_account(currency: str) -> str:
    return f"financing:interest-income:{currency}"


def entry_key(facility_id: str, step: str) -> str:
    return f"financing/{facility_id}/{step}"


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


@dataclass(frozen=True, slots=True)
class FacilityState:
    """A facility's terms and where it stands (amounts in minor units)."""

    facility_id: str
    borrower: str
    lender: str
    currency: str
    limit_minor: int
    annual_rate: str
    day_count: str
    opened_at: datetime
    accrued_until: datetime | None
    principal_minor: int
    drawn_minor: int
    principal_repaid_minor: int
    interest_accrued_minor: int
    interest_paid_minor: int
    auto_deduct: bool
    interest_exact: Decimal

    @property
    def interest_due_minor(self) -> int:
        return self.interest_accrued_minor - self.interest_paid_minor

    @property
    def available_minor(self) -> int:
        return self.limit_minor - self.principal_minor

    def money(self, amount_minor: int) -> Money:
        return minor_to_money(amount_minor, self.currency)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        fmt = {k: v for k, v in data.items() if k.endswith("_minor")}
        for name, value in fmt.items():
            del data[name]
            data[name.removesuffix("_minor")] = format_minor(value, self.currency)
        data["interest_due"] = format_minor(self.interest_due_minor, self.currency)
        data["available"] = format_minor(self.available_minor, self.currency)
        data["interest_exact"] = str(self.interest_exact)
        data["opened_at"] = format_timestamp(self.opened_at)
        data["accrued_until"] = (
            None if self.accrued_until is None else format_timestamp(self.accrued_until)
        )
        data["accounts"] = {
            "loan": loan_account(self.facility_id),
            "interest": interest_account(self.facility_id),
            "lender": (
                interest_income_account(self.currency)
                if self.lender == PLATFORM_LENDER
                else lender_account(self.facility_id)
            ),
        }
        return data


def load(connection: Connection, facility_id: str) -> dict[str, Any] | None:
    row = connection.execute(
        select(financing_facilities).where(financing_facilities.c.facility_id == facility_id)
    ).first()
    return None if row is None else dict(row._mapping)


def projected_debt(row: dict[str, Any], at: datetime) -> tuple[int, int]:
    """``(interest due, principal)`` of a facility row once every day before ``at``'s UTC date
    is accrued, computed without booking anything (the principal is constant until then)."""
    interest_due = row["interest_accrued_minor"] - row["interest_paid_minor"]
    accrued = row["accrued_until"]
    if accrued is None:
        return interest_due, row["principal_minor"]
    days = (at.astimezone(UTC).date() - accrued.astimezone(UTC).date()).days
    if days <= 0:
        return interest_due, row["principal_minor"]
    units, denominator = rate_fraction(Decimal(row["annual_rate"]), row["day_count"])
    numerator = int(row["interest_numerator"]) + day_numerator(row["principal_minor"], units, days)
    total = rounded_minor(numerator, denominator, row["currency"])
    return total - row["interest_paid_minor"], row["principal_minor"]


def snapshot(row: dict[str, Any]) -> FacilityState:
    _, denominator = rate_fraction(Decimal(row["annual_rate"]), row["day_count"])
    fields = {k: v for k, v in row.items() if k not in ("interest_numerator", "request_digest")}
    exact = exact_interest(int(row["interest_numerator"]), denominator, row["currency"])
    return FacilityState(**fields, interest_exact=exact)


class FinancingBook:
    """Financing operations bound to one open ledger :class:`Transaction`."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.connection = tx.connection

    # -- facilities ----------------------------------------------------------------------

    def open_facility(
        self,
        facility_id: str,
        *,
        borrower: str,
        lender: str,
        limit: Money,
        annual_rate: str | int | Decimal,
        day_count: str,
        at: datetime | None = None,
        auto_deduct: bool = False,
    ) -> FacilityState:
        """Record the facility's terms and open its loan and interest receivable accounts.

        ``auto_deduct``: at each clearing settlement where the borrower is a net receiver in
        the facility's currency, part of its proceeds repays the facility (see ``deduct``)."""
        check_identifier(facility_id, "facility_id")
        check_participant_name(borrower, "borrower")
        check_participant_name(lender, "lender")
        if borrower == lender:
            raise InvalidInputError("borrower and lender must differ", field="lender")
        if borrower == PLATFORM_LENDER:
            raise InvalidInputError("the platform lends; it cannot borrow", field="borrower")
        limit_minor, currency = positive_minor(limit)
        rate = parse_rate(annual_rate)
        check_day_count(day_count)
        raise_problems(check_timestamp(at, "at"))
        terms = {
            "borrower": borrower,
            "lender": lender,
            "currency": currency,
            "limit_minor": limit_minor,
            "annual_rate": str(rate),
            "day_count": day_count,
        }
        if auto_deduct is not False:
            if auto_deduct is not True:
                raise InvalidInputError("auto_deduct must be true or false", field="auto_deduct")
            terms["auto_deduct"] = True  # absent when False: digests of older facilities hold
        digest = request_digest(terms)
        existing = load(self.connection, facility_id)
        if existing is not None:
            if existing["request_digest"] != digest:
                raise IdempotencyConflictError(
                    f"facility {facility_id!r} was already opened with different terms",
                    facility_id=facility_id,
                    key=facility_id,
                )
            return snapshot(existing)
        for code in (loan_account(facility_id), interest_account(facility_id)):
            self.tx.open_account(code, currency, "asset", "credits_must_not_exceed_debits")
        if lender == PLATFORM_LENDER:
            self.tx.ensure_account(interest_income_account(currency), currency, "income")
        else:
            self.tx.open_account(
                lender_account(facility_id), currency, "liability", "debits_must_not_exceed_credits"
            )
        row = {
            **terms,
            "auto_deduct": auto_deduct,
            "facility_id": facility_id,
            "opened_at": at or self.tx.clock(),
            "accrued_until": None,
            "principal_minor": 0,
            "drawn_minor": 0,
            "principal_repaid_minor": 0,
            "interest_accrued_minor": 0,
            "interest_paid_minor": 0,
            "interest_numerator": "0",
            "request_digest": digest,
        }
        self.connection.execute(financing_facilities.insert(), row)
        log.info("facility_opened", facility_id=facility_id, borrower=borrower, lender=lender)
        return self._check(row)

    # -- drawdowns -----------------------------------------------------------------------

    def draw(
        self,
        facility_id: str,
        amount: Money,
        *,
        reference: str | None = None,
        at: datetime | None = None,
    ) -> FacilityState:
        """Lend ``amount`` to the borrower: its cash is credited, the loan receivable debited.

        The outstanding principal may not exceed the limit (a revolving facility: repaid
        principal can be drawn again). The same ``reference`` again is a replay (no effect).
        """
        row, amount_minor, when, reference, digest = self._movement(
            facility_id, DRAWDOWN, amount, reference, at
        )
        if digest is None:
            return snapshot(row)
        if row["principal_minor"] + amount_minor > row["limit_minor"]:
            ccy = row["currency"]
            raise FacilityLimitExceededError(
                f"drawdown of {format_minor(amount_minor, ccy)} {ccy} on facility "
                f"{facility_id!r} would take the principal to "
                f"{format_minor(row['principal_minor'] + amount_minor, ccy)}; the limit is "
                f"{format_minor(row['limit_minor'], ccy)}",
                facility_id=facility_id,
                limit=format_minor(row["limit_minor"], ccy),
                outstanding=format_minor(row["principal_minor"], ccy),
                requested=format_minor(amount_minor, ccy),
                currency=ccy,
            )
        money = minor_to_money(amount_minor, row["currency"])
        postings = [
            debit(loan_account(facility_id), money),
            credit(self._borrower_cash(row), money),
            *self._lender_legs(row, money, lender_pays=True),
        ]
        key = self._post(row, f"drawdown/{reference}", DRAWDOWN, postings, when, {})
        row["principal_minor"] += amount_minor
        row["drawn_minor"] += amount_minor
        if row["accrued_until"] is None:
            row["accrued_until"] = day_start(when.date())
        self._record(row, DRAWDOWN, reference, (amount_minor, 0, amount_minor), when, key, digest)
        log.info(
            "facility_drawn",
            facility_id=facility_id,
            amount=format_minor(amount_minor, row["currency"]),
        )
        return self._save(row)

    # -- interest ------------------------------------------------------------------------

    def accrue(self, facility_id: str, until: datetime) -> FacilityState:
        """Accrue every day before ``until``'s UTC date not accrued yet: one ``interest``
        entry per day whose rounded interest is not zero. Running it again does nothing."""
        raise_problems(check_timestamp(until, "until"))
        row = self._get(facility_id)
        self._accrue_row(row, until.astimezone(UTC).date())
        return self._save(row)

    def _accrue_row(self, row: dict[str, Any], until_day: date) -> None:
        if row["accrued_until"] is None:
            return
        first = row["accrued_until"].astimezone(UTC).date()
        while first < until_day:
            chunk_end = min(until_day, first + timedelta(days=ACCRUAL_DAYS_MAX))
            self._accrue_days(row, first, chunk_end)
            first = chunk_end

    def _accrue_days(self, row: dict[str, Any], first: date, until_day: date) -> None:
        """Book the interest of the days ``first`` .. ``until_day`` (exclusive) in one batch."""
        units, denominator = rate_fraction(Decimal(row["annual_rate"]), row["day_count"])
        numerator = int(row["interest_numerator"])
        ccy = row["currency"]
        day = first
        entries = []
        while day < until_day:
            numerator += day_numerator(row["principal_minor"], units)
            total = rounded_minor(numerator, denominator, ccy)
            delta = total - row["interest_accrued_minor"]
            assert delta >= 0, "accrued interest never decreases"
            if delta > 0:
                money = minor_to_money(delta, ccy)
                counterpart = (
                    interest_income_account(ccy)
                    if row["lender"] == PLATFORM_LENDER
                    else lender_account(row["facility_id"])
                )
                entries.append(
                    self._entry(
                        row,
                        f"interest/{day.isoformat()}",
                        "interest",
                        [
                            debit(interest_account(row["facility_id"]), money),
                            credit(counterpart, money),
                        ],
                        day_start(day + timedelta(days=1)),
                        {
                            "day": day.isoformat(),
                            "principal": format_minor(row["principal_minor"], ccy),
                            "interest_exact_total": str(
                                exact_interest(numerator, denominator, ccy)
                            ),
                        },
                    )
                )
                row["interest_accrued_minor"] = total
            day += timedelta(days=1)
        if entries:
            self.tx.post_many(entries)
        row["interest_numerator"] = str(numerator)
        row["accrued_until"] = day_start(until_day)
        log.info(
            "facility_accrued",
            facility_id=row["facility_id"],
            until=until_day.isoformat(),
            entries=len(entries),
        )

    # -- repayment -----------------------------------------------------------------------

    def repay(
        self,
        facility_id: str,
        amount: Money,
        *,
        reference: str | None = None,
        at: datetime | None = None,
    ) -> FacilityState:
        """Take ``amount`` from the borrower's cash (its constraint applies): accrued interest
        first, then principal. More than interest due plus principal is refused."""
        row, amount_minor, when, reference, digest = self._movement(
            facility_id, REPAYMENT, amount, reference, at
        )
        if digest is None:
            return snapshot(row)
        interest_due = row["interest_accrued_minor"] - row["interest_paid_minor"]
        ccy = row["currency"]
        if amount_minor > interest_due + row["principal_minor"]:
            raise RepaymentExceedsDebtError(
                f"repayment of {format_minor(amount_minor, ccy)} {ccy} on facility "
                f"{facility_id!r} exceeds what is owed: interest "
                f"{format_minor(interest_due, ccy)} + principal "
                f"{format_minor(row['principal_minor'], ccy)}",
                facility_id=facility_id,
                requested=format_minor(amount_minor, ccy),
                interest_due=format_minor(interest_due, ccy),
                principal=format_minor(row["principal_minor"], ccy),
                currency=ccy,
            )
        interest_part = min(amount_minor, interest_due)
        principal_part = amount_minor - interest_part
        money = minor_to_money(amount_minor, ccy)
        postings = [debit(self._borrower_cash(row), money)]
        if interest_part > 0:
            postings.append(
                credit(interest_account(facility_id), minor_to_money(interest_part, ccy))
            )
        if principal_part > 0:
            postings.append(credit(loan_account(facility_id), minor_to_money(principal_part, ccy)))
        postings += self._lender_legs(row, money, lender_pays=False)
        metadata = {
            "interest": format_minor(interest_part, ccy),
            "principal": format_minor(principal_part, ccy),
        }
        key = self._post(row, f"repayment/{reference}", REPAYMENT, postings, when, metadata)
        row["interest_paid_minor"] += interest_part
        row["principal_minor"] -= principal_part
        row["principal_repaid_minor"] += principal_part
        parts = (amount_minor, interest_part, principal_part)
        self._record(row, REPAYMENT, reference, parts, when, key, digest)
        log.info("facility_repaid", facility_id=facility_id, **metadata)
        return self._save(row)

    def deduct(
        self, facility_id: str, available_minor: int, *, reference: str, at: datetime
    ) -> tuple[int, int, str] | None:
        """Repay at most ``available_minor`` of what is due at ``at`` (interest accrued up to
        ``at``'s UTC date first, then principal) from the borrower's cash: the clearing
        engine's automatic deduction. Returns ``(interest, principal, entry key)`` or None
        when nothing is due, nothing is available, or the facility is accrued past ``at``."""
        row = self._get(facility_id)
        accrued = row["accrued_until"]
        if available_minor <= 0 or (accrued is not None and accrued > at):
            return None
        interest_due, principal = projected_debt(row, at)
        amount_minor = min(available_minor, interest_due + principal)
        if amount_minor <= 0:
            return None
        money = minor_to_money(amount_minor, row["currency"])
        state = self.repay(facility_id, money, reference=reference, at=at)
        interest_part = state.interest_paid_minor - row["interest_paid_minor"]
        assert interest_part == min(amount_minor, interest_due), "projection and accrual agree"
        key = entry_key(facility_id, f"{REPAYMENT}/{reference}")
        return interest_part, amount_minor - interest_part, key

    def state(self, facility_id: str) -> FacilityState:
        return snapshot(self._get(facility_id))

    # -- helpers -------------------------------------------------------------------------

    def _movement(
        self,
        facility_id: str,
        kind: str,
        amount: Money,
        reference: str | None,
        at: datetime | None,
    ) -> tuple[dict[str, Any], int, datetime, str, str | None]:
        """Validate a drawdown or repayment and accrue the days before it. The last item is
        the request's digest, or None when it replays a booked movement (nothing to do)."""
        amount_minor, currency = positive_minor(amount)
        if reference is not None:
            check_identifier(reference, "reference")
        raise_problems(check_timestamp(at, "at"))
        row = self._get(facility_id)
        if currency != row["currency"]:
            raise CurrencyMismatchError(
                f"amount is in {currency}, facility {facility_id!r} is in {row['currency']}",
                field="amount",
                account_currency=row["currency"],
                posting_currency=currency,
            )
        when = (at or self.tx.clock()).astimezone(UTC)
        digest = request_digest(
            {"amount_minor": amount_minor, "at": format_timestamp(when) if at else None}
        )
        if reference is None:
            reference = str(self._count(facility_id, kind) + 1)
        else:
            seen = self.connection.execute(
                select(financing_movements.c.request_digest).where(
                    financing_movements.c.facility_id == facility_id,
                    financing_movements.c.kind == kind,
                    financing_movements.c.reference == reference,
                )
            ).scalar_one_or_none()
            if seen is not None:
                if seen != digest:
                    raise IdempotencyConflictError(
                        f"{kind} {reference!r} of facility {facility_id!r} was already booked "
                        "with a different amount or time",
                        facility_id=facility_id,
                        key=entry_key(facility_id, f"{kind}/{reference}"),
                    )
                return row, amount_minor, when, reference, None
        accrued = row["accrued_until"]
        if accrued is not None and when < accrued:
            raise InvalidInputError(
                f"facility {facility_id!r} is accrued until {format_timestamp(accrued)}; a "
                f"{kind} cannot be booked before that",
                field="at",
                facility_id=facility_id,
            )
        self._accrue_row(row, when.date())
        return row, amount_minor, when, reference, digest

    def _count(self, facility_id: str, kind: str) -> int:
        from sqlalchemy import func

        return int(
            self.connection.execute(
                select(func.count()).where(
                    financing_movements.c.facility_id == facility_id,
                    financing_movements.c.kind == kind,
                )
            ).scalar_one()
        )

    def _borrower_cash(self, row: dict[str, Any]) -> str:
        code = cash_account(row["borrower"], row["currency"])
        self.tx.ensure_account(code, row["currency"], "liability", "debits_must_not_exceed_credits")
        return code

    def _lender_legs(
        self, row: dict[str, Any], money: Money, *, lender_pays: bool
    ) -> list[Posting]:
        """A participant lender's side: its cash funds drawdowns and receives repayments, through
        ``financing:lender:<f>`` (what the platform owes it on this facility). The platform as
        lender has no legs: its loan is backed by the borrower's cash liability it creates."""
        if row["lender"] == PLATFORM_LENDER:
            return []
        code = cash_account(row["lender"], row["currency"])
        self.tx.ensure_account(code, row["currency"], "liability", "debits_must_not_exceed_credits")
        claim = lender_account(row["facility_id"])
        if lender_pays:
            return [debit(code, money), credit(claim, money)]
        return [debit(claim, money), credit(code, money)]

    def _entry(
        self,
        row: dict[str, Any],
        step: str,
        kind: str,
        postings: list[Posting],
        when: datetime,
        metadata: dict[str, str],
    ) -> Entry:
        return Entry(
            key=entry_key(row["facility_id"], step),
            postings=postings,
            kind=kind,
            effective_at=when,
            description=(
                f"{kind} on facility {row['facility_id']} ({row['lender']} -> {row['borrower']})"
            ),
            metadata={"facility_id": row["facility_id"], **metadata},
        )

    def _post(
        self,
        row: dict[str, Any],
        step: str,
        kind: str,
        postings: list[Posting],
        when: datetime,
        metadata: dict[str, str],
    ) -> str:
        entry = self._entry(row, step, kind, postings, when, metadata)
        self.tx.post_many([entry])
        return entry.key

    def _record(
        self,
        row: dict[str, Any],
        kind: str,
        reference: str,
        parts: tuple[int, int, int],
        when: datetime,
        key: str,
        digest: str,
    ) -> None:
        """Keep the movement (amount, interest part, principal part) under its reference."""
        amount_minor, interest_minor, principal_minor = parts
        self.connection.execute(
            financing_movements.insert(),
            {
                "facility_id": row["facility_id"],
                "kind": kind,
                "reference": reference,
                "amount_minor": amount_minor,
                "interest_minor": interest_minor,
                "principal_minor": principal_minor,
                "effective_at": when,
                "entry_key": key,
                "request_digest": digest,
            },
        )

    def _get(self, facility_id: str) -> dict[str, Any]:
        row = load(self.connection, facility_id) if isinstance(facility_id, str) else None
        if row is None:
            raise FacilityNotFoundError(f"no facility {facility_id!r}", facility_id=facility_id)
        return row

    def _save(self, row: dict[str, Any]) -> FacilityState:
        values = {k: v for k, v in row.items() if k != "facility_id"}
        self.connection.execute(
            financing_facilities.update()
            .where(financing_facilities.c.facility_id == row["facility_id"])
            .values(**values)
        )
        return self._check(row)

    def _check(self, row: dict[str, Any]) -> FacilityState:
        facility_id = row["facility_id"]
        loan = self.tx.account(loan_account(facility_id)).balance().posted_minor
        interest = self.tx.account(interest_account(facility_id)).balance().posted_minor
        # Pair assertions: the facility's totals and the journal's accounts agree.
        assert loan == row["principal_minor"] == row["drawn_minor"] - row["principal_repaid_minor"]
        assert interest == row["interest_accrued_minor"] - row["interest_paid_minor"] >= 0
        assert 0 <= row["principal_minor"] <= row["limit_minor"]
        if row["lender"] != PLATFORM_LENDER:
            claim = self.tx.account(lender_account(facility_id)).balance().posted_minor
            assert claim == loan + interest, "the lender's claim is the loan plus its interest"
        return snapshot(row)


__all__ = [
    "ACCRUAL_DAYS_MAX",
    "PLATFORM_LENDER",
    "FacilityState",
    "FinancingBook",
    "entry_key",
    "interest_account",
    "interest_income_account",
    "lender_account",
    "loan_account",
    "projected_debt",
]

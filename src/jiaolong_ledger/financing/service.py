"""The financing book (:class:`FinancingBook`): every financing operation, declared once.

Every write loads the facility row, decides, posts its entries through the unit of work's
journal writer and saves the row on the same connection, so terms, running totals and entries
commit together or not at all. Entry keys are derived from the facility and the step
(``financing/<f>/drawdown/<ref>``, ``financing/<f>/interest/<YYYY-MM-DD>``,
``financing/<f>/repayment/<ref>``): a replay can never move money twice.

Days are UTC calendar days. Interest for a day accrues on the principal outstanding at the end
of that day (so the day of a drawdown bears interest, the day of a repayment does not), and a
drawdown or repayment first accrues every earlier day, so the principal is constant between
accruals. Nothing may be booked on a day that has already been accrued.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from moneyed import Money

from jiaolong_ledger.accounts.chart import check_identifier
from jiaolong_ledger.accounts.chart import participant_cash as cash_account
from jiaolong_ledger.errors import (
    CurrencyMismatchError,
    FacilityLimitExceededError,
    FacilityNotFoundError,
    IdempotencyConflictError,
    InvalidInputError,
    RepaymentExceedsDebtError,
)
from jiaolong_ledger.financing import store
from jiaolong_ledger.financing.entries import facility_entry, interest_entries
from jiaolong_ledger.financing.model import (
    DRAWDOWN,
    PLATFORM_LENDER,
    REPAYMENT,
    FacilityState,
    check_borrower,
    day_start,
    deduction_due,
    entry_key,
    facility_terms,
    interest_account,
    interest_income_account,
    lender_account,
    loan_account,
    snapshot,
)
from jiaolong_ledger.journal.books import Book, operation
from jiaolong_ledger.journal.canonical import format_timestamp
from jiaolong_ledger.journal.drafts import request_digest
from jiaolong_ledger.journal.entry import Posting, credit, debit
from jiaolong_ledger.journal.validation import check_timestamp, raise_problems
from jiaolong_ledger.logs import get_logger
from jiaolong_ledger.money import format_minor, minor_to_money, positive_minor

log = get_logger("jiaolong_ledger.financing")

ACCRUAL_DAYS_MAX: Final = 3_660
"""Days of interest entries handed to the journal writer in one batch (about ten years)."""


class FinancingBook(Book):
    """Credit facilities: ``ledger.financing`` (per call), ``tx.financing`` (in a unit of work)."""

    # -- facilities ----------------------------------------------------------------------

    @operation
    def open_facility(
        self,
        facility_id: str,
        borrower: str,
        lender: str,
        limit: Money,
        annual_rate: str | int | Decimal,
        day_count: str,
        at: datetime | None = None,
        auto_deduct: bool = False,
    ) -> FacilityState:
        """Record the facility's terms and open its loan and interest receivable accounts.
        The same terms again: no effect; other terms: ``IDEMPOTENCY_CONFLICT``.

        ``auto_deduct``: at each clearing settlement where the borrower is a net receiver in
        the facility's currency, part of its proceeds repays the facility (see
        ``deduct_from_proceeds``)."""
        check_identifier(facility_id, "facility_id")
        terms = facility_terms(borrower, lender, limit, annual_rate, day_count, auto_deduct)
        raise_problems(check_timestamp(at, "at"))
        digest = request_digest(terms)
        existing = store.facility(self.connection, facility_id)
        if existing is not None:
            if existing["request_digest"] != digest:
                raise IdempotencyConflictError(
                    f"facility {facility_id!r} was already opened with different terms",
                    facility_id=facility_id,
                    key=facility_id,
                )
            return snapshot(existing)
        currency = terms["currency"]
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
            "opened_at": at or self.now(),
            "accrued_until": None,
            "principal_minor": 0,
            "drawn_minor": 0,
            "principal_repaid_minor": 0,
            "interest_accrued_minor": 0,
            "interest_paid_minor": 0,
            "interest_numerator": "0",
            "request_digest": digest,
        }
        store.insert_facility(self.connection, row)
        log.info("facility_opened", facility_id=facility_id, borrower=borrower, lender=lender)
        return self._check(row)

    # -- drawdowns -----------------------------------------------------------------------

    @operation
    def draw(
        self,
        facility_id: str,
        amount: Money,
        *,
        reference: str | None = None,
        at: datetime | None = None,
        borrower: str | None = None,
    ) -> FacilityState:
        """Lend ``amount`` to the borrower: its cash is credited, the loan receivable debited.

        The outstanding principal may not exceed the limit (a revolving facility: repaid
        principal can be drawn again). The same ``reference`` again is a replay (no effect).
        ``borrower``, when given, must be the facility's borrower (``INVALID_INPUT``)."""
        row, amount_minor, when, reference, digest = self._movement(
            facility_id, DRAWDOWN, amount, reference, at, borrower
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

    def accrue(self, until: datetime, facility_id: str | None = None) -> list[FacilityState]:
        """Accrue interest for every day before ``until``'s UTC date not accrued yet, on one
        facility or all of them: one ``interest`` entry per day whose rounded interest is not
        zero. Running it again does nothing. Per call, each facility is accrued in a
        transaction of its own; in a unit of work, all of them in that unit."""
        raise_problems(check_timestamp(until, "until"))
        if facility_id is not None:
            ids = [facility_id]
        else:
            with self.reading() as connection:
                ids = store.facility_ids(connection)
        accrued = []
        for each in ids:
            with self.transaction() as bound:
                accrued.append(bound._accrue_facility(each, until))
        return accrued

    def _accrue_facility(self, facility_id: str, until: datetime) -> FacilityState:
        row = self._get(facility_id)
        self._accrue_row(row, until.astimezone(UTC).date())
        return self._save(row)

    def _accrue_row(self, row: dict[str, Any], until_day: date) -> None:
        if row["accrued_until"] is None:
            return
        first = row["accrued_until"].astimezone(UTC).date()
        while first < until_day:
            chunk_end = min(until_day, first + timedelta(days=ACCRUAL_DAYS_MAX))
            entries, numerator, accrued_minor = interest_entries(row, first, chunk_end)
            if entries:
                self.tx.post_many(entries)
            row["interest_numerator"] = str(numerator)
            row["interest_accrued_minor"] = accrued_minor
            row["accrued_until"] = day_start(chunk_end)
            log.info(
                "facility_accrued",
                facility_id=row["facility_id"],
                until=chunk_end.isoformat(),
                entries=len(entries),
            )
            first = chunk_end

    # -- repayment -----------------------------------------------------------------------

    @operation
    def repay(
        self,
        facility_id: str,
        amount: Money,
        *,
        reference: str | None = None,
        at: datetime | None = None,
        borrower: str | None = None,
    ) -> FacilityState:
        """Take ``amount`` from the borrower's cash (its constraint applies): accrued interest
        first, then principal. More than interest due plus principal is refused.
        ``borrower``, when given, must be the facility's borrower (``INVALID_INPUT``)."""
        row, amount_minor, when, reference, digest = self._movement(
            facility_id, REPAYMENT, amount, reference, at, borrower
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

    # -- automatic deduction from clearing proceeds ----------------------------------------

    def deduct_from_proceeds(
        self, borrower: str, currency: str, amount_minor: int, *, reference: str, at: datetime
    ) -> list[tuple[str, int, int, str]]:
        """Bound only (inside the settlement unit of work): repay the borrower's auto_deduct
        facilities in ``currency``, in opening order (opened_at, facility_id), interest first
        then principal, taking at most ``amount_minor`` in total. Returns ``(facility_id,
        interest_minor, principal_minor, entry key)`` per facility actually deducted from.

        A facility is skipped when nothing is left, nothing is due, or it is accrued past
        ``at``. Each deduction is a repayment under ``reference``."""
        assert self.bound, "deductions belong to the settlement's unit of work"
        left = amount_minor
        done = []
        for row in store.auto_deduct_facilities(self.connection, borrower, currency):
            interest_minor, principal_minor = deduction_due(row, left, at)
            taken_minor = interest_minor + principal_minor
            if taken_minor == 0:
                continue
            facility_id = row["facility_id"]
            money = minor_to_money(taken_minor, currency)
            state = self.repay(facility_id, money, reference=reference, at=at)
            paid_minor = state.interest_paid_minor - row["interest_paid_minor"]
            assert paid_minor == interest_minor, "projection and accrual agree"
            left -= taken_minor
            key = entry_key(facility_id, f"{REPAYMENT}/{reference}")
            done.append((facility_id, interest_minor, principal_minor, key))
        return done

    def auto_deduct_borrowers(self) -> set[tuple[str, str]]:
        """``(borrower, currency)`` pairs with a facility that repays from clearing proceeds."""
        with self.reading() as connection:
            return store.auto_deduct_borrowers(connection)

    def preview_deductions(
        self, borrower: str, currency: str, amount_minor: int, *, at: datetime
    ) -> list[tuple[str, int, int]]:
        """Read-only projection of ``deduct_from_proceeds`` (dry run): ``(facility_id,
        interest_minor, principal_minor)`` per facility it would deduct from. Nothing is
        booked: interest up to ``at`` is projected from each facility's terms."""
        with self.reading() as connection:
            rows = store.auto_deduct_facilities(connection, borrower, currency)
        left = amount_minor
        found = []
        for row in rows:
            interest_minor, principal_minor = deduction_due(row, left, at)
            if interest_minor + principal_minor == 0:
                continue
            left -= interest_minor + principal_minor
            found.append((row["facility_id"], interest_minor, principal_minor))
        return found

    # -- reading -------------------------------------------------------------------------

    def state(self, facility_id: str) -> FacilityState:
        """The facility's terms and totals (per call: a read, no writer's lock)."""
        with self.reading() as connection:
            row = store.facility(connection, facility_id) if isinstance(facility_id, str) else None
        if row is None:
            raise FacilityNotFoundError(f"no facility {facility_id!r}", facility_id=facility_id)
        return snapshot(row)

    def facilities(self) -> list[FacilityState]:
        with self.reading() as connection:
            return [snapshot(row) for row in store.facilities(connection)]

    def movements(self, facility_id: str) -> list[dict[str, object]]:
        """Drawdowns and repayments of a facility, in time order (amounts in minor units)."""
        with self.reading() as connection:
            return store.movements(connection, facility_id)

    # -- helpers -------------------------------------------------------------------------

    def _movement(
        self,
        facility_id: str,
        kind: str,
        amount: Money,
        reference: str | None,
        at: datetime | None,
        borrower: str | None,
    ) -> tuple[dict[str, Any], int, datetime, str, str | None]:
        """Validate a drawdown or repayment and accrue the days before it. The last item is
        the request's digest, or None when it replays a booked movement (nothing to do)."""
        amount_minor, currency = positive_minor(amount)
        if reference is not None:
            check_identifier(reference, "reference")
        raise_problems(check_timestamp(at, "at"))
        row = self._get(facility_id)
        check_borrower(row, borrower, kind)
        if currency != row["currency"]:
            raise CurrencyMismatchError(
                f"amount is in {currency}, facility {facility_id!r} is in {row['currency']}",
                field="amount",
                account_currency=row["currency"],
                posting_currency=currency,
            )
        when = (at or self.now()).astimezone(UTC)
        digest = request_digest(
            {"amount_minor": amount_minor, "at": format_timestamp(when) if at else None}
        )
        if reference is None:
            reference = str(store.movement_count(self.connection, facility_id, kind) + 1)
        else:
            seen = store.movement_digest(self.connection, facility_id, kind, reference)
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

    def _post(
        self,
        row: dict[str, Any],
        step: str,
        kind: str,
        postings: list[Posting],
        when: datetime,
        metadata: dict[str, str],
    ) -> str:
        entry = facility_entry(row, step, kind, postings, when, metadata)
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
        movement = {
            "facility_id": row["facility_id"],
            "kind": kind,
            "reference": reference,
            "amount_minor": amount_minor,
            "interest_minor": interest_minor,
            "principal_minor": principal_minor,
            "effective_at": when,
            "entry_key": key,
            "request_digest": digest,
        }
        store.insert_movement(self.connection, movement)

    def _get(self, facility_id: str) -> dict[str, Any]:
        row = store.facility(self.connection, facility_id) if isinstance(facility_id, str) else None
        if row is None:
            raise FacilityNotFoundError(f"no facility {facility_id!r}", facility_id=facility_id)
        return row

    def _save(self, row: dict[str, Any]) -> FacilityState:
        store.update_facility(self.connection, row)
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
]

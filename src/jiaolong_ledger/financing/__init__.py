"""Financing sub-domain: credit facilities, drawdowns, daily interest and repayments.

Design. A facility (``open_facility``) lends up to ``limit`` in one currency from a lender to a
borrower at an annual rate with a day count (``ACT/360`` or ``ACT/365F``). It opens two asset
accounts on the platform's books: ``financing:loan:<facility>`` (principal outstanding) and
``financing:interest:<facility>`` (interest accrued and unpaid). Who funds the loan:

- lender ``platform`` (the exchange lends, like a bank): a drawdown debits the loan receivable
  and credits the borrower's cash (``participant:<borrower>:cash:<CCY>``, a liability the
  platform now owes); interest is income, ``financing:interest-income:<CCY>``;
- any other lender is a participant: its cash (``participant:<lender>:cash:<CCY>``, constraint
  applies) funds the drawdown, and ``financing:lender:<facility>`` (liability) holds what the
  platform owes it on the facility: principal plus accrued interest. Repayments pass through
  to the lender's cash.

``draw`` keeps the outstanding principal within the limit (``FACILITY_LIMIT_EXCEEDED``; the
facility is revolving). ``accrue`` books one ``interest`` entry per day (see ``interest`` for
the exact arithmetic: posted interest always equals the rounded exact total). ``repay`` takes
the borrower's cash, interest first, then principal (``REPAYMENT_EXCEEDS_DEBT`` if more than
is owed). Each call is one atomic ledger transaction; keys derive from facility and step, and
a drawdown or repayment under the same ``reference`` again is a replay with no effect.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from moneyed import Money
from sqlalchemy import select

from jiaolong_ledger.errors import FacilityNotFoundError
from jiaolong_ledger.financing.interest import DAY_COUNT_BASIS
from jiaolong_ledger.financing.service import (
    PLATFORM_LENDER,
    FacilityState,
    FinancingBook,
    interest_account,
    interest_income_account,
    lender_account,
    load,
    loan_account,
    snapshot,
)
from jiaolong_ledger.financing.tables import financing_facilities, financing_movements
from jiaolong_ledger.journal.validation import check_timestamp, raise_problems

if TYPE_CHECKING:
    from jiaolong_ledger.ledger import Ledger


class Financing:
    """``ledger.financing``: each call is one atomic ledger transaction.

    For several operations in one commit: ``with ledger.financing.transaction() as book: ...``.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @contextmanager
    def transaction(self) -> Iterator[FinancingBook]:
        with self.ledger.transaction() as tx:
            yield FinancingBook(tx)

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
        """Open a facility (same terms again: no effect; other terms: IDEMPOTENCY_CONFLICT).

        ``auto_deduct=True``: clearing repays it from the borrower's net proceeds."""
        with self.transaction() as book:
            return book.open_facility(
                facility_id,
                borrower=borrower,
                lender=lender,
                limit=limit,
                annual_rate=annual_rate,
                day_count=day_count,
                at=at,
                auto_deduct=auto_deduct,
            )

    def draw(
        self,
        facility_id: str,
        amount: Money,
        *,
        reference: str | None = None,
        at: datetime | None = None,
    ) -> FacilityState:
        with self.transaction() as book:
            return book.draw(facility_id, amount, reference=reference, at=at)

    def repay(
        self,
        facility_id: str,
        amount: Money,
        *,
        reference: str | None = None,
        at: datetime | None = None,
    ) -> FacilityState:
        with self.transaction() as book:
            return book.repay(facility_id, amount, reference=reference, at=at)

    def accrue(self, until: datetime, facility_id: str | None = None) -> list[FacilityState]:
        """Accrue interest for every day before ``until``'s UTC date not accrued yet, on one
        facility or all of them (one transaction per facility)."""
        raise_problems(check_timestamp(until, "until"))
        ids = [facility_id] if facility_id is not None else self._ids()
        accrued = []
        for each in ids:
            with self.transaction() as book:
                accrued.append(book.accrue(each, until))
        return accrued

    # -- reading -------------------------------------------------------------------------

    def state(self, facility_id: str) -> FacilityState:
        """The facility's terms and totals (a read: takes no writer's lock)."""
        with self.ledger.engine.connect() as connection:
            row = load(connection, facility_id) if isinstance(facility_id, str) else None
        if row is None:
            raise FacilityNotFoundError(f"no facility {facility_id!r}", facility_id=facility_id)
        return snapshot(row)

    def facilities(self) -> list[FacilityState]:
        with self.ledger.engine.connect() as connection:
            rows = connection.execute(
                select(financing_facilities).order_by(financing_facilities.c.facility_id)
            )
            return [snapshot(dict(row._mapping)) for row in rows]

    def movements(self, facility_id: str) -> list[dict[str, object]]:
        """Drawdowns and repayments of a facility, in time order (amounts in minor units)."""
        query = (
            select(financing_movements)
            .where(financing_movements.c.facility_id == facility_id)
            .order_by(financing_movements.c.effective_at, financing_movements.c.kind)
        )
        with self.ledger.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def _ids(self) -> list[str]:
        with self.ledger.engine.connect() as connection:
            query = select(financing_facilities.c.facility_id).order_by(
                financing_facilities.c.facility_id
            )
            return list(connection.execute(query).scalars())


def service_for(ledger: Ledger) -> Financing:
    return Financing(ledger)


__all__ = [
    "DAY_COUNT_BASIS",
    "PLATFORM_LENDER",
    "FacilityState",
    "Financing",
    "FinancingBook",
    "interest_account",
    "interest_income_account",
    "lender_account",
    "loan_account",
    "service_for",
]

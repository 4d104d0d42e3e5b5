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
is owed). Keys derive from facility and step, and a drawdown or repayment under the same
``reference`` again is a replay with no effect.

One book, :class:`FinancingBook` (``service``), holds every operation once. Per call
(``ledger.financing``) each operation is one transaction of its own (``accrue`` over every
facility: one per facility); in a unit of work (``with ledger.transaction() as tx:
tx.financing...``) everything commits with the unit. A drawdown or repayment may name the
borrower (``borrower=``, as an adapter event does): it must be the facility's.

Automatic deduction at clearing: a facility opened with ``auto_deduct=True`` is repaid from its
borrower's net clearing proceeds. Clearing reaches this book only through a small Protocol
wired by the unit of work: ``deduct_from_proceeds`` (inside the settlement's unit) and
``preview_deductions`` (dry run, nothing booked) serve the borrower's facilities in the
currency in opening order, interest first, within the amount clearing hands over.

Modules: ``model`` (pure values: codes, keys, ``FacilityState``, projected debt), ``interest``
(exact day-count arithmetic), ``entries`` (the entries a facility posts), ``store`` (its own
rows), ``tables``, ``service`` (the book).
"""

from __future__ import annotations

from jiaolong_ledger.financing.interest import DAY_COUNT_BASIS
from jiaolong_ledger.financing.model import (
    PLATFORM_LENDER,
    FacilityState,
    interest_account,
    interest_income_account,
    lender_account,
    loan_account,
)
from jiaolong_ledger.financing.service import FinancingBook

Financing = FinancingBook
"""The former name of the per-call facade (now the same book)."""

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
]

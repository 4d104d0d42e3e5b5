"""Balances held by the writer while it owns the accounts, and the rules they must keep.

Every account row carries four running columns in minor units: debits and credits, posted and
pending. The writer (:mod:`.writer`) loads them into an :class:`AccountState` when it locks the
account, moves them in memory as entries are applied, and writes them back once per append. Each
state remembers what was read and what was applied since, so the write-back can assert that
``read + applied == columns`` (a pair assertion: a balance that does not equal its postings is a
bug).

:func:`check_limits` is the rule an applied entry must leave behind on each account it touched:
no column over 64-bit minor units, and the account's balance constraint kept. It is pure, so
the writer can run it after every entry of a batch and roll the batch back on the first breach.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from jiaolong_ledger.accounts.model import Balance
from jiaolong_ledger.errors import AmountOverflowError, ConstraintViolatedError
from jiaolong_ledger.journal.drafts import Draft
from jiaolong_ledger.journal.validation import AccountSnapshot
from jiaolong_ledger.money import AMOUNT_MINOR_MAX, format_minor

DEBITS_POSTED, CREDITS_POSTED, DEBITS_PENDING, CREDITS_PENDING = range(4)
"""Positions of the four balance columns in :attr:`AccountState.columns`."""

CONSTRAINT_EXEMPT_KINDS: Final = ("void_pending", "expire_pending")
"""Kinds that only release pending amounts: they can never take an account past its limit."""


@dataclass(slots=True)
class AccountState:
    """An account locked by the current transaction, with balances as they stand in it.

    ``columns`` holds (debits_posted, credits_posted, debits_pending, credits_pending) in minor
    units; ``read`` is what the database held when the account was locked and ``applied`` the
    sum of the legs moved since, so ``read + applied == columns`` is asserted before writing.
    """

    snapshot: AccountSnapshot
    columns: list[int]
    read: tuple[int, ...]
    applied: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    dirty: bool = False

    def move(self, column: int, amount_minor: int) -> None:
        self.columns[column] += amount_minor
        self.applied[column] += amount_minor
        self.dirty = True

    def values(self) -> tuple[int, int, int, int]:
        dp, cp, dq, cq = self.columns
        return dp, cp, dq, cq

    def restore(self, columns: tuple[int, ...], applied: tuple[int, ...]) -> None:
        self.columns[:] = columns
        self.applied[:] = applied

    @property
    def debits_posted(self) -> int:
        return self.columns[DEBITS_POSTED]

    @property
    def credits_posted(self) -> int:
        return self.columns[CREDITS_POSTED]

    @property
    def debits_pending(self) -> int:
        return self.columns[DEBITS_PENDING]

    @property
    def credits_pending(self) -> int:
        return self.columns[CREDITS_PENDING]

    def balance(self) -> Balance:
        snap = self.snapshot
        return Balance(snap.code, snap.currency, snap.kind, *self.values())


def snapshots_of(states: Mapping[str, AccountState]) -> dict[str, AccountSnapshot]:
    """The snapshots the validation passes check legs against, by account code."""
    return {code: state.snapshot for code, state in states.items()}


def check_limits(state: AccountState, draft: Draft) -> None:
    """Raise if ``draft``, just applied to ``state``, overflows it or breaks its constraint."""
    if max(state.values()) > AMOUNT_MINOR_MAX:
        raise AmountOverflowError(
            f"account {state.snapshot.code!r} would exceed 64-bit minor units",
            account=state.snapshot.code,
            key=draft.key,
        )
    constraint = state.snapshot.constraint
    if constraint is None or draft.kind in CONSTRAINT_EXEMPT_KINDS:
        return
    if constraint == "debits_must_not_exceed_credits":
        limit, used = state.credits_posted, state.debits_posted + state.debits_pending
    else:
        limit, used = state.debits_posted, state.credits_posted + state.credits_pending
    if used <= limit:
        return
    asked = sum(
        leg.amount_minor
        for leg in draft.legs
        if leg.account == state.snapshot.code
        and leg.is_debit == (constraint == "debits_must_not_exceed_credits")
    )
    currency = state.snapshot.currency
    raise ConstraintViolatedError(
        f"account {state.snapshot.code!r} ({constraint}) cannot take "
        f"{format_minor(asked, currency)} {currency}: available "
        f"{format_minor(limit - (used - asked), currency)} {currency}",
        account=state.snapshot.code,
        constraint=constraint,
        currency=currency,
        available=format_minor(limit - (used - asked), currency),
        asked=format_minor(asked, currency),
        key=draft.key,
    )


__all__ = [
    "CREDITS_PENDING",
    "CREDITS_POSTED",
    "DEBITS_PENDING",
    "DEBITS_POSTED",
    "AccountState",
    "check_limits",
    "snapshots_of",
]

"""Account value objects and the pure rules about codes, kinds, constraints and balances."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from moneyed import Money

from jiaolong_ledger.errors import InvalidAccountCodeError, InvalidAccountKindError
from jiaolong_ledger.limits import ACCOUNT_CODE_LENGTH_MAX
from jiaolong_ledger.money import format_minor, minor_to_money

KINDS: Final = ("asset", "liability", "equity", "income", "expense")
DEBIT_NORMAL_KINDS: Final = frozenset({"asset", "expense"})
CONSTRAINTS: Final = ("debits_must_not_exceed_credits", "credits_must_not_exceed_debits")

_SEGMENT = r"[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?"
_CODE_RE: Final = re.compile(rf"^{_SEGMENT}(?::{_SEGMENT})*(?::[A-Z]{{3}})?$")


class AccountStatus(StrEnum):
    OPEN = "open"
    FROZEN = "frozen"
    CLOSED = "closed"


def check_account_code(code: object) -> str:
    if not isinstance(code, str) or not code:
        raise InvalidAccountCodeError(
            f"account code must be a non-empty string, got {code!r}", code=code
        )
    if len(code) > ACCOUNT_CODE_LENGTH_MAX:
        raise InvalidAccountCodeError(
            f"account code longer than {ACCOUNT_CODE_LENGTH_MAX} characters",
            code=code,
            length_max=ACCOUNT_CODE_LENGTH_MAX,
        )
    if not _CODE_RE.fullmatch(code):
        raise InvalidAccountCodeError(
            f"invalid account code {code!r}: lowercase segments [a-z0-9_.-] joined by ':' "
            "(a final segment may be an upper-case currency code)",
            code=code,
        )
    return code


def check_kind(kind: object) -> str:
    if kind not in KINDS:
        raise InvalidAccountKindError(f"account kind must be one of {', '.join(KINDS)}", kind=kind)
    assert isinstance(kind, str)
    return kind


def check_constraint(constraint: object) -> str | None:
    if constraint is None:
        return None
    if constraint not in CONSTRAINTS:
        raise InvalidAccountKindError(
            f"constraint must be one of {', '.join(CONSTRAINTS)}", constraint=constraint
        )
    assert isinstance(constraint, str)
    return constraint


def is_debit_normal(kind: str) -> bool:
    return kind in DEBIT_NORMAL_KINDS


@dataclass(frozen=True, slots=True)
class Account:
    code: str
    currency: str
    kind: str
    constraint: str | None
    status: AccountStatus
    opened_at: datetime

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "currency": self.currency,
            "kind": self.kind,
            "constraint": self.constraint,
            "status": str(self.status),
            "opened_at": self.opened_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's balance. Minor-unit integers are the source of truth; Money views derive."""

    code: str
    currency: str
    kind: str
    debits_posted_minor: int
    credits_posted_minor: int
    debits_pending_minor: int
    credits_pending_minor: int

    @property
    def posted_minor(self) -> int:
        """Posted balance signed by the normal side (positive = normal)."""
        if is_debit_normal(self.kind):
            return self.debits_posted_minor - self.credits_posted_minor
        return self.credits_posted_minor - self.debits_posted_minor

    @property
    def available_minor(self) -> int:
        """Posted balance minus what pending entries against the normal side would take away."""
        if is_debit_normal(self.kind):
            return self.posted_minor - self.credits_pending_minor
        return self.posted_minor - self.debits_pending_minor

    def _money(self, minor: int) -> Money:
        return minor_to_money(minor, self.currency)

    @property
    def debits_posted(self) -> Money:
        return self._money(self.debits_posted_minor)

    @property
    def credits_posted(self) -> Money:
        return self._money(self.credits_posted_minor)

    @property
    def debits_pending(self) -> Money:
        return self._money(self.debits_pending_minor)

    @property
    def credits_pending(self) -> Money:
        return self._money(self.credits_pending_minor)

    @property
    def posted(self) -> Money:
        return self._money(self.posted_minor)

    @property
    def available(self) -> Money:
        return self._money(self.available_minor)

    def is_zero(self) -> bool:
        return (
            self.debits_posted_minor == self.credits_posted_minor
            and self.debits_pending_minor == 0
            and self.credits_pending_minor == 0
        )

    def to_dict(self) -> dict[str, str]:
        fields = {
            "debits_posted": self.debits_posted_minor,
            "credits_posted": self.credits_posted_minor,
            "debits_pending": self.debits_pending_minor,
            "credits_pending": self.credits_pending_minor,
            "posted": self.posted_minor,
            "available": self.available_minor,
        }
        out = {"account": self.code, "currency": self.currency, "kind": self.kind}
        out.update({name: format_minor(value, self.currency) for name, value in fields.items()})
        return out

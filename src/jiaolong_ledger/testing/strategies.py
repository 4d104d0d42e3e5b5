"""Hypothesis strategies for currencies, money, accounts and balanced entries.

Every value these strategies produce is valid by construction: amounts are built from integer
minor units (so they never carry more decimals than their currency allows), account codes match
the ledger's code syntax, and every entry from :func:`balanced_entries` balances per currency.
Tests that want invalid input build it by hand from these valid parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from moneyed import Money

from jiaolong_ledger.accounts.model import CONSTRAINTS, KINDS, Account
from jiaolong_ledger.journal.entry import Entry, Posting, credit, debit
from jiaolong_ledger.journal.validation import RESERVED_KEY_PREFIXES
from jiaolong_ledger.limits import ACCOUNT_CODE_LENGTH_MAX, KEY_LENGTH_MAX
from jiaolong_ledger.money import AMOUNT_MINOR_MAX, exponent, minor_to_money

BOOKING_CURRENCIES: Final = ("EUR", "CNY", "JPY", "KWD", "LAK", "KZT", "RUB", "USD")
"""The exchange's currencies plus JPY (exponent 0) and KWD (exponent 3) for the edge cases."""

AMOUNT_MINOR_DEFAULT_MAX: Final = 10**12
LEGS_PER_SIDE_DEFAULT_MAX: Final = 3

_SEGMENT_PATTERN: Final = r"[a-z0-9]([a-z0-9_.-]{0,10}[a-z0-9])?"


class AccountLike(Protocol):
    """Anything with an account code and its currency (Account, AccountSpec, model rows)."""

    @property
    def code(self) -> str: ...

    @property
    def currency(self) -> str: ...


class AccountOpener(Protocol):
    """Where an account can be opened: a ledger, or a unit of work (``ledger.transaction()``)."""

    def open_account(
        self, code: str, *, currency: str, kind: str, constraint: str | None = None
    ) -> Account: ...


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """An account to open: what :func:`accounts` draws."""

    code: str
    currency: str
    kind: str
    constraint: str | None = None

    def open(self, ledger: AccountOpener) -> Account:
        return ledger.open_account(
            self.code, currency=self.currency, kind=self.kind, constraint=self.constraint
        )


def currencies(codes: Iterable[str] = BOOKING_CURRENCIES) -> st.SearchStrategy[str]:
    """ISO 4217 codes the ledger can book (each checked against the official table)."""
    chosen = tuple(codes)
    if not chosen:
        raise InvalidArgument("currencies() needs at least one currency code")
    for code in chosen:
        exponent(code)  # raises UNKNOWN_CURRENCY for a code the ledger cannot book
    return st.sampled_from(chosen)


def _as_strategy(value: str | st.SearchStrategy[str] | None) -> st.SearchStrategy[str]:
    if value is None:
        return currencies()
    if isinstance(value, str):
        return st.just(value)
    return value


def amounts_minor(
    min_minor: int = 1, max_minor: int = AMOUNT_MINOR_DEFAULT_MAX
) -> st.SearchStrategy[int]:
    """Integer minor-unit amounts in ``[min_minor, max_minor]`` (64-bit bounded)."""
    if not -AMOUNT_MINOR_MAX <= min_minor <= max_minor <= AMOUNT_MINOR_MAX:
        raise InvalidArgument(
            f"need -2**63 < min_minor <= max_minor < 2**63, got {min_minor}, {max_minor}"
        )
    return st.integers(min_value=min_minor, max_value=max_minor)


def money(
    currency: str | st.SearchStrategy[str] | None = None,
    *,
    min_minor: int = 1,
    max_minor: int = AMOUNT_MINOR_DEFAULT_MAX,
) -> st.SearchStrategy[Money]:
    """``Money`` with exactly the currency's decimals; positive by default.

    ``currency`` is a code, a strategy of codes, or ``None`` for :func:`currencies`.
    """
    bounds = amounts_minor(min_minor, max_minor)
    return _as_strategy(currency).flatmap(
        lambda code: bounds.map(lambda minor: minor_to_money(minor, code))
    )


def account_codes(currency: str | None = None, *, segments_max: int = 4) -> st.SearchStrategy[str]:
    """Valid account codes: lowercase segments joined by ``:``; ``currency`` appends ``:CCY``."""
    segment = st.from_regex(_SEGMENT_PATTERN, fullmatch=True)
    suffix = f":{currency}" if currency else ""
    return (
        st.lists(segment, min_size=1, max_size=segments_max)
        .map(lambda parts: ":".join(parts) + suffix)
        .filter(lambda code: len(code) <= ACCOUNT_CODE_LENGTH_MAX)
    )


def accounts(
    currency: str | st.SearchStrategy[str] | None = None,
    *,
    kinds: Sequence[str] = KINDS,
    constraints: Sequence[str | None] = (None, *CONSTRAINTS),
) -> st.SearchStrategy[AccountSpec]:
    """Accounts to open: a valid code ending in the currency, a kind and maybe a constraint."""

    @st.composite
    def build(draw: st.DrawFn) -> AccountSpec:
        code_currency = draw(_as_strategy(currency))
        return AccountSpec(
            code=draw(account_codes(code_currency)),
            currency=code_currency,
            kind=draw(st.sampled_from(tuple(kinds))),
            constraint=draw(st.sampled_from(tuple(constraints))),
        )

    return build()


def entry_keys(prefix: str = "") -> st.SearchStrategy[str]:
    """Idempotency keys: printable, 1 to 128 characters (with ``prefix``), none reserved."""
    room = KEY_LENGTH_MAX - len(prefix)
    if room < 1:
        raise InvalidArgument(f"prefix leaves no room in a {KEY_LENGTH_MAX}-character key")
    body = st.text(
        alphabet=st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=min(room, 40)
    )
    keys = body.map(lambda text: prefix + text)
    return keys.filter(lambda key: not key.startswith(RESERVED_KEY_PREFIXES))


def _split(draw: st.DrawFn, total: int, parts: int) -> list[int]:
    """``parts`` positive integers summing to ``total`` (needs ``parts <= total``)."""
    if parts == 1:
        return [total]
    cuts = draw(
        st.lists(
            st.integers(1, total - 1), min_size=parts - 1, max_size=parts - 1, unique=True
        ).map(sorted)
    )
    edges = [0, *cuts, total]
    return [edges[i + 1] - edges[i] for i in range(parts)]


def _currency_legs(
    draw: st.DrawFn,
    group: Sequence[AccountLike],
    legs_per_side_max: int,
    amount_minor_max: int,
) -> list[Posting]:
    """Debits then credits on distinct accounts of one currency, summing to the same total."""
    currency = group[0].currency
    chosen = draw(st.permutations(list(group)))
    debit_count = draw(st.integers(1, min(legs_per_side_max, len(chosen) - 1)))
    credit_count_max = min(legs_per_side_max, len(chosen) - debit_count)
    debit_accounts = chosen[:debit_count]
    debit_minors = [draw(st.integers(1, amount_minor_max)) for _ in debit_accounts]
    total = sum(debit_minors)
    credit_count = draw(st.integers(1, min(credit_count_max, total)))
    credit_accounts = chosen[debit_count : debit_count + credit_count]
    credit_minors = _split(draw, total, credit_count)
    return [
        *(
            debit(account.code, minor_to_money(minor, currency))
            for account, minor in zip(debit_accounts, debit_minors, strict=True)
        ),
        *(
            credit(account.code, minor_to_money(minor, currency))
            for account, minor in zip(credit_accounts, credit_minors, strict=True)
        ),
    ]


def balanced_entries(
    accounts: Sequence[AccountLike] | st.SearchStrategy[Sequence[AccountLike]],
    *,
    keys: st.SearchStrategy[str] | None = None,
    kinds: Sequence[str] = ("transfer",),
    pending: bool | st.SearchStrategy[bool] = False,
    currencies_max: int = 2,
    legs_per_side_max: int = LEGS_PER_SIDE_DEFAULT_MAX,
    amount_minor_max: int = AMOUNT_MINOR_DEFAULT_MAX,
    descriptions: st.SearchStrategy[str] | None = None,
    metadata: st.SearchStrategy[dict[str, Any]] | None = None,
) -> st.SearchStrategy[Entry]:
    """Entries that balance in every currency they touch, over the given accounts.

    Only currencies with at least two accounts are used; debits and credits in one currency
    go to distinct accounts. ``keys`` defaults to unique-looking ``hyp/<uuid>`` keys.
    """
    if currencies_max < 1 or legs_per_side_max < 1 or amount_minor_max < 1:
        raise InvalidArgument("currencies_max, legs_per_side_max and amount_minor_max must be >= 1")
    pool = accounts if isinstance(accounts, st.SearchStrategy) else st.just(accounts)
    key_strategy = keys if keys is not None else st.uuids().map(lambda u: f"hyp/{u}")
    pending_strategy = pending if isinstance(pending, st.SearchStrategy) else st.just(pending)
    text = descriptions if descriptions is not None else st.sampled_from(("", "transfer"))
    meta = metadata if metadata is not None else st.just({})

    @st.composite
    def build(draw: st.DrawFn) -> Entry:
        groups: dict[str, list[AccountLike]] = {}
        for account in draw(pool):
            groups.setdefault(account.currency, []).append(account)
        usable = sorted(currency for currency, group in groups.items() if len(group) >= 2)
        if not usable:
            raise InvalidArgument("balanced_entries() needs two accounts in one currency")
        chosen = draw(
            st.lists(
                st.sampled_from(usable),
                min_size=1,
                max_size=min(currencies_max, len(usable)),
                unique=True,
            )
        )
        postings: list[Posting] = []
        for currency in chosen:
            postings += _currency_legs(draw, groups[currency], legs_per_side_max, amount_minor_max)
        is_pending = draw(pending_strategy)
        return Entry(
            key=draw(key_strategy),
            postings=postings,
            kind="transfer" if is_pending else draw(st.sampled_from(tuple(kinds))),
            pending=is_pending,
            description=draw(text),
            metadata=draw(meta),
        )

    return build()


__all__ = [
    "BOOKING_CURRENCIES",
    "AccountLike",
    "AccountOpener",
    "AccountSpec",
    "account_codes",
    "accounts",
    "amounts_minor",
    "balanced_entries",
    "currencies",
    "entry_keys",
    "money",
]

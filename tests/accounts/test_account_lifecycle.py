"""Accounts: codes, kinds and normal sides, constraints, freeze/unfreeze/close, and the account
records that put the chart's history into the journal chain."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, LedgerError, credit, debit
from jiaolong_ledger.accounts import AccountStatus, check_account_code
from jiaolong_ledger.testing import AccountSpec, account_codes, accounts

CODE = re.compile(
    r"^[a-z0-9]([a-z0-9_.-]*[a-z0-9])?(:[a-z0-9]([a-z0-9_.-]*[a-z0-9])?)*(:[A-Z]{3})?$"
)


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def move(key: str, source: str, target: str, amount: str) -> Entry:
    return Entry(key, [debit(source, eur(amount)), credit(target, eur(amount))])


def test_open_get_and_list(ledger: Ledger) -> None:
    opened = ledger.open_account(
        "participant:shu-brocade:cash:EUR",
        currency="EUR",
        kind="liability",
        constraint="debits_must_not_exceed_credits",
    )
    assert (opened.code, opened.currency, opened.kind, opened.constraint) == (
        "participant:shu-brocade:cash:EUR",
        "EUR",
        "liability",
        "debits_must_not_exceed_credits",
    )
    assert opened.status == AccountStatus.OPEN and opened.opened_at.tzinfo is not None
    assert ledger.account(opened.code) == opened
    ledger.open_account("participant:shu_x:cash:EUR", currency="EUR", kind="liability")
    ledger.open_account("platform:bank:EUR", currency="EUR", kind="asset")
    assert [a.code for a in ledger.accounts()] == [
        "participant:shu-brocade:cash:EUR",
        "participant:shu_x:cash:EUR",
        "platform:bank:EUR",
    ]
    assert [a.code for a in ledger.accounts("platform:")] == ["platform:bank:EUR"]
    # "_" is a literal in a prefix, not a LIKE wildcard.
    assert [a.code for a in ledger.accounts("participant:shu_")] == ["participant:shu_x:cash:EUR"]
    assert ledger.accounts("nothing:") == []


@pytest.mark.parametrize(
    ("kind", "debit_normal"),
    [
        ("asset", True),
        ("expense", True),
        ("liability", False),
        ("equity", False),
        ("income", False),
    ],
)
def test_kind_fixes_the_normal_side(ledger: Ledger, kind: str, debit_normal: bool) -> None:
    ledger.open_account(f"x:{kind}:EUR", currency="EUR", kind=kind)
    ledger.open_account("other:EUR", currency="EUR", kind="equity")
    ledger.post(move("k1", f"x:{kind}:EUR", "other:EUR", "10.00"))  # debit x 10
    ledger.post(move("k2", "other:EUR", f"x:{kind}:EUR", "3.00"))  # credit x 3
    balance = ledger.balance(f"x:{kind}:EUR")
    assert (balance.debits_posted, balance.credits_posted) == (eur("10.00"), eur("3.00"))
    assert balance.posted == (eur("7.00") if debit_normal else eur("-7.00"))


def test_credits_must_not_exceed_debits(ledger: Ledger) -> None:
    """The mirror constraint: an asset that must not go negative (a nostro, say)."""
    ledger.open_account(
        "platform:bank:EUR",
        currency="EUR",
        kind="asset",
        constraint="credits_must_not_exceed_debits",
    )
    ledger.open_account("platform:capital:EUR", currency="EUR", kind="equity")
    ledger.post(move("in", "platform:bank:EUR", "platform:capital:EUR", "50.00"))
    with pytest.raises(LedgerError) as caught:
        ledger.post(move("out", "platform:capital:EUR", "platform:bank:EUR", "50.01"))
    assert caught.value.code == "CONSTRAINT_VIOLATED"
    assert (caught.value.details["available"], caught.value.details["asked"]) == ("50.00", "50.01")
    ledger.post(move("out", "platform:capital:EUR", "platform:bank:EUR", "50.00"))
    assert ledger.balance("platform:bank:EUR").posted == eur("0.00")


def test_freeze_unfreeze_close_are_journal_records(ledger: Ledger) -> None:
    ledger.open_account("a:EUR", currency="EUR", kind="asset")
    ledger.open_account("b:EUR", currency="EUR", kind="equity")
    ledger.post(move("in", "a:EUR", "b:EUR", "5.00"))
    assert ledger.freeze_account("a:EUR").status == AccountStatus.FROZEN
    assert ledger.freeze_account("a:EUR").status == AccountStatus.FROZEN  # no second record
    assert ledger.unfreeze_account("a:EUR").status == AccountStatus.OPEN
    ledger.post(move("out", "b:EUR", "a:EUR", "5.00"))
    assert ledger.balance("a:EUR").is_zero()
    assert ledger.close_account("a:EUR").status == AccountStatus.CLOSED
    records = [(e.kind, dict(e.account or {})) for e in ledger.entries() if not e.postings]
    account_a = {"code": "a:EUR", "currency": "EUR", "kind": "asset", "constraint": None}
    assert records == [
        ("open_account", account_a),
        (
            "open_account",
            {"code": "b:EUR", "currency": "EUR", "kind": "equity", "constraint": None},
        ),
        ("freeze_account", account_a),
        ("unfreeze_account", account_a),
        ("close_account", account_a),
    ]
    assert ledger.verify().ok


def test_closed_is_permanent(ledger: Ledger) -> None:
    ledger.open_account("a:EUR", currency="EUR", kind="asset")
    ledger.close_account("a:EUR")
    for call in (ledger.unfreeze_account, ledger.freeze_account, ledger.close_account):
        with pytest.raises(LedgerError) as caught:
            call("a:EUR")
        assert caught.value.code == "ACCOUNT_CLOSED"
    assert ledger.account("a:EUR").status == AccountStatus.CLOSED
    with pytest.raises(LedgerError) as caught:
        ledger.open_account("a:EUR", currency="EUR", kind="asset")
    assert caught.value.code == "ACCOUNT_EXISTS"


def test_only_a_zero_balance_can_be_closed(ledger: Ledger) -> None:
    ledger.open_account("a:EUR", currency="EUR", kind="asset")
    ledger.open_account("b:EUR", currency="EUR", kind="equity")
    ledger.post(move("in", "a:EUR", "b:EUR", "5.00"))
    with pytest.raises(LedgerError) as caught:
        ledger.close_account("a:EUR")
    assert caught.value.code == "ACCOUNT_NOT_EMPTY"
    assert caught.value.details["account"] == "a:EUR"
    assert ledger.account("a:EUR").status == AccountStatus.OPEN


def test_ensure_account(ledger: Ledger) -> None:
    first = ledger.ensure_account("a:EUR", currency="EUR", kind="asset")
    assert ledger.ensure_account("a:EUR", currency="EUR", kind="asset") == first
    assert len(list(ledger.entries())) == 1
    with pytest.raises(LedgerError) as caught:
        ledger.ensure_account("a:EUR", currency="CNY", kind="asset")
    assert caught.value.code == "CURRENCY_MISMATCH"
    with pytest.raises(LedgerError) as caught:
        ledger.ensure_account("a:EUR", currency="EUR", kind="liability")
    assert caught.value.code == "ACCOUNT_EXISTS"


def test_bad_kind_or_constraint_is_input_error(ledger: Ledger) -> None:
    for kwargs in ({"kind": "revenue"}, {"kind": "asset", "constraint": "never_negative"}):
        with pytest.raises(LedgerError) as caught:
            ledger.open_account("a:EUR", currency="EUR", **kwargs)  # type: ignore[arg-type]
        assert caught.value.exit_code == 2
    assert ledger.accounts() == []


@given(code=st.text(alphabet="abAB09:_.-é ", max_size=12))
@settings(max_examples=300)
def test_code_syntax(code: str) -> None:
    """Lowercase segments joined by ':', a final segment may be an ISO code in capitals."""
    valid = bool(CODE.match(code)) and len(code) <= 100
    try:
        check_account_code(code)
    except LedgerError as error:
        assert error.code == "INVALID_ACCOUNT_CODE"
        assert not valid, code
    else:
        assert valid, code


@given(code=account_codes("EUR"))
@settings(max_examples=100)
def test_account_codes_strategy_is_valid(code: str) -> None:
    assert check_account_code(code) == code and code.endswith(":EUR")


@given(specs=st.lists(accounts(), min_size=1, max_size=6, unique_by=lambda spec: spec.code))
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_accounts_strategy_opens_on_the_ledger(
    make_ledger: Callable[[], Ledger], specs: list[AccountSpec]
) -> None:
    ledger = make_ledger()
    for spec in specs:
        account = spec.open(ledger)
        assert (account.code, account.currency, account.kind, account.constraint) == (
            spec.code,
            spec.currency,
            spec.kind,
            spec.constraint,
        )
    assert len(ledger.accounts()) == len(specs)
    ledger.close()

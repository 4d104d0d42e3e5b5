"""Reads: balance(as_of), trial_balance(as_of), statement(start, end) with a running balance,
and pending entries as they stood at an instant."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, LedgerError, credit, debit

BANK = "platform:bank:EUR"
CASH = "participant:acme:cash:EUR"
SELLER = "participant:lodz-gallery:cash:EUR"
FEES = "platform:fees:EUR"
T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def move(key: str, source: str, target: str, amount: str, hours: float, **extra: object) -> Entry:
    return Entry(
        key=key,
        postings=[debit(source, eur(amount)), credit(target, eur(amount))],
        effective_at=at(hours),
        **extra,  # type: ignore[arg-type]
    )


class Clock:
    def __init__(self) -> None:
        self.now = at(0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def day(make_url_for: Callable[[], str], clock: Clock) -> Iterator[Ledger]:
    """A trading day: deposit at 1h, a hold at 2h posted in part at 4h, a sale at 3h, fees at 5h.

    The hold is resolved at 4h by the clock (resolution entries take the recording time).
    """
    ledger = Ledger.connect(make_url_for(), clock=clock)
    ledger.open_account(BANK, currency="EUR", kind="asset")
    ledger.open_account(
        CASH, currency="EUR", kind="liability", constraint="debits_must_not_exceed_credits"
    )
    ledger.open_account(SELLER, currency="EUR", kind="liability")
    ledger.open_account(FEES, currency="EUR", kind="income")
    clock.now = at(6)
    ledger.post(move("deposit", BANK, CASH, "100.00", 1))
    ledger.post(move("hold", CASH, SELLER, "30.00", 2, pending=True))
    ledger.post(move("sale", CASH, SELLER, "20.00", 3))
    clock.now = at(4)
    ledger.post_pending("hold", "hold/post", eur("25.00"))
    clock.now = at(6)
    ledger.post(move("fee", SELLER, FEES, "1.50", 5))
    yield ledger
    ledger.close()


def columns(ledger: Ledger, code: str, as_of: datetime | None) -> tuple[int, int, int, int]:
    balance = ledger.balance(code, as_of=as_of)
    return (
        balance.debits_posted_minor,
        balance.credits_posted_minor,
        balance.debits_pending_minor,
        balance.credits_pending_minor,
    )


@pytest.mark.parametrize(
    ("hours", "cash", "seller"),
    [
        (0.5, (0, 0, 0, 0), (0, 0, 0, 0)),
        (1, (0, 10000, 0, 0), (0, 0, 0, 0)),  # as_of is inclusive
        (2, (0, 10000, 3000, 0), (0, 0, 0, 3000)),  # the hold is pending
        (3.5, (2000, 10000, 3000, 0), (0, 2000, 0, 3000)),
        (4, (4500, 10000, 0, 0), (0, 4500, 0, 0)),  # posted 25.00, 5.00 released
        (5, (4500, 10000, 0, 0), (150, 4500, 0, 0)),
    ],
)
def test_balance_as_of(
    day: Ledger, hours: float, cash: tuple[int, ...], seller: tuple[int, ...]
) -> None:
    assert columns(day, CASH, at(hours)) == cash
    assert columns(day, SELLER, at(hours)) == seller


def test_balance_now_equals_balance_as_of_the_end(day: Ledger) -> None:
    for code in (BANK, CASH, SELLER, FEES):
        assert columns(day, code, None) == columns(day, code, at(1000))
    cash = day.balance(CASH)
    assert (cash.posted, cash.available) == (eur("55.00"), eur("55.00"))
    assert day.balance(SELLER).posted == eur("43.50")
    assert day.balance(FEES).posted == eur("1.50")
    assert day.balance(BANK).posted == eur("100.00")


def test_available_takes_pending_into_account(day: Ledger, clock: Clock) -> None:
    day.post(move("hold/2", CASH, SELLER, "10.00", 6, pending=True))
    cash = day.balance(CASH)
    assert (cash.posted, cash.available) == (eur("55.00"), eur("45.00"))
    seller = day.balance(SELLER)
    assert (seller.posted, seller.available) == (eur("43.50"), eur("43.50"))
    assert columns(day, CASH, at(5.9))[2] == 0
    assert columns(day, CASH, at(6))[2] == 1000
    clock.now = at(7)
    day.void_pending("hold/2", "hold/2/void")
    assert columns(day, CASH, at(6.5))[2] == 1000  # still pending then
    assert columns(day, CASH, at(7))[2] == 0
    assert day.balance(CASH).available == eur("55.00")


def test_trial_balance_as_of(day: Ledger) -> None:
    early = day.trial_balance(as_of=at(3.5))
    rows = {row.account: (row.debits_minor, row.credits_minor) for row in early.rows}
    assert rows == {
        BANK: (10000, 0),
        CASH: (2000, 10000),
        SELLER: (0, 2000),
        FEES: (0, 0),
    }
    assert early.totals == {"EUR": (12000, 12000)} and early.is_balanced()
    now = day.trial_balance()
    assert now.totals == {"EUR": (14650, 14650)}
    assert {row.account: row.balance_minor for row in now.rows} == {
        BANK: 10000,
        CASH: 5500,
        SELLER: 4350,
        FEES: 150,
    }
    assert day.trial_balance(as_of=at(1000)) == now
    assert day.trial_balance(as_of=at(0)).totals == {"EUR": (0, 0)}
    data = now.to_dict()
    assert data["balanced"] is True
    assert data["totals"]["EUR"] == {"debits": "146.50", "credits": "146.50"}


def test_statement_running_balance(day: Ledger) -> None:
    statement = day.statement(SELLER)
    assert statement.opening_minor == 0
    lines = [
        (line.key, line.side, line.amount_minor, line.balance_minor) for line in statement.lines
    ]
    assert lines == [
        ("sale", "credit", 2000, 2000),
        ("hold/post", "credit", 2500, 4500),
        ("fee", "debit", 150, 4350),
    ]
    assert statement.closing_minor == 4350 == day.balance(SELLER).posted_minor


def test_statement_window_is_start_inclusive_end_exclusive(day: Ledger) -> None:
    statement = day.statement(CASH, start=at(3), end=at(5))
    assert statement.opening_minor == 10000  # the deposit, before the window
    assert [line.key for line in statement.lines] == ["sale", "hold/post"]
    assert [line.balance_minor for line in statement.lines] == [8000, 5500]
    assert statement.closing_minor == 5500
    assert [line.key for line in day.statement(CASH, end=at(3)).lines] == ["deposit"]
    assert day.statement(CASH, start=at(6)).lines == ()
    data = statement.to_dict()
    assert (data["opening"], data["closing"]) == ("100.00", "55.00")


def test_statement_orders_by_effective_time_not_by_seq(day: Ledger) -> None:
    day.post(move("backdated", BANK, CASH, "7.00", 0.5))  # recorded last, effective first
    statement = day.statement(CASH)
    assert [line.key for line in statement.lines][:2] == ["backdated", "deposit"]
    assert [line.balance_minor for line in statement.lines][:2] == [700, 10700]
    assert statement.closing_minor == day.balance(CASH).posted_minor == 6200
    assert columns(day, CASH, at(0.75)) == (0, 700, 0, 0)


def test_naive_or_inverted_instants_are_refused(day: Ledger) -> None:
    naive = datetime(2026, 11, 26, 8, 0)
    for call in (
        lambda: day.balance(CASH, as_of=naive),
        lambda: day.trial_balance(as_of=naive),
        lambda: day.statement(CASH, start=naive),
        lambda: day.statement(CASH, end=naive),
        lambda: day.expire_pending(naive),
    ):
        with pytest.raises(LedgerError) as caught:
            call()
        assert caught.value.code == "INVALID_INPUT"  # SPEC §1: a timestamp states its offset
        assert "no UTC offset" in caught.value.message
    with pytest.raises(LedgerError) as caught:
        day.statement(CASH, start=at(5), end=at(1))
    assert caught.value.code == "INVALID_ENTRY"


def test_other_time_zones_mean_the_same_instant(day: Ledger) -> None:
    from zoneinfo import ZoneInfo

    chengdu = at(3.5).astimezone(ZoneInfo("Asia/Shanghai"))
    assert columns(day, CASH, chengdu) == columns(day, CASH, at(3.5))

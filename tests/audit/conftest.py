"""A ledger holding every entry kind and every account record, for the audit tests.

The sub-domain kinds (escrow_fund, fx_conversion, settlement, interest, ...) are posted directly
as ``Entry(kind=...)`` so these tests do not depend on the sub-domain services; the two-phase
kinds and reversals go through the ledger's own API.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.journal.entry import ENTRY_KINDS

ACCOUNTS = [
    ("platform:bank:EUR", "EUR", "asset", None),
    ("platform:bank:CNY", "CNY", "asset", None),
    ("platform:bank:JPY", "JPY", "asset", None),
    ("participant:shu-brocade:cash:CNY", "CNY", "liability", "debits_must_not_exceed_credits"),
    ("participant:duisburg_prints:cash:EUR", "EUR", "liability", "debits_must_not_exceed_credits"),
    ("participant:duisburg_prints:cash:JPY", "JPY", "liability", None),
    ("participant:lodz.gallery:cash:EUR", "EUR", "liability", "debits_must_not_exceed_credits"),
    ("platform:escrow:order-42", "EUR", "liability", None),
    ("fx:position:EUR", "EUR", "equity", None),
    ("fx:position:CNY", "CNY", "equity", None),
    ("clearing:settlement:EUR", "EUR", "liability", None),
    ("platform:fees:EUR", "EUR", "income", None),
    ("platform:fx-gain:EUR", "EUR", "income", None),
    ("finance:loans:shu-brocade:CNY", "CNY", "asset", None),
    ("finance:interest:CNY", "CNY", "income", None),
    ("platform:costs:bank-fees:EUR", "EUR", "expense", None),
    ("platform:suspense:EUR", "EUR", "asset", None),
]

EUR, CNY = "EUR", "CNY"


def eur(amount: str) -> Money:
    return Money(amount, EUR)


def cny(amount: str) -> Money:
    return Money(amount, CNY)


def transfer(
    key: str, kind: str, debit_to: str, credit_to: str, amount: Money, **extra: object
) -> Entry:
    return Entry(
        key=key,
        kind=kind,
        postings=[debit(debit_to, amount), credit(credit_to, amount)],
        **extra,  # type: ignore[arg-type]
    )


def build_every_kind(ledger: Ledger) -> None:
    """Every entry kind of SPEC §5 and every account record, on ``ledger``."""
    for code, currency, kind, constraint in ACCOUNTS:
        ledger.open_account(code, currency=currency, kind=kind, constraint=constraint)
    duisburg, shu = "participant:duisburg_prints:cash:EUR", "participant:shu-brocade:cash:CNY"
    lodz = "participant:lodz.gallery:cash:EUR"
    ledger.post_many(
        [
            transfer(
                "deposit/duisburg",
                "transfer",
                "platform:bank:EUR",
                duisburg,
                eur("5000.00"),
                description='opening deposit "Duisburg" — 蜀锦 \\ prints',
                metadata={"city": "Duisburg", "nested": {"rate": "7.8125", "ok": True}},
            ),
            transfer("deposit/shu", "transfer", "platform:bank:CNY", shu, cny("80000.00")),
            transfer(
                "deposit/duisburg-jpy",
                "transfer",
                "platform:bank:JPY",
                "participant:duisburg_prints:cash:JPY",
                Money("125000", "JPY"),
            ),
        ]
    )
    ledger.post(
        transfer(
            "back-dated/lodz",
            "transfer",
            "platform:bank:EUR",
            lodz,
            eur("300.00"),
            effective_at=datetime(2026, 1, 2, 9, 30, tzinfo=UTC),
            description="booked late, effective in January",
        )
    )
    ledger.post(
        transfer(
            "order-42/fund", "escrow_fund", duisburg, "platform:escrow:order-42", eur("1000.00")
        )
    )
    ledger.post(
        Entry(
            key="order-42/release/departed",
            kind="escrow_release",
            postings=[
                debit("platform:escrow:order-42", eur("300.00")),
                credit(lodz, eur("291.00")),
                credit("platform:fees:EUR", eur("9.00")),
            ],
            metadata={"milestone": "departed", "share": "0.30"},
        )
    )
    ledger.post(
        transfer(
            "order-42/refund", "escrow_refund", "platform:escrow:order-42", duisburg, eur("700.00")
        )
    )
    ledger.post(
        Entry(
            key="fx/duisburg-to-shu",
            kind="fx_conversion",
            postings=[
                debit(duisburg, eur("100.00")),
                credit("fx:position:EUR", eur("100.00")),
                debit("fx:position:CNY", cny("781.25")),
                credit(shu, cny("781.25")),
            ],
            metadata={"rate": "7.8125", "pair": "EUR/CNY"},
        )
    )
    ledger.post(
        transfer("cycle-1/pay-in", "settlement", duisburg, "clearing:settlement:EUR", eur("50.00"))
    )
    ledger.post(
        transfer("cycle-1/pay-out", "settlement", "clearing:settlement:EUR", lodz, eur("50.00"))
    )
    ledger.post(
        transfer("loan-1/draw", "drawdown", "finance:loans:shu-brocade:CNY", shu, cny("10000.00"))
    )
    ledger.post(
        transfer("loan-1/interest/d1", "interest", shu, "finance:interest:CNY", cny("1.39"))
    )
    ledger.post(
        transfer("loan-1/repay", "repayment", shu, "finance:loans:shu-brocade:CNY", cny("2000.00"))
    )
    ledger.post(
        transfer(
            "reval/2026-11",
            "revaluation",
            "platform:suspense:EUR",
            "platform:fx-gain:EUR",
            eur("0.37"),
        )
    )
    ledger.post(
        transfer(
            "bank-fee/11",
            "transfer",
            "platform:costs:bank-fees:EUR",
            "platform:bank:EUR",
            eur("2.50"),
        )
    )
    # two-phase: posted in full, posted in part, voided, expired; one left pending
    for name in ("full", "part", "void", "expire", "open"):
        expires = datetime.now(UTC) + timedelta(milliseconds=50) if name == "expire" else None
        ledger.post(
            transfer(
                f"hold/{name}",
                "transfer",
                duisburg,
                lodz,
                eur("40.00"),
                pending=True,
                expires_at=expires,
            )
        )
    ledger.post_pending("hold/full", "hold/full/post")
    ledger.post_pending("hold/part", "hold/part/post", eur("15.00"))
    ledger.void_pending("hold/void", "hold/void/void")
    ledger.expire_pending(datetime.now(UTC) + timedelta(seconds=1))
    ledger.reverse("bank-fee/11", "bank-fee/11/reversal")
    ledger.freeze_account(lodz)
    ledger.unfreeze_account(lodz)
    ledger.open_account("platform:closed-soon:EUR", currency=EUR, kind="asset")
    ledger.close_account("platform:closed-soon:EUR")
    ledger.freeze_account("participant:duisburg_prints:cash:JPY")


def kinds_in(ledger: Ledger) -> set[str]:
    return {entry.kind for entry in ledger.entries()}


@pytest.fixture
def full_ledger(ledger: Ledger) -> Ledger:
    build_every_kind(ledger)
    assert set(ENTRY_KINDS) <= kinds_in(ledger)
    return ledger


@pytest.fixture
def every_kind() -> Callable[[Ledger], None]:
    return build_every_kind


@pytest.fixture(scope="module")
def clean_lines(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The every-kind journal's lines (SQLite, built once per module)."""
    directory = tmp_path_factory.mktemp("lines")
    ledger = Ledger.connect(f"sqlite:///{directory}/ledger.db")
    try:
        build_every_kind(ledger)
        return [line.encode() for line in ledger.journal_lines()]
    finally:
        ledger.close()

from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit


def test_post_and_balance(ledger: Ledger) -> None:
    ledger.open_account("a:cash:EUR", currency="EUR", kind="asset")
    ledger.open_account("b:funding:EUR", currency="EUR", kind="equity")
    ledger.post(
        Entry(
            key="k1",
            postings=[
                debit("a:cash:EUR", Money("10.00", "EUR")),
                credit("b:funding:EUR", Money("10.00", "EUR")),
            ],
        )
    )
    assert ledger.balance("a:cash:EUR").posted == Money("10.00", "EUR")
    assert ledger.verify().ok

"""The demo's fx step on its own: the day's rates, cross-currency exchanges, a revaluation."""

from __future__ import annotations

from pathlib import Path

from jiaolong_ledger import Ledger
from jiaolong_ledger.demo import core_step, fx_step
from jiaolong_ledger.demo.run import DemoContext, participants_for


def test_fx_step_loads_rates_and_exchanges(ledger: Ledger, tmp_path: Path) -> None:
    said: list[str] = []
    context = DemoContext(ledger, participants_for(6), 10, tmp_path, said.append)
    core_step.run(context)
    fx_step.run(context)
    results = context.results["fx"]
    assert results["rates_stored"] == 14 + 3
    assert (tmp_path / "eurofxref.csv").read_text().startswith("Date,USD,JPY,")
    paths = {tuple(exchange["path"]) for exchange in results["exchanges"]}
    assert paths == {("CNY", "EUR"), ("KZT", "EUR", "CNY"), ("LAK", "EUR")}
    kinds = [entry.kind for entry in ledger.entries() if entry.key.startswith("demo/fx/")]
    assert kinds == ["fx_conversion"] * 3
    assert ledger.balance("fx:spread-income:CNY").posted_minor > 0
    assert ledger.trial_balance().is_balanced()
    assert ledger.verify().ok
    assert any(line.startswith("fx: khorgos-crafts sold") for line in said)

"""The demo's clearing step: deferred-net orders via the adapters, one participant short,
settlement, a schema-valid ISO 20022 file (both backends). Under the default obligation unwind
the short participant is not excluded: its order it cannot pay for is deferred instead."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import xmlschema

from jiaolong_ledger import Ledger
from jiaolong_ledger.clearing.iso20022 import schema_file
from jiaolong_ledger.demo import clearing_step, core_step
from jiaolong_ledger.demo.run import DemoContext, participants_for


def test_clearing_step_settles_with_one_participant_short(ledger: Ledger, tmp_path: Path) -> None:
    said: list[str] = []
    context = DemoContext(ledger, participants_for(6), 40, tmp_path, said.append)
    core_step.run(context)
    clearing_step.run(context)
    results = context.results["clearing"]
    assert results["excluded"] == [] and results["carried"] > 0
    assert results["clearing_accounts_zero"] is True
    report = ledger.clearing.report(results["cycle"])
    assert report.status == "settled" and report.unwind == "obligations"
    (short,) = {d.payer for d in report.deferred if d.reason == "shortfall"}
    assert any(f"{short} was made short" in line for line in said)
    carried = ledger.clearing.obligations(results["cycle"] + 1)
    assert sorted(o.reference for o in carried) == [d.reference for d in report.deferred]
    for value in report.settled_value:
        assert value.settled_gross_minor > 0
    with resources.as_file(schema_file()) as path:
        xmlschema.XMLSchema(str(path)).validate(results["iso20022"])
    assert any("settlement instructions" in line for line in said)
    assert ledger.verify().ok

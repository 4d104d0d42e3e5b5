"""fx step of the demo (no-op until the fx work lands)."""

from __future__ import annotations

from jiaolong_ledger.demo.run import DemoContext


def run(context: DemoContext) -> None:
    return None

"""Shared result type and table printer for the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    name: str
    value: float
    unit: str
    target: float | None = None
    lower_is_better: bool = False
    note: str = ""

    @property
    def meets_target(self) -> bool | None:
        if self.target is None:
            return None
        return self.value <= self.target if self.lower_is_better else self.value >= self.target


def print_table(results: list[Result]) -> None:
    rows = []
    for result in results:
        target = (
            ""
            if result.target is None
            else ("<= " if result.lower_is_better else ">= ") + f"{result.target:,.0f}"
        )
        verdict = {True: "met", False: "MISSED", None: ""}[result.meets_target]
        rows.append(
            [result.name, f"{result.value:,.1f} {result.unit}", target, verdict, result.note]
        )
    headers = ["benchmark", "measured", "target", "", "note"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())

"""A cycle report as plain text tables (the CLI's terminal output and the demo's)."""

from __future__ import annotations

from typing import Final

from jiaolong_ledger.clearing.model import CycleReport
from jiaolong_ledger.money import format_minor

DEFERRED_SHOWN_MAX: Final = 50
"""Deferred obligations listed in the text report (the JSON report lists every one)."""


def text_table(
    headers: list[str], rows: list[list[str]], right: set[int] | None = None
) -> list[str]:
    """Aligned columns, no colours (safe to pipe)."""
    right = right or set()
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(headers), "  ".join("-" * width for width in widths), *map(line, rows)]


def _summary(report: CycleReport) -> list[str]:
    rows = [
        [
            s.currency,
            str(s.obligations),
            format_minor(s.gross_minor, s.currency),
            format_minor(s.net_minor, s.currency),
            f"{s.efficiency:.2%}" if s.efficiency is not None else "n/a",
            str(s.instruction_count),
            s.instruction_method,
        ]
        for s in report.currencies
    ]
    headers = ["currency", "obligations", "gross", "net", "efficiency", "instructions", "method"]
    return text_table(headers, rows, right={1, 2, 3, 4, 5})


def _positions(report: CycleReport) -> list[str]:
    valued = any(p.settlement_value_minor is not None for p in report.positions)
    headers = ["participant", "currency", "paid", "received", "net"]
    if valued:
        headers.append("in settlement currency")
    rows = []
    for p in report.positions:
        row = [
            p.participant,
            p.currency,
            format_minor(p.paid_minor, p.currency),
            format_minor(p.received_minor, p.currency),
            format_minor(p.net_minor, p.currency),
        ]
        if valued:
            value, currency = p.settlement_value_minor, p.settlement_currency
            row.append(
                f"{format_minor(value, currency)} {currency}"
                if value is not None and currency
                else "-"
            )
        rows.append(row)
    return ["positions", *text_table(headers, rows, right={2, 3, 4, 5})]


def _value(report: CycleReport) -> list[str]:
    rows = [
        [
            v.currency,
            str(v.submitted_obligations),
            format_minor(v.submitted_gross_minor, v.currency),
            str(v.settled_obligations),
            format_minor(v.settled_gross_minor, v.currency),
            f"{v.settled_share:.2%}" if v.settled_share is not None else "n/a",
            str(v.deferred_obligations),
            format_minor(v.deferred_gross_minor, v.currency),
        ]
        for v in report.settled_value
    ]
    headers = [
        "currency",
        "submitted",
        "submitted gross",
        "settled",
        "settled gross",
        "settled share",
        "carried",
        "carried gross",
    ]
    title = f"settled value (unwind: {report.unwind})"
    return [title, *text_table(headers, rows, right={1, 2, 3, 4, 5, 6, 7})]


def _deferred(report: CycleReport) -> list[str]:
    shown = report.deferred[:DEFERRED_SHOWN_MAX]
    rows = [
        [
            d.reference,
            d.payer,
            d.payee,
            format_minor(d.amount_minor, d.currency),
            d.currency,
            d.reason,
        ]
        for d in shown
    ]
    lines = [
        f"carried to the next cycle ({len(report.deferred)} obligations, by reference)",
        *text_table(["reference", "payer", "payee", "amount", "currency", "reason"], rows, {3}),
    ]
    if len(report.deferred) > len(shown):
        lines.append(f"... and {len(report.deferred) - len(shown)} more (the JSON report has all)")
    return lines


def _exclusions(report: CycleReport) -> list[str]:
    if not report.exclusions:
        if report.deferred:
            return ["excluded: none (single obligations were deferred instead, listed below)"]
        return ["excluded: none (every net payer could fund its position)"]
    rows = [
        [e.participant, str(e.round), e.reason, str(e.obligations_carried)]
        for e in report.exclusions
    ]
    return [
        "excluded (their obligations, both directions, carried to the next cycle)",
        *text_table(["participant", "round", "reason", "carried"], rows, right={1, 3}),
    ]


def _instructions(report: CycleReport) -> list[str]:
    rows = [
        [i.payer, i.payee, format_minor(i.amount_minor, i.currency), i.currency]
        for i in report.instructions
    ]
    return [
        f"settlement instructions ({len(report.instructions)})",
        *text_table(["payer", "payee", "amount", "currency"], rows, right={2}),
    ]


def _deductions(report: CycleReport) -> list[str]:
    rows = [
        [
            d.participant,
            d.facility_id,
            d.currency,
            format_minor(d.proceeds_minor, d.currency),
            format_minor(d.interest_minor, d.currency),
            format_minor(d.principal_minor, d.currency),
            format_minor(d.amount_minor, d.currency),
        ]
        for d in report.deductions
    ]
    headers = ["participant", "facility", "currency", "proceeds", "interest", "principal", "total"]
    title = "financing deductions from proceeds (interest first, then principal)"
    if report.dry_run:
        title += ", not posted"
    return [title, *text_table(headers, rows, right={3, 4, 5, 6})]


def report_lines(report: CycleReport) -> list[str]:
    """The whole report: summary and settled value per currency, positions, exclusions, the
    carried obligations (at most ``DEFERRED_SHOWN_MAX``), instructions, deductions."""
    kind = "DRY RUN (nothing posted)" if report.dry_run else "settled"
    cutoff = report.cutoff_at.isoformat(timespec="seconds") if report.cutoff_at else "not cut off"
    carried = f" to cycle {report.carried_to_cycle}" if report.carried_to_cycle is not None else ""
    head = [
        f"clearing cycle {report.cycle_id}: {kind}; cut-off {cutoff}",
        f"{report.obligations_settled} obligations netted, {report.obligations_carried} carried"
        f"{carried}, {report.rounds} netting round(s), unwind: {report.unwind}",
    ]
    sections = [_summary(report)]
    if report.settled_value:  # absent from reports stored before it existed
        sections.append(_value(report))
    sections += [_positions(report), _exclusions(report)]
    if report.deferred:
        sections.append(_deferred(report))
    sections.append(_instructions(report))
    if report.deductions:  # shown only when a facility opted in and something was due
        sections.append(_deductions(report))
    lines = head
    for section in sections:
        lines += ["", *section]
    return lines

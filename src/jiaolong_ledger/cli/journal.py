"""Audit commands: journal export, verify, replay."""

from __future__ import annotations

import click

from jiaolong_ledger.cli.common import emit, json_option, state


@click.group()
def journal() -> None:
    """Export, verify and replay the journal."""


@journal.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option(
    "-o", "--output", default="-", show_default=True, help="Output file ('-' for stdout)."
)
def journal_export(fmt: str, output: str) -> None:
    """Stream the journal in FORMAT."""
    count = state().ledger().export_journal(output, format=fmt)
    if output != "-":
        click.echo(f"exported {count} entries to {output}", err=True)


@journal.command("verify")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@json_option
def journal_verify(file: str | None) -> None:
    """Verify the database's journal, or an exported JSON Lines FILE. Exit 1 on any finding."""
    from jiaolong_ledger.audit.verify import verify_file

    report = verify_file(file) if file else state().ledger().verify()
    data = report.to_dict()

    def human() -> None:
        if report.ok:
            click.echo(f"ok: {report.entries} entries, chain head {report.last_hash}")
        for finding in report.findings:
            click.echo(f"{finding.code} seq={finding.seq}: {finding.message}")

    emit(data, human)
    if not report.ok:
        raise SystemExit(1)


COMMANDS = [journal]

"""Audit commands: journal export, verify, replay."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from typing import Any

import click

from jiaolong_ledger.cli.common import (
    TIMESTAMP,
    check_output_path,
    emit,
    json_option,
    progress,
    state,
    writing_after_commit,
)


def _progress(label: str) -> Any:
    """cli/common.progress as the audit functions' progress hook (bar on a terminal only)."""

    def wrap(batches: Any, total: int | None) -> Any:
        return progress(batches, total, label)

    return wrap


@click.group()
def journal() -> None:
    """Export, verify and replay the journal.

    TIMESTAMP: ISO 8601 with Z or an offset; a bare date (2026-11-30) is 00:00 UTC that day.
    """


@journal.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "beancount", "csv"]),
    default="jsonl",
    show_default=True,
)
@click.option(
    "-o", "--output", default="-", show_default=True, help="Output file ('-' for stdout)."
)
@click.option("--from-seq", "start_seq", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--to-seq", "end_seq", type=click.IntRange(min=1), default=None, help="Inclusive.")
@click.option("--since", type=TIMESTAMP, default=None, help="recorded_at >= this instant.")
@click.option("--until", type=TIMESTAMP, default=None, help="recorded_at < this instant.")
def journal_export(
    fmt: str,
    output: str,
    start_seq: int,
    end_seq: int | None,
    since: datetime | None,
    until: datetime | None,
) -> None:
    """Stream the journal (or a seq / recorded_at range) as JSON Lines, beancount or CSV.

    JSON Lines is the stored, hashed text (SPEC §5). Beancount passes bean-check and gives
    trial-balance's balances; pending entries are custom "jiaolong-pending" directives.
    The output path is checked (its folder exists and is writable) before the export starts.
    """
    to_file = output != "-"
    if to_file:
        check_output_path(output)
    ledger = state().ledger()
    rerender = f"jiaolong journal export --format {fmt} -o {output}"
    with (
        writing_after_commit("nothing changed in the ledger (an export only reads)", rerender)
        if to_file
        else nullcontext()
    ):
        count = ledger.export_journal(
            output, format=fmt, start_seq=start_seq, end_seq=end_seq, since=since, until=until
        )
    if to_file:
        click.echo(f"exported {count} entries ({fmt}) to {output}", err=True)


@journal.command("verify")
@click.argument("file", required=False, type=click.Path(allow_dash=True))
@click.option(
    "--head",
    "expected_head",
    default=None,
    help="The hash the last entry must have (a head you recorded earlier): catches entries "
    "removed or rewritten at the end of a FILE.",
)
@click.option(
    "--slice",
    "anchored",
    is_flag=True,
    help="FILE is a range export: check it from its first line's seq and prev_hash.",
)
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Exit 0 when there are no entries at all (by default: exit 1, nothing to verify).",
)
@json_option
def journal_verify(
    file: str | None, expected_head: str | None, anchored: bool, allow_empty: bool
) -> None:
    """Verify the database's journal and balances, or an exported JSON Lines FILE.

    Recomputes the hash chain from genesis, checks seq continuity, per-entry balance, key
    uniqueness and (against a database) that stored balances equal the sums of postings.
    Prints every finding with its code; exit 1 on any finding, and exit 1 when there is no
    entry to verify (a wrong --db or an empty file) unless --allow-empty.
    """
    from jiaolong_ledger.audit.report import HEAD_MISMATCH
    from jiaolong_ledger.audit.verify import verify_file
    from jiaolong_ledger.audit.verify_db import verify_database

    if file:
        report = verify_file(
            file,
            anchored=anchored,
            expected_head=expected_head,
            progress=_progress("verifying"),
        )
    else:
        if anchored:
            raise click.UsageError("--slice applies to a FILE")
        report = verify_database(state().ledger(), progress=_progress("verifying"))
        if expected_head is not None and expected_head != report.last_hash:
            report.add(
                HEAD_MISMATCH,
                report.last_seq,
                f"the last entry's hash {report.last_hash} is not the expected head "
                f"{expected_head}",
            )
    data = report.to_dict()
    empty = report.ok and report.entries == 0 and not allow_empty
    if empty:
        data.update(ok=False, nothing_to_verify=True)

    def human() -> None:
        if empty:
            click.echo(
                f"nothing to verify: no entries in {file or state().ledger().database.url} "
                "(--allow-empty accepts an empty journal)"
            )
            return
        for finding in report.findings:
            click.echo(f"{finding.code} {finding.where}: {finding.message}")
        hidden = report.findings_total - len(report.findings)
        if hidden:
            click.echo(f"... and {hidden} more findings")
        if report.ok:
            click.echo(
                f"ok: {report.entries} entries verified ({', '.join(report.checks)}); "
                f"chain head seq {report.last_seq} {report.last_hash}"
            )
        else:
            click.echo(
                f"FAILED: {report.findings_total} finding(s) in {report.entries} entries; "
                f"first broken {report.first_broken}"
            )

    emit(data, human)
    if not report.ok or empty:
        raise SystemExit(1)


@journal.command("replay")
@click.argument("file", type=click.Path(allow_dash=True))
@click.option("--into", required=True, help="URL of the EMPTY database to rebuild into.")
@json_option
def journal_replay(file: str, into: str) -> None:
    """Rebuild a ledger from an exported JSON Lines FILE into an empty database.

    Each line is verified before it is re-enacted, and the line the ledger writes must equal
    it byte for byte; the first problem stops the replay and leaves the target empty.
    """
    from jiaolong_ledger.ledger import Ledger

    ledger = Ledger.replay(file, into, progress=_progress("replaying"))
    try:
        report = ledger.verify()
    finally:
        ledger.close()
    from sqlalchemy.engine import make_url

    data = {"into": make_url(into).render_as_string(hide_password=True), **report.to_dict()}
    emit(
        data,
        lambda: click.echo(
            f"replayed {report.entries} entries; database verifies "
            f"{'ok' if report.ok else 'NOT ok'}; chain head seq {report.last_seq} "
            f"{report.last_hash}"
        ),
    )
    if not report.ok:
        raise SystemExit(1)


COMMANDS = [journal]

"""The ``jiaolong`` root command: global options, error handling, command registration."""

from __future__ import annotations

import logging
from typing import Any

import click

from jiaolong_ledger.cli.common import DEFAULT_DB_URL, CliState, fail
from jiaolong_ledger.errors import LedgerError


class LedgerGroup(click.Group):
    """Turns every LedgerError into ``error: CODE: message`` and its exit code (1, 2 or 3),
    including those raised while options are parsed (a TIMESTAMP, a --db URL)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LedgerError as error:
            fail(error)


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_url",
    envvar="JIAOLONG_DB_URL",
    default=DEFAULT_DB_URL,
    show_default=True,
    help="Database URL (sqlite:///file.db or postgresql+psycopg://...); env JIAOLONG_DB_URL.",
)
@click.option(
    "--log-format",
    type=click.Choice(["console", "json"]),
    default="console",
    show_default=True,
    help="How structured log events are written to stderr.",
)
@click.option("--json", "json_output", is_flag=True, help="Print machine-readable JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Log every posted entry (info level).")
@click.version_option(package_name="jiaolong-ledger")
@click.pass_context
def cli(ctx: click.Context, db_url: str, log_format: str, json_output: bool, verbose: bool) -> None:
    """jiaolong-ledger: double-entry settlement ledger and clearing engine.

    Exit codes: 0 ok, 1 a ledger rule was violated or verification failed, 2 usage or input
    error (a missing file, a malformed --db URL, no ledger at --db), 3 the work was committed
    but an output file could not be written (the message says how to write it again).

    Read-only commands never create a database: db upgrade (or any write command) does.

    TIMESTAMP options take ISO 8601 with Z or an offset (2026-11-30T09:00:00+08:00); a bare
    date (2026-11-30) means 00:00 UTC of that day; a time without an offset is refused.
    """
    from jiaolong_ledger.logs import configure

    configure(log_format, logging.INFO if verbose else logging.WARNING)
    obj = ctx.ensure_object(CliState)
    obj.db_url = db_url
    obj.json = obj.json or json_output


def _register() -> None:
    from jiaolong_ledger.cli import clearing, core, demo, escrow, events, financing, fx, journal

    for module in (core, fx, escrow, events, clearing, financing, journal, demo):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="jiaolong")

"""`jiaolong clearing`: register participants, submit obligations, cut off, settle, report."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import click

from jiaolong_ledger.cli.common import (
    TIMESTAMP,
    emit,
    json_option,
    parse_timestamp,
    progress,
    read_jsonl,
    state,
    table,
)
from jiaolong_ledger.errors import InvalidInputError, LedgerError

SUBMIT_BATCH_SIZE: Final = 10_000
"""Obligations per transaction when submitting a file (each batch is atomic)."""

_OBLIGATION_FIELDS: Final = ("payer", "payee", "amount", "currency", "reference")


@click.group("clearing")
def clearing_group() -> None:
    """Clearing: participants, obligations, cut-off, netting and settlement."""


@clearing_group.command("register")
@click.argument("name")
@click.option("--currency", required=True, help="Settlement currency (ISO 4217).")
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="CCY=CODE",
    help="Settlement account for a currency, if not participant:<name>:cash:<CCY>.",
)
@click.option("--legal-name", help="Name on payment instructions.")
@click.option("--country", help="ISO 3166 alpha-2 country code.")
@click.option("--iban", help="IBAN of the participant's bank account.")
@click.option("--other-id", help="Account number where there is no IBAN (e.g. CN, LA).")
@click.option("--bic", help="BIC of the participant's bank.")
@json_option
def register(
    name: str,
    currency: str,
    accounts: tuple[str, ...],
    legal_name: str | None,
    country: str | None,
    iban: str | None,
    other_id: str | None,
    bic: str | None,
) -> None:
    """Register participant NAME (or replace its details)."""
    overrides = {}
    for item in accounts:
        account_currency, separator, code = item.partition("=")
        if not separator:
            raise InvalidInputError(f"--account must be CCY=CODE, got {item!r}", field="account")
        overrides[account_currency] = code
    participant = (
        state()
        .ledger()
        .clearing.register_participant(
            name,
            currency,
            accounts=overrides,
            legal_name=legal_name,
            country=country,
            iban=iban,
            bic=bic,
            other_id=other_id,
        )
    )
    emit(participant.to_dict(), lambda: click.echo(f"registered {participant.name}"))


@clearing_group.command("participants")
@json_option
def list_participants() -> None:
    """List registered participants."""
    found = state().ledger().clearing.participants()

    def human() -> None:
        table(
            ["participant", "settles in", "account id", "bic", "country"],
            [
                [
                    p.name,
                    p.settlement_currency,
                    p.iban or p.other_id or "-",
                    p.bic or "-",
                    p.country or "-",
                ]
                for p in found
            ],
        )

    emit([p.to_dict() for p in found], human)


def _request(number: int, obj: dict[str, Any]) -> Any:
    from jiaolong_ledger.clearing import ObligationRequest
    from jiaolong_ledger.money import money

    missing = [name for name in _OBLIGATION_FIELDS if name not in obj]
    if missing:
        raise InvalidInputError(
            f"line {number}: missing {', '.join(missing)}", line=number, missing=missing
        )
    if not isinstance(obj["amount"], str):
        raise InvalidInputError(
            f'line {number}: amount must be a decimal string such as "100.00"', line=number
        )
    try:
        return ObligationRequest(
            payer=str(obj["payer"]),
            payee=str(obj["payee"]),
            amount=money(obj["amount"], str(obj["currency"])),
            reference=str(obj["reference"]),
            settlement_currency=obj.get("settlement_currency"),
            at=parse_timestamp(obj.get("at"), "at"),
        )
    except LedgerError as error:
        error.details.setdefault("line", number)
        error.message = f"line {number}: {error.message}"
        raise


@clearing_group.command("submit")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@json_option
def submit(file: str) -> None:
    """Submit obligations from FILE (JSON Lines; - for stdin) to the open cycle.

    Each line: {"payer", "payee", "amount": "100.00", "currency", "reference"} and optionally
    "settlement_currency" and "at". A known reference with the same content is skipped. The
    file goes in batches of 10,000, each atomic; re-running a file is safe.
    """
    clearing = state().ledger().clearing
    accepted = duplicates = 0
    cycles: dict[int, int] = {}
    batch: list[Any] = []

    def flush() -> None:
        nonlocal accepted, duplicates
        if batch:
            result = clearing.submit_many(batch)
            accepted += result.accepted
            duplicates += result.duplicates
            for cycle, count in result.cycles.items():
                cycles[cycle] = cycles.get(cycle, 0) + count
            batch.clear()

    for number, obj in read_jsonl(file):
        batch.append(_request(number, obj))
        if len(batch) >= SUBMIT_BATCH_SIZE:
            flush()
    flush()
    data = {
        "accepted": accepted,
        "duplicates": duplicates,
        "cycles": {str(k): v for k, v in sorted(cycles.items())},
    }
    emit(
        data,
        lambda: click.echo(
            f"submitted {accepted} obligations ({duplicates} duplicates skipped); "
            + ", ".join(f"cycle {k}: {v}" for k, v in sorted(cycles.items()))
        ),
    )


@clearing_group.command("cutoff")
@click.option("--at", type=TIMESTAMP, help="Cut-off instant (default now; not in the future).")
@json_option
def cutoff(at: datetime | None) -> None:
    """Freeze the open cycle and open the next one."""
    clearing = state().ledger().clearing
    frozen = clearing.cutoff(at)
    opened = clearing.open_cycle()
    data = {"frozen": frozen.to_dict(), "open": opened.to_dict()}
    at_text = frozen.cutoff_at.isoformat() if frozen.cutoff_at else "-"
    emit(
        data,
        lambda: click.echo(
            f"cycle {frozen.id} frozen at {at_text} with {frozen.obligations} obligations; "
            f"cycle {opened.id} is open"
        ),
    )


@clearing_group.command("cycles")
@json_option
def list_cycles() -> None:
    """List clearing cycles."""
    found = state().ledger().clearing.cycles()

    def human() -> None:
        table(
            ["cycle", "status", "opened", "cut-off", "settled", "obligations"],
            [
                [
                    str(c.id),
                    c.status,
                    c.opened_at.isoformat(timespec="seconds"),
                    c.cutoff_at.isoformat(timespec="seconds") if c.cutoff_at else "-",
                    c.settled_at.isoformat(timespec="seconds") if c.settled_at else "-",
                    str(c.obligations),
                ]
                for c in found
            ],
            right={0, 5},
        )

    emit([c.to_dict() for c in found], human)


@clearing_group.command("settle")
@click.argument("cycle", type=int)
@click.option("--dry-run", is_flag=True, help="Compute and report; post nothing.")
@click.option(
    "--iso20022",
    "iso_dir",
    type=click.Path(file_okay=False),
    help="Write the instructions as ISO 20022 pain.001.001.09 into this directory.",
)
@click.option(
    "--report", "report_file", type=click.Path(dir_okay=False), help="Write the report (JSON)."
)
@click.option("--convert", is_flag=True, help="Value positions in settlement currencies.")
@json_option
def settle(
    cycle: int, dry_run: bool, iso_dir: str | None, report_file: str | None, convert: bool
) -> None:
    """Net, check funding (unwinding short participants) and settle CYCLE in one transaction."""
    clearing = state().ledger().clearing
    run = clearing.settlement(cycle, dry_run=dry_run, convert=convert)
    label = f"{'dry run of' if dry_run else 'settling'} cycle {cycle}"
    for _stage in progress(run, total=len(run), label=label):
        pass
    report = run.report
    assert report is not None
    _outputs(clearing, report, iso_dir, report_file)


@clearing_group.command("report")
@click.argument("cycle", type=int)
@click.option("--convert", is_flag=True, help="Value positions in settlement currencies.")
@click.option(
    "--iso20022",
    "iso_dir",
    type=click.Path(file_okay=False),
    help="Write the instructions as ISO 20022 pain.001.001.09 into this directory.",
)
@json_option
def report_command(cycle: int, convert: bool, iso_dir: str | None) -> None:
    """The report of CYCLE: stored if settled, else a dry-run preview."""
    clearing = state().ledger().clearing
    _outputs(clearing, clearing.report(cycle, convert=convert), iso_dir, None)


def _outputs(clearing: Any, report: Any, iso_dir: str | None, report_file: str | None) -> None:
    data = report.to_dict()
    if iso_dir:
        data["iso20022"] = (
            str(clearing.export_iso20022(report, iso_dir)) if report.instructions else None
        )
    if report_file:
        Path(report_file).write_text(
            json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    emit(data, lambda: render_report(report, data.get("iso20022"), iso_asked=bool(iso_dir)))


def render_report(report: Any, iso_file: str | None = None, *, iso_asked: bool = False) -> None:
    """The report as readable tables."""
    from jiaolong_ledger.clearing.render import report_lines

    for line in report_lines(report):
        click.echo(line)
    if iso_file:
        click.echo(f"\nISO 20022 instructions: {iso_file}")
    elif iso_asked:
        click.echo("\nno settlement instructions: no ISO 20022 file written")


COMMANDS: list[click.Command] = [clearing_group]

"""`jiaolong clearing`: register participants, submit obligations, cut off, settle, report."""

from __future__ import annotations

import itertools
import json
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import click

from jiaolong_ledger.clearing.digest import digest_of, frozen_set, jsonl_lines
from jiaolong_ledger.clearing.model import OBLIGATION_CANCELLED
from jiaolong_ledger.clearing.tables import CYCLE_OPEN, CYCLE_SETTLED
from jiaolong_ledger.clearing.unwind import UNWIND_MODES
from jiaolong_ledger.cli.common import (
    TIMESTAMP,
    check_output_path,
    emit,
    json_option,
    progress,
    state,
    table,
    writing_after_commit,
)
from jiaolong_ledger.errors import CycleNotFrozenError, InvalidInputError, LedgerError
from jiaolong_ledger.intake import json_lines

SUBMIT_BATCH_SIZE: Final = 10_000
"""Obligations per ``submit_many`` call when submitting a file (all in one transaction)."""


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
@click.option(
    "--net-debit-cap",
    "caps",
    multiple=True,
    metavar="CCY=AMOUNT",
    help="Largest net debit a cycle settles for NAME in CCY (repeatable; replaces its caps).",
)
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
    caps: tuple[str, ...],
) -> None:
    """Register participant NAME (or replace its details; its caps only with --net-debit-cap)."""
    net_debit_caps = _caps(caps) if caps else None
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
            net_debit_caps=net_debit_caps,
        )
    )
    emit(participant.to_dict(), lambda: click.echo(f"registered {participant.name}"))


def _caps(items: tuple[str, ...]) -> dict[str, Any]:

    caps: dict[str, Any] = {}
    for item in items:
        cap_currency, separator, amount = item.partition("=")
        if not separator or cap_currency in caps:
            raise InvalidInputError(
                f"--net-debit-cap must be CCY=AMOUNT, once per currency, got {item!r}",
                field="net_debit_cap",
            )
        caps[cap_currency] = _amount(amount, cap_currency)
    return caps


def _amount(text: str, currency: str) -> Any:
    from jiaolong_ledger.clearing.requests import AMOUNT_TEXT_RE
    from jiaolong_ledger.money import money

    if not AMOUNT_TEXT_RE.fullmatch(text):
        raise InvalidInputError(
            f'amount must be a decimal string such as "100.00", got {text[:48]!r}',
            field="amount",
        )
    return money(text, currency)


@clearing_group.command("set-cap")
@click.argument("participant")
@click.argument("currency")
@click.argument("amount")
@json_option
def set_cap(participant: str, currency: str, amount: str) -> None:
    """Set PARTICIPANT's net debit cap in CURRENCY to AMOUNT (``none`` removes the cap)."""
    cap = None if amount.lower() == "none" else _amount(amount, currency)
    found = state().ledger().clearing.set_net_debit_cap(participant, currency, cap)
    shown = found.to_dict()["net_debit_caps"].get(currency)
    emit(
        found.to_dict(),
        lambda: click.echo(
            f"{participant}: net debit cap in {currency} "
            + (f"set to {shown}" if shown is not None else "removed")
        ),
    )


@clearing_group.command("cancel")
@click.argument("reference")
@json_option
def cancel(reference: str) -> None:
    """Cancel obligation REFERENCE before its cut-off (again: nothing changes)."""
    found = state().ledger().clearing.cancel(reference)
    at = found.cancelled_at.isoformat() if found.cancelled_at else "-"
    emit(
        found.to_dict(),
        lambda: click.echo(f"obligation {reference} cancelled at {at} (cycle {found.cycle_id})"),
    )


@clearing_group.command("obligations")
@click.argument("cycle", type=int)
@json_option
def list_obligations(cycle: int) -> None:
    """Every obligation of CYCLE: in it, cancelled from it, or carried on by its settlement."""
    found = state().ledger().clearing.obligations(cycle, include_deferred=True)

    def human() -> None:
        table(
            ["reference", "payer", "payee", "amount", "ccy", "priority", "status", "submitted"],
            [
                [
                    o.reference,
                    o.payer,
                    o.payee,
                    o.to_dict()["amount"],
                    o.currency,
                    o.priority,
                    o.status + (f" ({o.deferred_reason})" if o.deferred_reason else ""),
                    o.submitted_at.isoformat(timespec="seconds"),
                ]
                for o in found
            ],
            right={3},
        )

    emit([o.to_dict() for o in found], human)


@clearing_group.command("participants")
@json_option
def list_participants() -> None:
    """List registered participants."""
    found = state().ledger().clearing.participants()

    def human() -> None:
        table(
            ["participant", "settles in", "account id", "bic", "country", "net debit caps"],
            [
                [
                    p.name,
                    p.settlement_currency,
                    p.iban or p.other_id or "-",
                    p.bic or "-",
                    p.country or "-",
                    ", ".join(f"{c} {a}" for c, a in p.to_dict()["net_debit_caps"].items()) or "-",
                ]
                for p in found
            ],
        )

    emit([p.to_dict() for p in found], human)


@clearing_group.command("submit")
@click.argument("file", type=click.Path(allow_dash=True))
@json_option
def submit(file: str) -> None:
    """Submit obligations from FILE (JSON Lines; - for stdin) to the open cycle.

    Each line: {"payer", "payee", "amount": "100.00", "currency", "reference"} and optionally
    "settlement_currency", "at" (with its offset, e.g. "2026-11-30T09:00:00Z") and "priority"
    ("urgent" or "normal", the default; urgent ones are deferred last). Any other
    field, a number where a string belongs or a bad line refuses the file (exit 2). The whole
    file is one transaction: on any refusal nothing is submitted. A known reference with the
    same content is skipped, so running a file again is safe.
    """
    from jiaolong_ledger.clearing.requests import obligation_request

    totals = _Totals()
    lines = json_lines(file, what="obligations file")
    # A missing or unreadable file is refused before the ledger is opened (or created).
    first = next(lines, None)
    with state().ledger().clearing.transaction() as book:
        batch: list[tuple[int, Any]] = []
        for number, obj in itertools.chain([first] if first else [], lines):
            batch.append((number, obligation_request(obj, number)))
            if len(batch) >= SUBMIT_BATCH_SIZE:
                totals.add(_submit_batch(book, batch))
                batch = []
        if batch:
            totals.add(_submit_batch(book, batch))
    data = {
        "accepted": totals.accepted,
        "duplicates": totals.duplicates,
        "cycles": {str(k): v for k, v in sorted(totals.cycles.items())},
    }
    emit(
        data,
        lambda: click.echo(
            f"submitted {totals.accepted} obligations ({totals.duplicates} duplicates skipped)"
            + "".join(f"; cycle {k}: {v}" for k, v in sorted(totals.cycles.items()))
        ),
    )


@dataclass
class _Totals:
    accepted: int = 0
    duplicates: int = 0
    cycles: dict[int, int] = field(default_factory=dict)

    def add(self, result: Any) -> None:
        self.accepted += result.accepted
        self.duplicates += result.duplicates
        for cycle, count in result.cycles.items():
            self.cycles[cycle] = self.cycles.get(cycle, 0) + count


def _submit_batch(book: Any, batch: list[tuple[int, Any]]) -> Any:
    try:
        return book.submit_many([request for _, request in batch])
    except LedgerError as error:
        number = _line_of(error, batch)
        if number is not None:
            error.message = f"line {number}: {error.message}"
            error.details.setdefault("line", number)
        error.message += " (nothing from the file was submitted)"
        raise


def _line_of(error: LedgerError, batch: list[tuple[int, Any]]) -> int | None:
    """The line a book's refusal is about: by its index in the batch, else by the reference
    or the participant it names."""
    index = error.details.get("index")
    if isinstance(index, int) and 0 <= index < len(batch):
        return batch[index][0]
    reference = error.details.get("reference")
    participant = error.details.get("participant")
    for number, request in batch:
        if reference is not None and request.reference == reference:
            return number
        if participant is not None and participant in (request.payer, request.payee):
            return number
    return None


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


UNWIND_OPTION: Final = click.option(
    "--unwind",
    type=click.Choice(UNWIND_MODES),
    default=None,
    help="What gives way when a net payer cannot fund its debit (default: obligations).",
)


@clearing_group.command("settle")
@click.argument("cycle", type=int)
@click.option("--dry-run", is_flag=True, help="Compute and report; post nothing.")
@click.option(
    "--iso20022",
    "iso_dir",
    type=click.Path(),
    help="Write the instructions as ISO 20022 pain.001.001.09 into this (existing) directory.",
)
@click.option("--report", "report_file", type=click.Path(), help="Write the report (JSON).")
@click.option("--convert", is_flag=True, help="Value positions in settlement currencies.")
@UNWIND_OPTION
@json_option
def settle(
    cycle: int,
    dry_run: bool,
    iso_dir: str | None,
    report_file: str | None,
    convert: bool,
    unwind: str | None,
) -> None:
    """Net, check funding (unwinding short participants) and settle CYCLE in one transaction.

    The output paths are checked before anything is settled; if a file still cannot be
    written after the commit, the command says so (exit 3) and names the command that writes
    it again."""
    outputs = Outputs.checked(cycle, iso_dir, report_file, mode=DRY_RUN if dry_run else SETTLE)
    clearing = state().ledger().clearing
    run = clearing.settlement(cycle, dry_run=dry_run, convert=convert, **_unwind(unwind))
    label = f"{'dry run of' if dry_run else 'settling'} cycle {cycle}"
    for _stage in progress(run, total=len(run), label=label):
        pass
    report = run.report
    assert report is not None
    outputs.write(clearing, report)


@clearing_group.command("report")
@click.argument("cycle", type=int)
@click.option("--convert", is_flag=True, help="Value positions in settlement currencies.")
@click.option(
    "--iso20022",
    "iso_dir",
    type=click.Path(),
    help="Write the instructions as ISO 20022 pain.001.001.09 into this (existing) directory.",
)
@UNWIND_OPTION
@json_option
def report_command(cycle: int, convert: bool, iso_dir: str | None, unwind: str | None) -> None:
    """The report of CYCLE: stored if settled, else a dry-run preview."""
    outputs = Outputs.checked(cycle, iso_dir, None, mode=REPORT)
    clearing = state().ledger().clearing
    outputs.write(clearing, clearing.report(cycle, convert=convert, **_unwind(unwind)))


@clearing_group.command("export-iso20022")
@click.argument("cycle", type=int)
@click.argument("directory", type=click.Path())
@json_option
def export_iso20022(cycle: int, directory: str) -> None:
    """Write settled CYCLE's instructions as ISO 20022 pain.001.001.09 into DIRECTORY, from the
    report stored at settlement (the same file ``settle --iso20022`` writes)."""
    check_output_path(directory, directory=True)
    clearing = state().ledger().clearing
    if clearing.cycle(cycle).status != CYCLE_SETTLED:
        raise InvalidInputError(
            f"cycle {cycle} is not settled; jiaolong clearing report {cycle} --iso20022 "
            f"{shlex.quote(directory)} previews its instructions",
            cycle=cycle,
        )
    report = clearing.report(cycle)
    written = None
    if report.instructions:
        rerender = f"jiaolong clearing export-iso20022 {cycle} {shlex.quote(directory)}"
        with writing_after_commit(f"nothing was committed (export of cycle {cycle})", rerender):
            written = _write_iso(clearing, report, directory)
    data = {"cycle": cycle, "iso20022": written}

    def human() -> None:
        if written:
            click.echo(f"ISO 20022 instructions: {written}")
        else:
            click.echo(f"cycle {cycle} has no settlement instructions: no file written")

    emit(data, human)


@clearing_group.command("export-obligations")
@click.argument("cycle", type=int)
@click.argument("file", type=click.Path())
@json_option
def export_obligations(cycle: int, file: str) -> None:
    """Write CYCLE's frozen obligation set to FILE as JSON Lines (sorted by reference), from
    which the digest of its ``cycle_cutoff`` journal record recomputes (docs/audit-guide.md)."""
    check_output_path(file)
    clearing = state().ledger().clearing
    if clearing.cycle(cycle).status == CYCLE_OPEN:
        raise CycleNotFrozenError(
            f"cycle {cycle} is still open: it has no frozen obligation set until "
            "jiaolong clearing cutoff",
            cycle=cycle,
        )
    found = clearing.obligations(cycle, include_deferred=True)
    frozen = frozen_set(o for o in found if o.status != OBLIGATION_CANCELLED)
    rerender = f"jiaolong clearing export-obligations {cycle} {shlex.quote(file)}"
    nothing = f"nothing was committed (export of cycle {cycle})"
    with (
        writing_after_commit(nothing, rerender),
        open(file, "w", encoding="utf-8", newline="\n") as out,
    ):
        out.writelines(jsonl_lines(frozen))
    data = {"cycle": cycle, "obligations": len(frozen), "digest": digest_of(frozen), "file": file}
    emit(
        data,
        lambda: click.echo(
            f"cycle {cycle}: {len(frozen)} obligations written to {file} (digest {data['digest']})"
        ),
    )


def _unwind(unwind: str | None) -> dict[str, str]:
    return {} if unwind is None else {"unwind": unwind}


def _write_iso(clearing: Any, report: Any, directory: str) -> str:
    """The pain.001 file; a settled cycle's is stamped with its settlement time, so writing it
    again gives the same message (the same MsgId), never a second payment order."""
    created_at = None if report.dry_run else report.settled_at
    return str(clearing.export_iso20022(report, directory, created_at=created_at))


SETTLE: Final = "settle"
DRY_RUN: Final = "dry-run"
REPORT: Final = "report"


@dataclass(frozen=True)
class Outputs:
    """The files a settlement (``settle``), a dry run or a report writes, checked before
    anything is committed; a write that fails afterwards names what was committed and the
    command(s) that write the file(s) again."""

    cycle: int
    iso_dir: str | None
    report_file: str | None
    mode: str

    @classmethod
    def checked(
        cls, cycle: int, iso_dir: str | None, report_file: str | None, *, mode: str
    ) -> Outputs:
        if iso_dir is not None:
            check_output_path(iso_dir, directory=True)
        if report_file is not None:
            check_output_path(report_file)
        return cls(cycle, iso_dir, report_file, mode)

    def write(self, clearing: Any, report: Any) -> None:
        data = report.to_dict()
        if self.iso_dir is not None:
            with writing_after_commit(self._committed(), self._rerender(iso=True)):
                data["iso20022"] = (
                    _write_iso(clearing, report, self.iso_dir) if report.instructions else None
                )
        if self.report_file is not None:
            with writing_after_commit(self._committed(), self._rerender(iso=False)):
                Path(self.report_file).write_text(
                    json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
                )
        iso_asked = self.iso_dir is not None
        emit(data, lambda: render_report(report, data.get("iso20022"), iso_asked=iso_asked))

    def _committed(self) -> str:
        if self.mode == SETTLE:
            return f"cycle {self.cycle} settled"
        return f"nothing was committed ({self.mode} of cycle {self.cycle})"

    def _rerender(self, *, iso: bool) -> str:
        """The command(s) that write what is still unwritten (with ``iso``: the ISO file and,
        after it, the report file)."""
        cycle = self.cycle
        commands = []
        if iso and self.iso_dir is not None:
            directory = shlex.quote(self.iso_dir)
            commands.append(
                f"jiaolong clearing export-iso20022 {cycle} {directory}"
                if self.mode == SETTLE
                else f"jiaolong clearing report {cycle} --iso20022 {directory}"
            )
        if self.report_file is not None:
            target = shlex.quote(self.report_file)
            commands.append(
                f"jiaolong clearing report {cycle} --json > {target}"
                if self.mode == SETTLE
                else f"jiaolong clearing settle {cycle} --dry-run --report {target}"
            )
        return " and ".join(commands)


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

"""``jiaolong events ingest FILE``: adapter events (SPEC §2) from JSON Lines.

The file is read through the intake layer (:func:`jiaolong_ledger.intake.json_lines`) and the
whole of it is validated before anything is applied: a line the intake refuses (not UTF-8,
malformed or too deep JSON, a duplicate key, too long) is ``INVALID_INPUT`` naming the line; an
event the models refuse (an unknown or misspelt field, a number where a string belongs, a
timestamp without its offset) is ``INVALID_EVENT`` naming the line and the field. Either way
the command exits 2 and nothing is written.

Then the events are applied in file order, in batches of ``--batch-size`` events, each batch one
unit of work (all or none). A rejected event stops the run with its line number: its batch is
rolled back, earlier batches stay committed. Every event is idempotent on its own identity (an
order, a dispute, a milestone, the content of a financing event), so running the same file
again after an interruption or a fix finishes the work: what was applied is a no-op the second
time, what was not is applied.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import click

from jiaolong_ledger.cli.common import emit, json_option, progress, state
from jiaolong_ledger.errors import InvalidEventError, LedgerError
from jiaolong_ledger.intake import json_lines
from jiaolong_ledger.limits import INGEST_BATCH_MAX

BATCH_SIZE_DEFAULT = 1_000


def read_events(path: str) -> list[tuple[int, Any]]:
    """``(line number, event model)`` for every event of the file; refuses the first bad line."""
    from jiaolong_ledger.adapters import parse_event

    parsed: list[tuple[int, Any]] = []
    for number, obj in json_lines(path, what="events file"):
        try:
            parsed.append((number, parse_event(obj)))
        except InvalidEventError as error:
            error.message = f"line {number}: {error.message}"
            error.details["line"] = number
            raise
    return parsed


@click.group()
def events() -> None:
    """Adapter events (OrderPlaced, EscrowFunded, MilestoneReached, ...) as JSON Lines."""


@events.command("ingest")
@click.argument("file", type=click.Path(allow_dash=True))
@click.option(
    "--batch-size",
    type=click.IntRange(1, INGEST_BATCH_MAX),
    default=BATCH_SIZE_DEFAULT,
    show_default=True,
    help="Events per transaction (1 commits each event on its own).",
)
@json_option
def events_ingest(file: str, batch_size: int) -> None:
    """Apply the events in FILE (JSON Lines, one event object per line; '-' for stdin).

    The whole file is checked first (exit 2, nothing written, on a bad line). Running the same
    file again is safe and finishes an interrupted run."""
    from jiaolong_ledger.adapters import ingest_many

    parsed = read_events(file)
    ledger = state().ledger()
    counts: Counter[str] = Counter()
    batches = [parsed[start : start + batch_size] for start in range(0, len(parsed), batch_size)]
    for batch in progress(batches, len(batches), "ingesting events"):
        try:
            ingest_many(ledger, [event for _, event in batch])
        except LedgerError as error:
            _name_the_line(error, batch, sum(counts.values()))
            raise
        counts.update(event.type for _, event in batch)
    data = {"events": sum(counts.values()), "by_type": dict(sorted(counts.items()))}

    def human() -> None:
        detail = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        click.echo(f"ingested {data['events']} events" + (f" ({detail})" if detail else ""))

    emit(data, human)


def _name_the_line(error: LedgerError, batch: list[tuple[int, Any]], committed: int) -> None:
    index = error.details.get("index")
    if isinstance(index, int) and 0 <= index < len(batch):
        where: dict[str, Any] = {"line": batch[index][0]}
        label = f"line {batch[index][0]}"
    else:  # not one event's fault (e.g. the database went away): name the batch
        where = {"lines": [batch[0][0], batch[-1][0]]}
        label = f"lines {batch[0][0]}-{batch[-1][0]}"
    error.message = (
        f"{label}: {error.message} ({committed} earlier events were committed; "
        f"the {len(batch)} events of this batch were rolled back; run the file again once "
        "the cause is fixed: events already applied are skipped)"
    )
    error.details.update(where, committed=committed)


COMMANDS: list[click.Command] = [events]

"""``jiaolong events ingest FILE``: adapter events (SPEC §2) from JSON Lines.

The whole file is parsed and validated first: a malformed line is ``INVALID_EVENT`` naming the
line and the field, and nothing is ingested. Then the events are applied in file order, in
batches of ``--batch-size`` events, each batch one ledger transaction (all or none). A rejected
event stops the run with its line number: its batch is rolled back, earlier batches stay
committed. A file no longer than one batch is therefore all or nothing; events are idempotent,
so re-running a corrected file is always safe.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import click

from jiaolong_ledger.cli.common import emit, json_option, progress, read_jsonl, state
from jiaolong_ledger.errors import InvalidEventError, InvalidInputError, LedgerError
from jiaolong_ledger.limits import INGEST_BATCH_MAX

BATCH_SIZE_DEFAULT = 1_000


def _parse_file(path: str) -> list[tuple[int, Any]]:
    from jiaolong_ledger.adapters import parse_event

    parsed: list[tuple[int, Any]] = []
    lines = read_jsonl(path)
    while True:
        try:
            number, obj = next(lines)
        except StopIteration:
            return parsed
        except InvalidInputError as error:
            raise InvalidEventError(error.message, **error.details) from None
        try:
            parsed.append((number, parse_event(obj)))
        except InvalidEventError as error:
            error.message = f"line {number}: {error.message}"
            error.details["line"] = number
            raise


@click.group()
def events() -> None:
    """Adapter events (OrderPlaced, EscrowFunded, MilestoneReached, ...) as JSON Lines."""


@events.command("ingest")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--batch-size",
    type=click.IntRange(1, INGEST_BATCH_MAX),
    default=BATCH_SIZE_DEFAULT,
    show_default=True,
    help="Events per transaction (1 commits each event on its own).",
)
@json_option
def events_ingest(file: str, batch_size: int) -> None:
    """Apply the events in FILE (JSON Lines, one event object per line; '-' for stdin)."""
    from jiaolong_ledger.adapters import ingest_many

    parsed = _parse_file(file)
    ledger = state().ledger()
    counts: Counter[str] = Counter()
    batches = [parsed[start : start + batch_size] for start in range(0, len(parsed), batch_size)]
    for batch in progress(batches, len(batches), "ingesting events"):
        try:
            ingest_many(ledger, [event for _, event in batch])
        except LedgerError as error:
            number = batch[error.details.get("index", 0)][0]
            committed = sum(counts.values())
            error.message = (
                f"line {number}: {error.message} ({committed} earlier events were committed; "
                f"the {len(batch)} events of this batch were rolled back)"
            )
            error.details.update(line=number, committed=committed)
            raise
        counts.update(event.type for _, event in batch)
    data = {"events": sum(counts.values()), "by_type": dict(sorted(counts.items()))}

    def human() -> None:
        detail = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        click.echo(f"ingested {data['events']} events" + (f" ({detail})" if detail else ""))

    emit(data, human)


COMMANDS: list[click.Command] = [events]

"""``jiaolong events ingest FILE``: adapter events (SPEC §2) from JSON Lines.

The whole file is parsed and validated first: a malformed line is ``INVALID_EVENT`` naming the
line and the field, and nothing is ingested. Then each event is applied in file order, each in
its own ledger transaction; the first rejected event stops the run with its line number (the
events before it stay applied; events are idempotent, so re-running the corrected file is safe).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import click

from jiaolong_ledger.cli.common import emit, json_option, progress, read_jsonl, state
from jiaolong_ledger.errors import InvalidEventError, InvalidInputError, LedgerError


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
@json_option
def events_ingest(file: str) -> None:
    """Apply the events in FILE (JSON Lines, one event object per line; '-' for stdin)."""
    from jiaolong_ledger.adapters import ingest

    parsed = _parse_file(file)
    ledger = state().ledger()
    counts: Counter[str] = Counter()
    for number, event in progress(parsed, len(parsed), "ingesting events"):
        try:
            ingest(ledger, event)
        except LedgerError as error:
            error.message = (
                f"line {number}: {error.message} "
                f"({sum(counts.values())} earlier events were applied)"
            )
            error.details.update(line=number, applied=sum(counts.values()))
            raise
        counts[event.type] += 1
    data = {"events": sum(counts.values()), "by_type": dict(sorted(counts.items()))}

    def human() -> None:
        detail = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        click.echo(f"ingested {data['events']} events" + (f" ({detail})" if detail else ""))

    emit(data, human)


COMMANDS: list[click.Command] = [events]

"""Journal export. JSON Lines is the stored, hashed text itself (SPEC §5), streamed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from jiaolong_ledger.errors import InvalidInputError

if TYPE_CHECKING:
    from jiaolong_ledger.ledger import Ledger

FORMATS = ("jsonl",)


def export_journal(ledger: Ledger, path: str | Path, format: str = "jsonl", **options: Any) -> int:
    if format not in FORMATS:
        raise InvalidInputError(f"unknown export format {format!r}", format=format, formats=FORMATS)
    if str(path) == "-":
        return write_jsonl(ledger, sys.stdout, **options)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        return write_jsonl(ledger, handle, **options)


def write_jsonl(
    ledger: Ledger, handle: TextIO, start_seq: int = 1, end_seq: int | None = None
) -> int:
    count = 0
    for line in ledger.journal_lines(start_seq, end_seq):
        handle.write(line)
        handle.write("\n")
        count += 1
    return count

"""Streaming verification of the journal, from an exported JSON Lines file or from a database.

One pass in ``seq`` order, memory flat (keys go through :class:`~.keys.KeyRegistry`; the only
other state is one small record per account and per still-pending entry). For every line:

- ``seq`` is the next one (``SEQ_BROKEN`` names the first missing or misplaced seq);
- ``prev_hash`` is the previous line's ``hash`` and ``hash`` is the SHA-256 of ``prev_hash``
  and the line's canonical bytes (``JOURNAL_TAMPERED``). The stored line is canonical JSON with
  the ``hash`` member spliced in, so the fast path hashes the line's own bytes with that member
  cut out; only a line that does not hash that way is re-serialised (a reformatted but
  unchanged file still verifies, just slower);
- the entry is well formed, balances per currency, names open accounts of its currency, links
  two-phase entries to an outstanding pending entry, and its key is unique.

A file of :data:`PARALLEL_MIN_BYTES` or more is cut into chunks on line boundaries that worker
processes check as *segments* (each from its own first line, like a slice); the main process
stitches their results in order: the chain link and seq between chunks, account records,
postings to accounts and resolutions of pending entries the chunk could not judge alone, and
the key buckets. The work per line is all in the workers, so this scales with the cores.

Against a database, the same pass reads the stored lines joined with the structured columns and
posting rows and checks that they agree; then every account's stored posted and pending balances
are compared with the sums of its postings, the pending state table with the journal, the
accounts table with the account records, and the chain head row with the last entry. Every
disagreement there means the stored journal differs from what was written, so each is a
``JOURNAL_TAMPERED`` finding whose ``kind`` detail says which check caught it (``ROW_MISMATCH``,
``BALANCE_MISMATCH``, ``SEQ_BROKEN``, ``HEAD_MISMATCH``), naming the seq, or the account when no
seq is concerned (a balance or account row edited on its own).

Where the parts live: :mod:`.report` (findings, the report, a segment's result),
:mod:`.checker` (:class:`~.checker.JournalChecker`, the pass itself), :mod:`.line_format` (one
line's JSON, hash and amounts), :mod:`.keys` (key uniqueness, spilled to disk) and
:mod:`.verify_db` (:func:`~.verify_db.verify_database`). This module is the file and lines
source: :func:`verify_lines`, :func:`verify_file` and the split of a large file across worker
processes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final

from jiaolong_ledger.audit.checker import JournalChecker
from jiaolong_ledger.audit.keys import KeyResolver
from jiaolong_ledger.audit.line_format import parse_line
from jiaolong_ledger.audit.report import Progress, SegmentResult, VerifyReport

READ_BATCH_BYTES: Final = 1 << 20
CHUNK_BYTES: Final = 8 << 20
"""Bytes of a file checked by one worker task."""
PARALLEL_MIN_BYTES: Final = 32 << 20
"""Files at least this large are checked by several processes by default."""
WORKERS_MAX: Final = 4

# -- sources -------------------------------------------------------------------------------


def _identity(batches: Iterable[Any], _total: int | None) -> Iterable[Any]:
    return batches


def verify_lines(
    lines: Iterable[str | bytes],
    report: VerifyReport | None = None,
    *,
    anchored: bool = False,
    expected_head: str | None = None,
) -> VerifyReport:
    """Verify JSON Lines given as an iterable (re-iterable if duplicates are to be named)."""
    report = report if report is not None else VerifyReport(source="lines")
    checker = JournalChecker(report, anchored=anchored)
    for line in lines:
        if line.strip():
            checker.feed(line)
    resolver = None if iter(lines) is lines else _resolver(lambda: iter(lines))
    checker.finish(resolver, expected_head)
    return report


def _resolver(reopen: Callable[[], Iterator[str | bytes]]) -> KeyResolver:
    def resolve(positions: set[int]) -> dict[int, tuple[int | None, str]]:
        found: dict[int, tuple[int | None, str]] = {}
        position = 0
        for line in reopen():
            if not line.strip():
                continue
            position += 1
            if position in positions:
                try:
                    obj = json.loads(line)
                    found[position] = (obj.get("seq"), str(obj["key"]))
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
        return found

    return resolve


def file_batches(path: str | Path) -> Iterator[list[bytes]]:
    """The file's non-blank lines as bytes, in batches of about a megabyte."""
    with open(path, "rb") as handle:
        while batch := handle.readlines(READ_BATCH_BYTES):
            yield [line for line in batch if line.strip()]


def file_lines(path: str | Path) -> Iterator[bytes]:
    for batch in file_batches(path):
        yield from batch


def verify_file(
    path: str | Path,
    *,
    anchored: bool = False,
    expected_head: str | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> VerifyReport:
    """Verify an exported JSON Lines journal, streaming. ``anchored`` accepts a slice.

    A large file is split into chunks of about ``chunk_bytes`` that ``workers`` processes check
    side by side (default: one per CPU, up to :data:`WORKERS_MAX`, for files of at least
    :data:`PARALLEL_MIN_BYTES` where processes can fork); the chunks' results are stitched in
    order, so the findings are those of a single pass.
    """
    report = VerifyReport(source=str(path))
    checker = JournalChecker(report, anchored=anchored)
    size = Path(path).stat().st_size
    if workers is None:
        workers = _default_workers(size)
    if workers > 1:
        chunks = _chunks(path, size, chunk_bytes)
        context = multiprocessing.get_context("fork")
        tasks = [(str(path), start, end, index) for index, (start, end) in enumerate(chunks)]
        with context.Pool(min(workers, len(tasks))) as pool:
            parts = pool.imap(_check_chunk, tasks)
            for part in (progress or _identity)(parts, len(tasks)):
                checker.absorb(part)
        checker.finish(_chunk_resolver(path, chunks), expected_head)
        return report
    total = max(1, -(-size // READ_BATCH_BYTES)) if size else None
    feed = checker.feed
    for batch in (progress or _identity)(file_batches(path), total):
        for line in batch:
            feed(line)
    checker.finish(_resolver(lambda: file_lines(path)), expected_head)
    return report


def _default_workers(size: int) -> int:
    if size < PARALLEL_MIN_BYTES or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, WORKERS_MAX))


def _chunks(path: str | Path, size: int, chunk_bytes: int) -> list[tuple[int, int]]:
    """Byte ranges of about ``chunk_bytes`` that start and end on line boundaries."""
    starts = [0]
    with open(path, "rb") as handle:
        while starts[-1] + chunk_bytes < size:
            handle.seek(starts[-1] + chunk_bytes)
            handle.readline()
            if handle.tell() >= size:
                break
            starts.append(handle.tell())
    return list(zip(starts, [*starts[1:], size], strict=True))


def _chunk_lines(path: str, start: int, end: int) -> list[bytes]:
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    return [line for line in data.split(b"\n") if line.strip()]


def _check_chunk(task: tuple[str, int, int, int]) -> SegmentResult:
    """Worker: check one chunk as a segment. Positions are ``index << 32 | line number``."""
    path, start, end, index = task
    checker = JournalChecker(VerifyReport(), segment=True, position_base=index << 32)
    feed = checker.feed
    for line in _chunk_lines(path, start, end):
        feed(line)
    return checker.segment_result()


def _chunk_resolver(path: str | Path, chunks: list[tuple[int, int]]) -> KeyResolver:
    def resolve(positions: set[int]) -> dict[int, tuple[int | None, str]]:
        found: dict[int, tuple[int | None, str]] = {}
        for index in sorted({position >> 32 for position in positions}):
            start, end = chunks[index]
            for number, line in enumerate(_chunk_lines(str(path), start, end), start=1):
                position = index << 32 | number
                if position in positions:
                    obj = parse_line(line.strip())
                    if obj is not None and isinstance(obj.get("key"), str):
                        found[position] = (obj.get("seq"), obj["key"])
        return found

    return resolve

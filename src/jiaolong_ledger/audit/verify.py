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

What the file is to the audit (the intake layer's rules, :mod:`jiaolong_ledger.intake`):

- a file that cannot be read at all is an *input error*, ``INVALID_INPUT`` (CLI exit 2), raised
  before anything is checked: it does not exist, is not readable, is not a regular file (a
  directory, a device, a pipe), or a read fails part way;
- everything inside a readable file is *evidence*, so a line the intake layer refuses is a
  *finding* (exit 1), never an error: a ``JOURNAL_TAMPERED`` finding of kind ``MALFORMED_LINE``
  naming the seq the line stands in for, its line number and the intake's reason (not UTF-8, a
  lone surrogate, longer than ``LINE_BYTES_MAX``, nested deeper than ``JSON_DEPTH_MAX``, an
  integer of more than ``INTEGER_DIGITS_MAX`` digits, ``NaN``/``Infinity``, a key twice in one
  object, not JSON, not an object). The writer never writes such a line, so it means the file
  is not what was written; checking goes on with the next line, and the report has every one.

Reading streams in batches of :data:`READ_BATCH_BYTES`; a line longer than ``LINE_BYTES_MAX``
is never held whole (its first bytes stand for it; the rest is skipped), so memory stays flat
whatever the file holds. The worker processes of a large file read their chunks the same way
and feed the same checker, so they apply the same rules; the main process numbers their lines
in the whole file.

Where the parts live: :mod:`.report` (findings, the report, a segment's result),
:mod:`.checker` (:class:`~.checker.JournalChecker`, the pass itself), :mod:`.line_format` (one
line's JSON under the intake rules, hash and amounts), :mod:`.keys` (key uniqueness, spilled to
disk), :mod:`.segments` (a chunk's result and its stitching) and :mod:`.verify_db`
(:func:`~.verify_db.verify_database`). This module is the file and lines source:
:func:`verify_lines`, :func:`verify_file`, the bounded line reader (:func:`open_journal`,
:func:`read_batches`) that replay shares, and the split of a large file across worker processes.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Final

from jiaolong_ledger.audit.checker import JournalChecker
from jiaolong_ledger.audit.keys import KeyResolver
from jiaolong_ledger.audit.line_format import key_of
from jiaolong_ledger.audit.report import Progress, SegmentResult, VerifyReport
from jiaolong_ledger.audit.segments import absorb, segment_result
from jiaolong_ledger.errors import InvalidInputError
from jiaolong_ledger.intake import LINE_BYTES_MAX, open_binary

READ_BATCH_BYTES: Final = 1 << 20
"""Bytes read at a time: the lines of one read are checked as a batch."""
SCAN_BYTES: Final = 1 << 16
"""Bytes read at a time while looking for the end of a line (chunk boundaries)."""
CHUNK_BYTES: Final = 8 << 20
"""Bytes of a file checked by one worker task."""
PARALLEL_MIN_BYTES: Final = 32 << 20
"""Files at least this large are checked by several processes by default."""
WORKERS_MAX: Final = 4

# -- reading ---------------------------------------------------------------------------------


def open_journal(path: str | Path) -> IO[bytes]:
    """The journal file, open for reading (``-``: standard input); ``INVALID_INPUT`` when it
    does not exist, is not readable or is not a regular file."""
    return open_binary(path, what="journal file")


def read_batches(
    handle: IO[bytes], path: str | Path, size: int | None = None
) -> Iterator[list[bytes]]:
    """Every line of ``handle`` (at most ``size`` bytes from where it stands), blank ones
    included and without the newline, in batches of about :data:`READ_BATCH_BYTES`.

    A line longer than ``LINE_BYTES_MAX`` comes as ``LINE_BYTES_MAX + 1`` bytes (the checker
    reports it as too long) while the rest of it is read past, so no line is ever held whole.
    A failing read is ``INVALID_INPUT``.
    """
    carry, skipping, lines_read, remaining = b"", False, 0, size
    while True:
        want = READ_BATCH_BYTES if remaining is None else min(READ_BATCH_BYTES, remaining)
        block = _read(handle, want, path, lines_read + 1) if want else b""
        if not block:
            break
        if remaining is not None:
            remaining -= len(block)
        if skipping:  # inside a line already too long: read on to its end
            at = block.find(b"\n")
            if at < 0:
                continue
            block, skipping = block[at:], False
        lines = (carry + block if carry else block).split(b"\n")
        carry = lines.pop()
        if len(carry) > LINE_BYTES_MAX:
            carry, skipping = carry[:LINE_BYTES_MAX] + b"\0", True
        if lines:
            lines_read += len(lines)
            yield lines
    if carry:
        yield [carry]


def _read(handle: IO[bytes], size: int, path: str | Path, line: int | None) -> bytes:
    try:
        return handle.read(size)
    except OSError as error:
        at = f" (at line {line})" if line is not None else ""
        raise InvalidInputError(
            f"journal file {str(path)!r} cannot be read{at}: {error.strerror or error}",
            path=str(path),
            line=line,
        ) from None


def file_batches(path: str | Path) -> Iterator[list[bytes]]:
    """The lines of the file at ``path`` in batches (see :func:`read_batches`)."""
    handle = open_journal(path)
    try:
        yield from read_batches(handle, path)
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def file_lines(path: str | Path) -> Iterator[bytes]:
    for batch in file_batches(path):
        yield from batch


def _identity(batches: Iterable[Any], _total: int | None) -> Iterable[Any]:
    return batches


def _batch_count(size: int) -> int | None:
    return max(1, -(-size // READ_BATCH_BYTES)) if size else None


# -- sources ---------------------------------------------------------------------------------


def verify_lines(
    lines: Iterable[str | bytes],
    report: VerifyReport | None = None,
    *,
    anchored: bool = False,
    expected_head: str | None = None,
) -> VerifyReport:
    """Verify JSON Lines given as an iterable (re-iterable if duplicates are to be named).

    Each item is one line; blank ones are skipped but counted, so findings name lines by their
    place in ``lines``.
    """
    report = report if report is not None else VerifyReport(source="lines")
    checker = JournalChecker(report, anchored=anchored)
    for line in lines:
        checker.feed(line)
    resolver = None if iter(lines) is lines else _resolver(lambda: iter(lines))
    checker.finish(resolver, expected_head)
    return report


def _resolver(reopen: Callable[[], Iterator[str | bytes]]) -> KeyResolver:
    """Names keys by position: the n-th item of the stream ``reopen()`` gives again."""

    def resolve(positions: set[int]) -> dict[int, tuple[int | None, str]]:
        found: dict[int, tuple[int | None, str]] = {}
        for position, line in enumerate(reopen(), start=1):
            if position in positions:
                raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
                named = key_of(raw)
                if named is not None:
                    found[position] = named
        return found

    return resolve


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

    ``INVALID_INPUT`` when the file cannot be read (see the module's docstring); whatever a
    readable file holds is reported as findings. A large file is split into chunks of about
    ``chunk_bytes`` that ``workers`` processes check side by side (default: one per CPU, up to
    :data:`WORKERS_MAX`, for files of at least :data:`PARALLEL_MIN_BYTES` where processes can
    fork; a file of one chunk is read in one pass, to its end); the chunks' results are
    stitched in order, so the findings are those of a single pass. ``-`` reads standard input,
    in one pass.
    """
    report = VerifyReport(source=str(path))
    checker = JournalChecker(report, anchored=anchored)
    handle = open_journal(path)
    try:
        if handle is sys.stdin.buffer:
            _feed(checker, read_batches(handle, path), progress, None)
            checker.finish(None, expected_head)
            return report
        size = os.fstat(handle.fileno()).st_size
        if workers is None:
            workers = _default_workers(size)
        chunks = _chunks(handle, path, size, chunk_bytes) if workers > 1 else []
        if len(chunks) > 1:
            handle.close()
            _check_in_workers(checker, str(path), chunks, workers, progress)
            checker.finish(_chunk_resolver(path, chunks), expected_head)
            return report
        handle.seek(0)
        _feed(checker, read_batches(handle, path), progress, _batch_count(size))
        checker.finish(_resolver(lambda: file_lines(path)), expected_head)
        return report
    finally:
        checker.keys.close()
        if handle is not sys.stdin.buffer:
            handle.close()


def _feed(
    checker: JournalChecker,
    batches: Iterable[list[bytes]],
    progress: Progress | None,
    total: int | None,
) -> None:
    feed = checker.feed
    for batch in (progress or _identity)(batches, total):
        for line in batch:
            feed(line)


# -- several processes -----------------------------------------------------------------------


def _default_workers(size: int) -> int:
    if size < PARALLEL_MIN_BYTES or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, WORKERS_MAX))


def _chunks(
    handle: IO[bytes], path: str | Path, size: int, chunk_bytes: int
) -> list[tuple[int, int]]:
    """Byte ranges of about ``chunk_bytes`` that start and end on line boundaries."""
    starts = [0]
    while starts[-1] + chunk_bytes < size:
        start = _next_line_start(handle, path, starts[-1] + chunk_bytes)
        if start >= size:
            break
        starts.append(start)
    return list(zip(starts, [*starts[1:], size], strict=True))


def _next_line_start(handle: IO[bytes], path: str | Path, offset: int) -> int:
    """Where the line after the one holding byte ``offset`` starts (the end of the file if
    there is none), read in small blocks."""
    handle.seek(offset)
    while block := _read(handle, SCAN_BYTES, path, None):
        at = block.find(b"\n")
        if at >= 0:
            return offset + at + 1
        offset += len(block)
    return offset


def _check_in_workers(
    checker: JournalChecker,
    path: str,
    chunks: list[tuple[int, int]],
    workers: int,
    progress: Progress | None,
) -> None:
    context = multiprocessing.get_context("fork")
    tasks = [(path, start, end, index) for index, (start, end) in enumerate(chunks)]
    with context.Pool(min(workers, len(tasks))) as pool:
        parts = pool.imap(_check_chunk, tasks)
        for part in (progress or _identity)(parts, len(tasks)):
            absorb(checker, part)


def _chunk_batches(path: str, start: int, end: int) -> Iterator[list[bytes]]:
    handle = open_journal(path)
    try:
        handle.seek(start)
        yield from read_batches(handle, path, end - start)
    finally:
        handle.close()


def _check_chunk(task: tuple[str, int, int, int]) -> SegmentResult:
    """Worker: check one chunk as a segment. Positions are ``index << 32 | line number``."""
    path, start, end, index = task
    checker = JournalChecker(VerifyReport(), segment=True, position_base=index << 32)
    try:
        _feed(checker, _chunk_batches(path, start, end), None, None)
        return segment_result(checker)
    finally:
        checker.keys.close()


def _chunk_resolver(path: str | Path, chunks: list[tuple[int, int]]) -> KeyResolver:
    def resolve(positions: set[int]) -> dict[int, tuple[int | None, str]]:
        found: dict[int, tuple[int | None, str]] = {}
        for index in sorted({position >> 32 for position in positions}):
            start, end = chunks[index]
            lines = (line for batch in _chunk_batches(str(path), start, end) for line in batch)
            for number, line in enumerate(lines, start=1):
                position = index << 32 | number
                if position in positions:
                    named = key_of(line)
                    if named is not None:
                        found[position] = named
        return found

    return resolve

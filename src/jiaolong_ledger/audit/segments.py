"""A chunked file's segments: what a worker's checker hands over, and how the main one stitches.

A worker checks one chunk of a large file as a *segment* (:class:`~.checker.JournalChecker`
with ``segment=True``): from its first line, like a slice. :func:`segment_result` packs what it
found and what it could not judge alone (postings to and records of accounts opened before the
chunk, resolutions of pending entries held before it, bad lines before its first entry, whose
seq only the main checker knows) into a :class:`~.report.SegmentResult`. :func:`absorb`
continues the main checker's stream with it, in file order: the chain link and seq into the
chunk, the chunk's findings with their lines numbered in the whole file, the deferred account
and pending checks, the key buckets. The findings are those of a single pass.
"""

from __future__ import annotations

from jiaolong_ledger.audit.checker import JournalChecker
from jiaolong_ledger.audit.report import JOURNAL_TAMPERED, SegmentResult
from jiaolong_ledger.journal.canonical import GENESIS_HASH


def segment_result(checker: JournalChecker) -> SegmentResult:
    """What a segment checker hands to the main checker (its key spill is freed)."""
    report = checker.report
    hashes, positions = checker.keys.export_buckets()
    checker.keys.close()
    return SegmentResult(
        entries=report.entries,
        first_seq=report.first_seq,
        first_prev_hash=checker.first_prev_hash,
        last_seq=report.last_seq,
        last_hash=report.last_hash,
        findings=report.findings,
        findings_total=report.findings_total,
        key_hashes=hashes,
        key_positions=positions,
        account_events=checker.account_events,
        external_uses=checker.external_uses,
        external_resolutions=checker.external_resolutions,
        open_pending=checker.pending,
        lines=checker.position - checker.position_base,
        leading_bad_lines=checker.leading_bad_lines,
        leading_bad_more=checker.leading_bad_more,
        next_seq=checker.expected_seq,
        next_prev_hash=checker.prev_hash,
    )


def absorb(checker: JournalChecker, part: SegmentResult) -> None:
    """Continue the (main) ``checker``'s stream with a segment checked elsewhere."""
    report = checker.report
    base = checker.lines_before
    checker.lines_before += part.lines
    for code, line, reason, details in part.leading_bad_lines:
        checker.bad_line(code, line + base, reason, details)
    if part.leading_bad_more:  # beyond what a report keeps: counted, and each takes a seq
        report.findings_total += part.leading_bad_more
        if checker.started or not checker.anchored:
            checker.expected_seq += part.leading_bad_more
    if part.entries and part.first_seq is not None:
        _link(checker, part)
    for finding in part.findings:
        details, message = dict(finding.details), finding.message
        if "line" in details and "reason" in details:  # a bad line: number it in the file
            details["line"] += base
            message = f"line {details['line']}: {details['reason']}"
        report.add(finding.code, finding.seq, message, **details)
    report.findings_total += part.findings_total - len(part.findings)
    if not checker.anchored:
        for (account, currency), (seq, count) in part.external_uses.items():
            record = checker.accounts.get(account)
            checker.report_account_problem(account, currency, seq, record, postings=count)
        for seq, kind, account_record in part.account_events:
            checker.apply_account_record(seq, kind, account_record)
        for seq, kind, pending_key, legs in part.external_resolutions:
            held = checker.pending.pop(pending_key, None)
            checker.resolve_pending(seq, kind, pending_key, held, legs)
        checker.pending.update(part.open_pending)
    checker.keys.absorb(part.key_hashes, part.key_positions)
    if part.entries:
        checker.expected_seq, checker.prev_hash = part.next_seq, part.next_prev_hash
        report.entries += part.entries
        report.last_seq, report.last_hash = part.last_seq, part.last_hash


def _link(checker: JournalChecker, part: SegmentResult) -> None:
    """Judge the segment's first entry against the stream so far: its seq and prev_hash."""
    report = checker.report
    assert part.first_seq is not None
    if not checker.started:
        checker.started = True
        report.first_seq = part.first_seq
        if checker.anchored:
            checker.expected_seq = part.first_seq
            checker.prev_hash = part.first_prev_hash or GENESIS_HASH
    if part.first_seq != checker.expected_seq:
        checker.seq_broken(part.first_seq)
    if part.first_prev_hash != checker.prev_hash and checker.prev_hash is not None:
        report.add(
            JOURNAL_TAMPERED,
            part.first_seq,
            f"seq {part.first_seq}: prev_hash does not match the hash of the entry before it",
            expected_prev_hash=checker.prev_hash,
        )

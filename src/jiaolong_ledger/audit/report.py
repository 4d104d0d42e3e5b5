"""What a verification reports, and what a segment checker hands back: plain values, no I/O.

:class:`VerifyReport` collects :class:`Finding` values under the codes of
:data:`FINDING_CODES` (kinds of tampering are told apart by :data:`TAMPERING_KINDS`); the
:class:`~.checker.JournalChecker`, both verification sources (:mod:`.verify` for files and
lines, :mod:`.verify_db` for a database) and replay share them. :class:`SegmentResult` (with its
:class:`AccountRecord`, :data:`Leg` and :data:`BadLine`) is what a worker's checker of one chunk
of a file passes to the main checker to stitch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from jiaolong_ledger.errors import JournalTamperedError
from jiaolong_ledger.journal.canonical import GENESIS_HASH

FINDINGS_MAX: Final = 1_000
"""Findings kept in a report; later ones are only counted (``findings_total``)."""
FINDING_TEXT_MAX: Final = 1_000
"""Longest message or text detail kept in a finding (a hostile file's key may be a megabyte)."""

JOURNAL_TAMPERED: Final = "JOURNAL_TAMPERED"
SEQ_BROKEN: Final = "SEQ_BROKEN"
MALFORMED_ENTRY: Final = "MALFORMED_ENTRY"
UNBALANCED_ENTRY: Final = "UNBALANCED_ENTRY"
DUPLICATE_KEY: Final = "DUPLICATE_KEY"
ACCOUNT_INVALID: Final = "ACCOUNT_INVALID"
PENDING_INVALID: Final = "PENDING_INVALID"
ROW_MISMATCH: Final = "ROW_MISMATCH"
BALANCE_MISMATCH: Final = "BALANCE_MISMATCH"
HEAD_MISMATCH: Final = "HEAD_MISMATCH"
MALFORMED_LINE: Final = "MALFORMED_LINE"

FINDING_CODES: Final = {
    JOURNAL_TAMPERED: "the stored journal differs from what was written: a hash does not match "
    "the entry's content, prev_hash breaks the chain, a line is not valid JSON Lines (kind "
    "MALFORMED_LINE), or (database) a derived row disagrees with the stored lines (its kind "
    "says which)",
    SEQ_BROKEN: "seq is not the next one: an entry is missing, duplicated or moved",
    MALFORMED_ENTRY: "a JSON object that is not a journal object of SPEC §5 (no integer seq, a "
    "bad member, amount or kind)",
    UNBALANCED_ENTRY: "debits and credits of an entry differ in some currency",
    DUPLICATE_KEY: "the same idempotency key appears on two entries",
    ACCOUNT_INVALID: "a posting names an account that is not open, or in another currency",
    PENDING_INVALID: "a two-phase entry does not match an outstanding pending entry",
    HEAD_MISMATCH: "the last entry is not the expected chain head",
}
TAMPERING_KINDS: Final = {
    MALFORMED_LINE: "the line is not valid JSON Lines under the intake rules (not UTF-8, longer "
    "than LINE_BYTES_MAX, nested deeper than JSON_DEPTH_MAX, an integer of more than "
    "INTEGER_DIGITS_MAX digits, NaN or Infinity, a key twice in one object, a lone surrogate, "
    "not JSON, not an object): the writer never writes such a line",
    ROW_MISMATCH: "database columns or rows disagree with the stored line",
    BALANCE_MISMATCH: "a stored balance differs from the sum of its postings",
    SEQ_BROKEN: "the chain head row names entries the journal no longer holds",
    HEAD_MISMATCH: "the chain head row is not the last entry",
}
"""The ``kind`` of a ``JOURNAL_TAMPERED`` finding other than a broken hash: which check caught
it (``MALFORMED_LINE`` in a file or a database, the others against a database only)."""


def _clipped(value: Any) -> Any:
    if isinstance(value, str) and len(value) > FINDING_TEXT_MAX:
        return f"{value[:FINDING_TEXT_MAX]}... ({len(value)} characters)"
    return value


Progress = Callable[[Iterable[Any], int | None], Iterable[Any]]
"""Wraps the stream of batches (e.g. a progress bar); gets the batch count when known."""


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    seq: int | None
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """What the finding concerns: ``seq=12``, else ``account=...``, ``currency=...`` or
        ``line=...``."""
        if self.seq is None:
            for name in ("account", "currency", "line"):
                value = self.details.get(name)
                if isinstance(value, str | int) and not isinstance(value, bool):
                    return f"{name}={value}"
        return f"seq={self.seq}"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "seq": self.seq, "message": self.message, **self.details}


@dataclass(slots=True)
class VerifyReport:
    """What a verification found. ``ok`` when there is no finding at all."""

    source: str = ""
    entries: int = 0
    first_seq: int | None = None
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    anchored: bool = False
    """True when the stream was a slice: checked from its first line's seq and prev_hash."""
    checks: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    findings_total: int = 0
    first_broken_seq: int | None = None
    first_broken_account: str | None = None
    """The first account named by a finding that concerns no seq (a balance row edited)."""

    @property
    def ok(self) -> bool:
        return self.findings_total == 0

    @property
    def first_broken(self) -> str:
        """Where to start looking: ``seq 12``, else ``account ...``, ``currency ...``."""
        if self.first_broken_seq is not None:
            return f"seq {self.first_broken_seq}"
        if self.first_broken_account is not None:
            return f"account {self.first_broken_account}"
        for finding in self.findings:
            if isinstance(finding.details.get("currency"), str):
                return f"currency {finding.details['currency']}"
        return "not located (see the findings)" if not self.ok else "none"

    def add(self, code: str, seq: int | None, message: str, **details: Any) -> None:
        self.findings_total += 1
        if seq is not None and (self.first_broken_seq is None or seq < self.first_broken_seq):
            self.first_broken_seq = seq
        account = details.get("account")
        if seq is None and self.first_broken_account is None and isinstance(account, str):
            self.first_broken_account = account
        if len(self.findings) < FINDINGS_MAX:
            details = {name: _clipped(value) for name, value in details.items()}
            self.findings.append(Finding(code, seq, _clipped(message), details))

    def codes(self) -> set[str]:
        return {finding.code for finding in self.findings}

    def raise_if_broken(self) -> None:
        """Raise ``JOURNAL_TAMPERED`` naming the first broken seq (or account) and the first
        finding."""
        if self.ok:
            return
        first = self.findings[0]
        raise JournalTamperedError(
            f"verification failed: {self.findings_total} finding(s); first broken "
            f"{self.first_broken}; {first.code}: {first.message}",
            first_broken_seq=self.first_broken_seq,
            first_broken_account=self.first_broken_account,
            findings=[finding.to_dict() for finding in self.findings[:20]],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "source": self.source,
            "entries": self.entries,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "anchored": self.anchored,
            "checks": list(self.checks),
            "first_broken_seq": self.first_broken_seq,
            "first_broken_account": self.first_broken_account,
            "findings_total": self.findings_total,
            "findings": [finding.to_dict() for finding in self.findings],
        }


@dataclass(slots=True)
class AccountRecord:
    currency: str | None
    """None for a placeholder: a segment saw a status record of an account opened before it."""
    kind: str
    constraint: str | None
    status: str
    opened_seq: int


Leg = tuple[str, str, int, str]
"""(account, side, amount_minor, currency) as written in a line."""

BadLine = tuple[str, int, str, dict[str, Any]]
"""(code, line number, reason, details) of a line that is not a journal object."""


@dataclass(slots=True)
class SegmentResult:
    """What a segment checker (one chunk of a file, in a worker) hands to the main checker:
    its chain ends, its own findings, its keys, and what it could not decide alone (postings to
    accounts and resolutions of pending entries from before the segment, account records)."""

    entries: int
    first_seq: int | None
    first_prev_hash: str | None
    last_seq: int
    last_hash: str
    findings: list[Finding]
    findings_total: int
    key_hashes: list[bytes]
    key_positions: list[bytes]
    account_events: list[tuple[int, str, dict[str, Any]]]
    external_uses: dict[tuple[str, str], list[int]]
    """(account, currency) -> [first seq, number of postings] for accounts opened before."""
    external_resolutions: list[tuple[int, str, str, tuple[Leg, ...]]]
    open_pending: dict[str, tuple[Leg, ...]]
    lines: int
    """Lines of the chunk, blank ones included: where the next chunk's line numbers start."""
    leading_bad_lines: list[BadLine]
    """Bad lines before the chunk's first entry: which seq each stands in for is the main's
    (the first :data:`FINDINGS_MAX` of them; ``leading_bad_more`` counts the others)."""
    leading_bad_more: int
    next_seq: int
    """The seq the line after the chunk must have (its entries and bad lines counted)."""
    next_prev_hash: str | None
    """The hash the line after the chunk must name (None: the chunk ends on a bad line)."""

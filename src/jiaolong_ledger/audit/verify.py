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
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any, Final

from jiaolong_ledger.audit.keys import KeyRegistry, KeyResolver
from jiaolong_ledger.audit.source import JournalSource
from jiaolong_ledger.errors import JournalTamperedError
from jiaolong_ledger.journal.canonical import GENESIS_HASH, canonical_bytes
from jiaolong_ledger.journal.entry import ACCOUNT_RECORD_KINDS, ENTRY_KINDS, TWO_PHASE_KINDS
from jiaolong_ledger.money import exponent

FINDINGS_MAX: Final = 1_000
"""Findings kept in a report; later ones are only counted (``findings_total``)."""
READ_BATCH_BYTES: Final = 1 << 20
CHUNK_BYTES: Final = 8 << 20
"""Bytes of a file checked by one worker task."""
PARALLEL_MIN_BYTES: Final = 32 << 20
"""Files at least this large are checked by several processes by default."""
WORKERS_MAX: Final = 4

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

FINDING_CODES: Final = {
    JOURNAL_TAMPERED: "the stored journal differs from what was written: a hash does not match "
    "the entry's content, prev_hash breaks the chain, or (database) a derived row disagrees "
    "with the stored lines (its kind says which)",
    SEQ_BROKEN: "seq is not the next one: an entry is missing, duplicated or moved",
    MALFORMED_ENTRY: "not a journal object of SPEC §5 (bad JSON, member, amount or kind)",
    UNBALANCED_ENTRY: "debits and credits of an entry differ in some currency",
    DUPLICATE_KEY: "the same idempotency key appears on two entries",
    ACCOUNT_INVALID: "a posting names an account that is not open, or in another currency",
    PENDING_INVALID: "a two-phase entry does not match an outstanding pending entry",
    HEAD_MISMATCH: "the last entry is not the expected chain head",
}
TAMPERING_KINDS: Final = {
    ROW_MISMATCH: "database columns or rows disagree with the stored line",
    BALANCE_MISMATCH: "a stored balance differs from the sum of its postings",
    SEQ_BROKEN: "the chain head row names entries the journal no longer holds",
    HEAD_MISMATCH: "the chain head row is not the last entry",
}
"""The ``kind`` of a database ``JOURNAL_TAMPERED`` finding: which check caught it."""

Progress = Callable[[Iterable[Any], int | None], Iterable[Any]]
"""Wraps the stream of batches (e.g. a progress bar); gets the batch count when known."""

_HASH_MEMBER: Final = b',"hash":"'
_HASH_MEMBER_LENGTH: Final = len(_HASH_MEMBER) + 64 + 1
_ACCOUNT_STATUS_AFTER: Final = {
    "open_account": "open",
    "freeze_account": "frozen",
    "unfreeze_account": "open",
    "close_account": "closed",
}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    seq: int | None
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """What the finding concerns: ``seq=12``, else ``account=...`` or ``currency=...``."""
        if self.seq is None:
            for name in ("account", "currency"):
                if isinstance(self.details.get(name), str):
                    return f"{name}={self.details[name]}"
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
            self.findings.append(Finding(code, seq, message, details))

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


def _amount_pattern(exp: int) -> re.Pattern[str]:
    integer = r"(?:0|[1-9][0-9]*)"
    return re.compile(integer if exp == 0 else rf"{integer}\.[0-9]{{{exp}}}")


class _Amounts:
    """Canonical amount patterns per currency: ``patterns[currency](text)`` matches or not.

    A currency is looked up in ISO 4217 once; an unknown one maps to None (a malformed posting).
    """

    def __init__(self) -> None:
        self.patterns: dict[str, Callable[[str], re.Match[str] | None] | None] = {}

    def learn(self, currency: str) -> Callable[[str], re.Match[str] | None] | None:
        if currency not in self.patterns:
            try:
                self.patterns[currency] = _amount_pattern(exponent(currency)).fullmatch
            except Exception:  # an unknown currency is remembered, as malformed
                self.patterns[currency] = None
        return self.patterns[currency]


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


class JournalChecker:
    """Feeds lines one at a time; accumulates findings in a :class:`VerifyReport`.

    ``segment=True`` checks one chunk of a longer journal on its own (in a worker process):
    it starts from its first line like a slice, checks accounts and pending entries it has seen
    itself, and defers the rest to the main checker's :meth:`absorb` as a
    :class:`SegmentResult`.
    """

    def __init__(
        self,
        report: VerifyReport,
        *,
        anchored: bool = False,
        segment: bool = False,
        position_base: int = 0,
    ) -> None:
        self.report = report
        self.anchored = anchored
        self.segment = segment
        report.anchored = anchored
        report.checks[:] = ["seq", "chain", "shape", "balanced", "keys"]
        if not anchored:
            report.checks += ["accounts", "pending"]
        self.expected_seq = 1
        self.prev_hash = GENESIS_HASH
        self.started = False
        self.position = position_base
        self.keys = KeyRegistry()
        self.accounts: dict[str, AccountRecord] = {}
        self.pending: dict[str, tuple[Leg, ...]] = {}
        self._amounts = _Amounts()
        self.first_prev_hash: str | None = None
        self.account_events: list[tuple[int, str, dict[str, Any]]] = []
        self.external_uses: dict[tuple[str, str], list[int]] = {}
        self.external_resolutions: list[tuple[int, str, str, tuple[Leg, ...]]] = []

    # -- the chain -----------------------------------------------------------------------

    def feed(self, line: bytes | str) -> dict[str, Any] | None:
        """Check one line; returns its object (None when it is not even a JSON object)."""
        raw = line.encode() if isinstance(line, str) else line
        raw = raw.strip()
        self.position += 1
        report = self.report
        obj = _parse(raw)
        if obj is None or type(obj.get("seq")) is not int:
            self._malformed_line()
            return None
        seq: int = obj["seq"]
        if not self.started:
            self._first(obj, seq)
        if seq != self.expected_seq:
            seq = self._seq_broken(seq, obj.get("prev_hash") == self.prev_hash)
        self.expected_seq = seq + 1
        stated = obj.get("hash")
        if obj.get("prev_hash") != self.prev_hash:
            report.add(
                JOURNAL_TAMPERED,
                seq,
                f"seq {seq}: prev_hash does not match the hash of the entry before it",
                expected_prev_hash=self.prev_hash,
            )
        if not _content_hash_ok(raw, obj):
            report.add(JOURNAL_TAMPERED, seq, f"seq {seq}: hash does not match the content")
        self.prev_hash = stated if type(stated) is str else ""
        self._check_entry(obj, seq)
        report.entries += 1
        report.last_seq = seq
        report.last_hash = self.prev_hash
        return obj

    def _malformed_line(self) -> None:
        known = self.started or not self.segment
        where = f"after seq {self.expected_seq - 1}" if known else f"line {self.position}"
        self.report.add(
            MALFORMED_ENTRY,
            self.expected_seq if known else None,
            f"the line {where} is not a journal object with an integer seq",
            line=self.position,
        )
        if known:
            self.expected_seq += 1

    def _first(self, obj: dict[str, Any], seq: int) -> None:
        self.started = True
        self.report.first_seq = seq
        prev = obj.get("prev_hash")
        self.first_prev_hash = prev if isinstance(prev, str) else None
        if self.anchored or self.segment:
            self.expected_seq = seq
            self.prev_hash = prev if isinstance(prev, str) else GENESIS_HASH

    def _seq_broken(self, seq: int, linked: bool = False) -> int:
        """Report a seq that is not the expected one; return the seq to go on from.

        A line that still chains to the previous one (``linked``) is in its place and only its
        ``seq`` member was changed: it is reported, and counted, as the expected seq. Otherwise
        lines are missing or moved, and checking resumes from the seq found.
        """
        expected = self.expected_seq
        if linked:
            message = f"seq {expected} is written as seq {seq} (the line is in its place)"
            self.report.add(SEQ_BROKEN, expected, message, found_seq=seq)
            return expected
        if seq > expected:
            message = f"seq {expected}..{seq - 1} missing (found seq {seq} next)"
        else:
            message = f"seq {seq} found where seq {expected} was expected (moved or repeated)"
        self.report.add(SEQ_BROKEN, min(seq, expected), message, found_seq=seq)
        return seq

    # -- one entry -----------------------------------------------------------------------

    def _check_entry(self, obj: dict[str, Any], seq: int) -> None:
        key, kind, postings = obj.get("key"), obj.get("kind"), obj.get("postings")
        if type(key) is not str or not key or type(postings) is not list:
            self.report.add(MALFORMED_ENTRY, seq, f"seq {seq}: key or postings missing")
            return
        self.keys.add(key, self.position)
        if kind in ACCOUNT_RECORD_KINDS:
            self._account_record(obj, seq, kind, postings)
            return
        status = obj.get("status")
        if kind not in ENTRY_KINDS or status != ("pending" if kind == "pending" else "posted"):
            self.report.add(MALFORMED_ENTRY, seq, f"seq {seq}: kind {kind!r} with that status")
            return
        # The hot loop: parse, balance and account-check every posting in one pass.
        totals: dict[str, int] = {}
        legs: list[Leg] = []
        accounts = self.accounts if not self.anchored else None
        amount_patterns, learn = self._amounts.patterns, self._amounts.learn
        account_problem = False
        for posting in postings:
            try:
                account, side = posting["account"], posting["side"]
                currency, amount = posting["currency"], posting["amount"]
                pattern = amount_patterns.get(currency) or learn(currency)
            except (TypeError, KeyError):
                pattern = None
            if (
                pattern is None
                or type(amount) is not str
                or pattern(amount) is None
                or type(account) is not str
                or (side != "debit" and side != "credit")
            ):
                self._malformed_posting(postings, seq)
                return
            minor = int(amount.replace(".", ""))
            if not minor:
                self._malformed_posting(postings, seq)
                return
            totals[currency] = totals.get(currency, 0) + (minor if side == "debit" else -minor)
            legs.append((account, side, minor, currency))
            if accounts is not None:
                record = accounts.get(account)
                if record is None or record.currency != currency or record.status == "closed":
                    account_problem = True
        if legs:
            for currency, difference in totals.items():
                if difference:
                    self._unbalanced(seq, currency, difference)
            if account_problem:
                self._check_accounts(legs, seq)
        elif kind != "void_pending" and kind != "expire_pending":
            self.report.add(MALFORMED_ENTRY, seq, f"seq {seq}: a {kind} entry without postings")
        if accounts is not None and (kind == "pending" or kind in TWO_PHASE_KINDS):
            self._check_two_phase(obj, seq, kind, key, legs)

    def _malformed_posting(self, postings: list[Any], seq: int) -> None:
        self.report.add(
            MALFORMED_ENTRY,
            seq,
            f"seq {seq}: a posting is not a canonical positive amount with account, side and "
            "a known currency",
            postings=len(postings),
        )

    def _unbalanced(self, seq: int, currency: str, difference: int) -> None:
        self.report.add(
            UNBALANCED_ENTRY,
            seq,
            f"seq {seq}: {currency} debits exceed credits by {difference} minor units",
            currency=currency,
            difference_minor=difference,
        )

    def _check_accounts(self, legs: list[Leg], seq: int) -> None:
        accounts = self.accounts
        for account, _, _, currency in legs:
            record = accounts.get(account)
            if record is not None and record.currency == currency and record.status != "closed":
                continue
            if self.segment and (
                record is None or (record.currency is None and record.status != "closed")
            ):
                # opened before this segment: the main checker knows it
                use = self.external_uses.get((account, currency))
                if use is None:
                    self.external_uses[(account, currency)] = [seq, 1]
                else:
                    use[1] += 1
                continue
            self._account_problem(account, currency, seq, record)

    def _account_problem(
        self,
        account: str,
        currency: str,
        seq: int,
        record: AccountRecord | None,
        postings: int = 1,
    ) -> None:
        if record is None:
            problem = "was never opened"
        elif record.status == "closed":
            problem = "is closed"
        elif record.currency is not None and record.currency != currency:
            problem = f"holds {record.currency}, not {currency}"
        else:
            return
        also = f" (and {postings - 1} later postings of that chunk)" if postings > 1 else ""
        self.report.add(
            ACCOUNT_INVALID,
            seq,
            f"seq {seq}: account {account} {problem}{also}",
            account=account,
        )

    def _account_record(
        self, obj: dict[str, Any], seq: int, kind: str, postings: list[Any]
    ) -> None:
        account = obj.get("account")
        if postings or not isinstance(account, dict) or not isinstance(account.get("code"), str):
            self.report.add(MALFORMED_ENTRY, seq, f"seq {seq}: malformed {kind} record")
            return
        if self.segment:
            self.account_events.append((seq, kind, account))
            self._segment_account_record(seq, kind, account)
        else:
            self.apply_account_record(seq, kind, account)

    def _segment_account_record(self, seq: int, kind: str, account: dict[str, Any]) -> None:
        """Track what the segment itself can know; the main checker judges the records."""
        code = account["code"]
        record = self.accounts.get(code)
        if kind == "open_account":
            currency = account.get("currency")
            self.accounts[code] = AccountRecord(
                currency if isinstance(currency, str) else "", "", None, "open", seq
            )
        elif record is None:
            self.accounts[code] = AccountRecord(None, "", None, _ACCOUNT_STATUS_AFTER[kind], seq)
        else:
            record.status = _ACCOUNT_STATUS_AFTER[kind]

    def apply_account_record(self, seq: int, kind: str, account: dict[str, Any]) -> None:
        code = account["code"]
        record = self.accounts.get(code)
        if kind == "open_account":
            if record is not None and not self.anchored:
                self.report.add(
                    ACCOUNT_INVALID, seq, f"seq {seq}: account {code} opened twice", account=code
                )
            self.accounts[code] = AccountRecord(
                str(account.get("currency")),
                str(account.get("kind")),
                account.get("constraint"),
                "open",
                seq,
            )
        elif record is not None:
            record.status = _ACCOUNT_STATUS_AFTER[kind]
        elif not self.anchored:
            self.report.add(
                ACCOUNT_INVALID, seq, f"seq {seq}: {kind} of an account never opened", account=code
            )

    def _check_two_phase(
        self, obj: dict[str, Any], seq: int, kind: str, key: str, legs: list[Leg]
    ) -> None:
        if kind == "pending":
            self.pending[key] = tuple(legs)
            return
        pending_key = obj.get("pending_key")
        held = self.pending.pop(pending_key, None) if isinstance(pending_key, str) else None
        if held is None and self.segment and isinstance(pending_key, str):
            self.external_resolutions.append((seq, kind, pending_key, tuple(legs)))
            return
        self._resolve_pending(seq, kind, pending_key, held, legs)

    def _resolve_pending(
        self,
        seq: int,
        kind: str,
        pending_key: object,
        held: tuple[Leg, ...] | None,
        legs: Iterable[Leg],
    ) -> None:
        if held is None:
            self.report.add(
                PENDING_INVALID,
                seq,
                f"seq {seq}: {kind} names {pending_key!r}, which is not an outstanding "
                "pending entry",
                pending_key=pending_key,
            )
            return
        if kind != "post_pending":
            return
        legs = list(legs)
        same_shape = len(held) == len(legs) and all(
            (a[0], a[1], a[3]) == (b[0], b[1], b[3]) and b[2] <= a[2]
            for a, b in zip(held, legs, strict=True)
        )
        if not same_shape:
            self.report.add(
                PENDING_INVALID,
                seq,
                f"seq {seq}: post_pending does not post (at most) the legs of {pending_key!r}",
                pending_key=pending_key,
            )

    # -- segments ------------------------------------------------------------------------

    def segment_result(self) -> SegmentResult:
        report = self.report
        hashes, positions = self.keys.export_buckets()
        self.keys.close()
        return SegmentResult(
            entries=report.entries,
            first_seq=report.first_seq,
            first_prev_hash=self.first_prev_hash,
            last_seq=report.last_seq,
            last_hash=report.last_hash,
            findings=report.findings,
            findings_total=report.findings_total,
            key_hashes=hashes,
            key_positions=positions,
            account_events=self.account_events,
            external_uses=self.external_uses,
            external_resolutions=self.external_resolutions,
            open_pending=self.pending,
        )

    def absorb(self, part: SegmentResult) -> None:
        """Continue this (main) checker's stream with a segment checked elsewhere."""
        report = self.report
        if part.entries and part.first_seq is not None:
            if not self.started:
                self.started = True
                report.first_seq = part.first_seq
                if self.anchored:
                    self.expected_seq = part.first_seq
                    self.prev_hash = part.first_prev_hash or GENESIS_HASH
            if part.first_seq != self.expected_seq:
                self._seq_broken(part.first_seq)
            if part.first_prev_hash != self.prev_hash:
                report.add(
                    JOURNAL_TAMPERED,
                    part.first_seq,
                    f"seq {part.first_seq}: prev_hash does not match the hash of the entry "
                    "before it",
                    expected_prev_hash=self.prev_hash,
                )
        for finding in part.findings:
            report.add(finding.code, finding.seq, finding.message, **finding.details)
        report.findings_total += part.findings_total - len(part.findings)
        if not self.anchored:
            for (account, currency), (seq, count) in part.external_uses.items():
                self._account_problem(
                    account, currency, seq, self.accounts.get(account), postings=count
                )
            for seq, kind, record in part.account_events:
                self.apply_account_record(seq, kind, record)
            for seq, kind, pending_key, legs in part.external_resolutions:
                held = self.pending.pop(pending_key, None)
                self._resolve_pending(seq, kind, pending_key, held, legs)
            self.pending.update(part.open_pending)
        self.keys.absorb(part.key_hashes, part.key_positions)
        if part.entries:
            self.expected_seq, self.prev_hash = part.last_seq + 1, part.last_hash
            report.entries += part.entries
            report.last_seq, report.last_hash = part.last_seq, part.last_hash

    # -- the end -------------------------------------------------------------------------

    def finish(self, resolve: KeyResolver | None, expected_head: str | None = None) -> None:
        try:
            if resolve is None:
                candidates = self.keys.candidate_positions()
                if candidates:
                    self.report.add(
                        DUPLICATE_KEY,
                        None,
                        f"{len(candidates)} entries share a key hash (stream not re-readable "
                        "to name them)",
                    )
            else:
                for key, seqs in self.keys.duplicates(resolve):
                    later = [seq for seq in seqs[1:] if seq is not None]
                    self.report.add(
                        DUPLICATE_KEY,
                        later[0] if later else None,
                        f"key {key!r} appears on seq {', '.join(str(s) for s in seqs)}",
                        key=key,
                        seqs=seqs,
                    )
        finally:
            self.keys.close()
        if expected_head is not None and expected_head != self.report.last_hash:
            self.report.add(
                HEAD_MISMATCH,
                self.report.last_seq + 1,
                f"the last entry's hash {self.report.last_hash} is not the expected head "
                f"{expected_head} (entries missing or rewritten at the end)",
                expected_head=expected_head,
            )


_decode = json.JSONDecoder().raw_decode


def _parse(raw: bytes) -> dict[str, Any] | None:
    """The line's JSON object, or None (not UTF-8, not JSON, trailing text, not an object)."""
    try:
        text = raw.decode()
        obj, end = _decode(text)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if type(obj) is not dict or (end != len(text) and text[end:].strip()):
        return None
    return obj


def _content_hash_ok(raw: bytes, obj: dict[str, Any]) -> bool:
    stated, prev = obj.get("hash"), obj.get("prev_hash")
    if type(stated) is not str or type(prev) is not str:
        return False
    try:
        prev_bytes = bytes.fromhex(prev)
    except ValueError:
        return False
    if len(prev_bytes) != 32:
        return False
    at = raw.find(_HASH_MEMBER)
    end = at + _HASH_MEMBER_LENGTH
    # The stored line is the canonical body with the hash member spliced in: hash its bytes.
    if (
        at > 0
        and raw[end - 65 : end] == stated.encode() + b'"'
        and sha256(prev_bytes + raw[:at] + raw[end:]).hexdigest() == stated
    ):
        return True
    body = {name: value for name, value in obj.items() if name != "hash"}
    try:
        return sha256(prev_bytes + canonical_bytes(body)).hexdigest() == stated
    except (TypeError, ValueError):
        return False


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
                    obj = _parse(line.strip())
                    if obj is not None and isinstance(obj.get("key"), str):
                        found[position] = (obj.get("seq"), obj["key"])
        return found

    return resolve


def verify_database(ledger: JournalSource, *, progress: Progress | None = None) -> VerifyReport:
    """Verify the journal stored in ``ledger``'s database and everything derived from it."""
    from jiaolong_ledger.audit.verify_db import verify_database as run

    return run(ledger, progress=progress)

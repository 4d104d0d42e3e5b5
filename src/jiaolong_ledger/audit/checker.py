"""``JournalChecker``: the streaming check of journal lines, one line at a time.

It holds the only state of a verification pass (see :mod:`.verify` for what each line must
satisfy): the expected seq and previous hash, the keys (spilled to disk by
:class:`~.keys.KeyRegistry`), one :class:`~.report.AccountRecord` per account and the legs of
each still-pending entry. A *segment* checker checks one chunk of a file in a worker process and
hands what it could not judge alone to the main checker as a :class:`~.report.SegmentResult`
(:mod:`.segments` makes and stitches them).
Both sources (:mod:`.verify`, :mod:`.verify_db`) and replay feed lines through it, every line
including blank ones (skipped, but counted: a finding names the line by its number).

A line is read under the intake layer's rules (:mod:`.line_format`). One it refuses is a
``JOURNAL_TAMPERED`` finding of kind ``MALFORMED_LINE`` naming the seq the line stands in for
and the line number, with the intake's reason; a JSON object without an integer ``seq`` is
``MALFORMED_ENTRY``. Either way the line takes up one seq, and the link from it to the next line
cannot be checked (the next line's ``prev_hash`` is not judged).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from jiaolong_ledger.audit.keys import KeyRegistry, KeyResolver
from jiaolong_ledger.audit.line_format import (
    AmountPatterns,
    content_hash_ok,
    parse_line,
    read_line,
)
from jiaolong_ledger.audit.report import (
    ACCOUNT_INVALID,
    FINDINGS_MAX,
    HEAD_MISMATCH,
    JOURNAL_TAMPERED,
    MALFORMED_ENTRY,
    MALFORMED_LINE,
    PENDING_INVALID,
    SEQ_BROKEN,
    UNBALANCED_ENTRY,
    AccountRecord,
    BadLine,
    Leg,
    VerifyReport,
)
from jiaolong_ledger.errors import InvalidInputError
from jiaolong_ledger.intake import LINE_BYTES_MAX
from jiaolong_ledger.journal.canonical import GENESIS_HASH
from jiaolong_ledger.journal.entry import (
    ACCOUNT_RECORD_KINDS,
    ENTRY_KINDS,
    RECORD_KINDS,
    TWO_PHASE_KINDS,
)
from jiaolong_ledger.money import AMOUNT_MINOR_MAX

_STATUS_OF_KIND: Final = {kind: "posted" for kind in ENTRY_KINDS} | {"pending": "pending"}
"""The status each entry kind is written with."""
_ACCOUNT_STATUS_AFTER: Final = {
    "open_account": "open",
    "freeze_account": "frozen",
    "unfreeze_account": "open",
    "close_account": "closed",
}


def _record_ok(obj: dict[str, Any], kind: str) -> bool:
    """A record of its own (``cycle_cutoff``): its members present and well typed, its key
    ``<kind>:<cycle>``."""
    if kind != "cycle_cutoff":  # pragma: no cover - the only record kind so far
        return all(name in obj for name in RECORD_KINDS[kind])
    cycle, count, digest = obj.get("cycle"), obj.get("obligations"), obj.get("digest")
    return (
        type(cycle) is int
        and cycle > 0
        and type(count) is int
        and count >= 0
        and type(digest) is str
        and len(digest) == 64
        and all(c in "0123456789abcdef" for c in digest)
        and obj.get("key") == f"{kind}:{cycle}"
        and "account" not in obj
    )


class JournalChecker:
    """Feeds lines one at a time; accumulates findings in a :class:`VerifyReport`.

    ``segment=True`` checks one chunk of a longer journal on its own (in a worker process):
    it starts from its first line like a slice, checks accounts and pending entries it has seen
    itself, and defers the rest to the main checker (:func:`~.segments.absorb` of its
    :func:`~.segments.segment_result`).
    """

    def __init__(
        self,
        report: VerifyReport,
        *,
        anchored: bool = False,
        segment: bool = False,
        position_base: int = 0,
        skip_blank: bool = True,
    ) -> None:
        self.report = report
        self.skip_blank = skip_blank
        """Skip blank lines (a file's); False: a blank line is a bad line (a database's)."""
        self.anchored = anchored
        self.segment = segment
        report.anchored = anchored
        report.checks[:] = ["seq", "chain", "shape", "balanced", "keys"]
        if not anchored:
            report.checks += ["accounts", "pending"]
        self.expected_seq = 1
        self.prev_hash: str | None = GENESIS_HASH
        """The hash the next line must name; None after a line that could not be read."""
        self.started = False
        self.position = position_base
        self.position_base = position_base
        self.lines_before = 0
        """Lines of the chunks absorbed so far (the main checker of a chunked file)."""
        self.keys = KeyRegistry()
        self.accounts: dict[str, AccountRecord] = {}
        self.pending: dict[str, tuple[Leg, ...]] = {}
        self._amounts = AmountPatterns()
        self.first_prev_hash: str | None = None
        self.leading_bad_lines: list[BadLine] = []
        self.leading_bad_more = 0
        self.account_events: list[tuple[int, str, dict[str, Any]]] = []
        self.external_uses: dict[tuple[str, str], list[int]] = {}
        self.external_resolutions: list[tuple[int, str, str, tuple[Leg, ...]]] = []

    # -- the chain -----------------------------------------------------------------------

    def feed(self, line: bytes | str) -> dict[str, Any] | None:
        """Check one line (of a file, without its newline); returns its object, or None when
        the line is blank or not a journal object."""
        raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
        self.position += 1
        stripped = raw.strip()
        obj = parse_line(stripped) if len(raw) <= LINE_BYTES_MAX else None
        if obj is None:
            obj = self._read(raw, stripped)
            if obj is None:
                return None
        seq = obj.get("seq")
        if type(seq) is not int:
            self._bad_line(MALFORMED_ENTRY, "a JSON object without an integer seq", {})
            return None
        report = self.report
        if not self.started:
            self._first(obj, seq)
        if seq != self.expected_seq:
            seq = self.seq_broken(seq, obj.get("prev_hash") == self.prev_hash)
        self.expected_seq = seq + 1
        stated = obj.get("hash")
        if obj.get("prev_hash") != self.prev_hash and self.prev_hash is not None:
            report.add(
                JOURNAL_TAMPERED,
                seq,
                f"seq {seq}: prev_hash does not match the hash of the entry before it",
                expected_prev_hash=self.prev_hash,
            )
        if not content_hash_ok(stripped, obj):
            report.add(JOURNAL_TAMPERED, seq, f"seq {seq}: hash does not match the content")
        self.prev_hash = stated if type(stated) is str else ""
        self._check_entry(obj, seq)
        report.entries += 1
        report.last_seq = seq
        report.last_hash = self.prev_hash
        return obj

    def _read(self, raw: bytes, stripped: bytes) -> dict[str, Any] | None:
        """The slow path: the intake layer's verdict on a line the fast path did not accept."""
        if not stripped and len(raw) <= LINE_BYTES_MAX:
            if not self.skip_blank:
                self._bad_line(JOURNAL_TAMPERED, "an empty line", {"kind": MALFORMED_LINE})
            return None
        try:
            return read_line(raw)
        except InvalidInputError as refusal:
            details = {k: v for k, v in refusal.details.items() if v is not None and k != "line"}
            details["kind"] = MALFORMED_LINE  # with the intake's limit and byte, if it named them
            self._bad_line(JOURNAL_TAMPERED, f"not valid JSON Lines: {refusal.message}", details)
            return None

    def _bad_line(self, code: str, reason: str, details: dict[str, Any]) -> None:
        line = self.position - self.position_base
        if self.segment and not self.started:  # the seq it stands in for is the main's to say
            if len(self.leading_bad_lines) < FINDINGS_MAX:
                self.leading_bad_lines.append((code, line, reason, details))
            else:
                self.leading_bad_more += 1
        else:
            self.bad_line(code, line, reason, details)

    def bad_line(self, code: str, line: int, reason: str, details: dict[str, Any]) -> None:
        """Report a line that is not a journal object; it takes up the expected seq."""
        known = self.started or not self.anchored
        seq = self.expected_seq if known else None
        self.report.add(code, seq, f"line {line}: {reason}", line=line, reason=reason, **details)
        if known:
            self.expected_seq += 1
            self.prev_hash = None

    def _first(self, obj: dict[str, Any], seq: int) -> None:
        self.started = True
        self.report.first_seq = seq
        prev = obj.get("prev_hash")
        self.first_prev_hash = prev if isinstance(prev, str) else None
        if self.segment:  # the main checker judges the link into the segment
            self.expected_seq, self.prev_hash = seq, None
        elif self.anchored:
            self.expected_seq = seq
            self.prev_hash = prev if isinstance(prev, str) else GENESIS_HASH

    def seq_broken(self, seq: int, linked: bool = False) -> int:
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
        status = _STATUS_OF_KIND.get(kind) if type(kind) is str else None
        if status is None and kind in ACCOUNT_RECORD_KINDS:
            self._account_record(obj, seq, kind, postings)
            return
        if status is None and type(kind) is str and kind in RECORD_KINDS:
            if postings or obj.get("status") != "posted" or not _record_ok(obj, kind):
                self.report.add(MALFORMED_ENTRY, seq, f"seq {seq}: malformed {kind} record")
            return
        if status is None or obj.get("status") != status:
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
            if not 0 < minor <= AMOUNT_MINOR_MAX:
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
                self.external_uses.setdefault((account, currency), [seq, 0])[1] += 1
                continue
            self.report_account_problem(account, currency, seq, record)

    def report_account_problem(
        self, account: str, currency: str, seq: int, record: AccountRecord | None, postings: int = 1
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
        message = f"seq {seq}: account {account} {problem}{also}"
        self.report.add(ACCOUNT_INVALID, seq, message, account=account)

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
        self.resolve_pending(seq, kind, pending_key, held, legs)

    def resolve_pending(
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

    # -- the end -------------------------------------------------------------------------

    def finish(self, resolve: KeyResolver | None, expected_head: str | None = None) -> None:
        """Name the keys seen twice (``resolve`` reads them back), free the key spill, and
        compare the last hash with ``expected_head``."""
        try:
            self.keys.report_duplicates(self.report, resolve)
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

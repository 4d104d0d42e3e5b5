"""``JournalChecker``: the streaming check of journal lines, one line at a time.

It holds the only state of a verification pass (see :mod:`.verify` for what each line must
satisfy): the expected seq and previous hash, the keys (spilled to disk by
:class:`~.keys.KeyRegistry`), one :class:`~.report.AccountRecord` per account and the legs of
each still-pending entry. A *segment* checker checks one chunk of a file in a worker process and
hands what it could not judge alone to the main checker as a :class:`~.report.SegmentResult`.
Both sources (:mod:`.verify`, :mod:`.verify_db`) and replay feed lines through it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from jiaolong_ledger.audit.keys import KeyRegistry, KeyResolver
from jiaolong_ledger.audit.line_format import AmountPatterns, content_hash_ok, parse_line
from jiaolong_ledger.audit.report import (
    ACCOUNT_INVALID,
    DUPLICATE_KEY,
    HEAD_MISMATCH,
    JOURNAL_TAMPERED,
    MALFORMED_ENTRY,
    PENDING_INVALID,
    SEQ_BROKEN,
    UNBALANCED_ENTRY,
    AccountRecord,
    Leg,
    SegmentResult,
    VerifyReport,
)
from jiaolong_ledger.journal.canonical import GENESIS_HASH
from jiaolong_ledger.journal.entry import ACCOUNT_RECORD_KINDS, ENTRY_KINDS, TWO_PHASE_KINDS

_ACCOUNT_STATUS_AFTER: Final = {
    "open_account": "open",
    "freeze_account": "frozen",
    "unfreeze_account": "open",
    "close_account": "closed",
}


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
        self._amounts = AmountPatterns()
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
        obj = parse_line(raw)
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
        if not content_hash_ok(raw, obj):
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

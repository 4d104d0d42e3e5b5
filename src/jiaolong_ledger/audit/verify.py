"""Streaming verification of the journal chain, from a database or an exported file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from jiaolong_ledger.journal.canonical import GENESIS_HASH, hash_object
from jiaolong_ledger.money import parse_minor
from jiaolong_ledger.storage.tables import accounts, postings

if TYPE_CHECKING:
    from jiaolong_ledger.ledger import Ledger

FINDINGS_MAX = 1_000


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    seq: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "seq": self.seq, "message": self.message}


@dataclass(slots=True)
class VerifyReport:
    entries: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_broken_seq(self) -> int | None:
        seqs = [finding.seq for finding in self.findings if finding.seq is not None]
        return min(seqs) if seqs else None

    def add(self, code: str, seq: int | None, message: str) -> None:
        if len(self.findings) < FINDINGS_MAX:
            self.findings.append(Finding(code, seq, message))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "first_broken_seq": self.first_broken_seq,
            "findings": [finding.to_dict() for finding in self.findings],
        }


def verify_lines(lines: Iterable[str], report: VerifyReport | None = None) -> VerifyReport:
    """Recompute the chain, check seq continuity, per-entry balance and key uniqueness."""
    report = report or VerifyReport()
    keys: set[str] = set()
    prev_hash = GENESIS_HASH
    expected_seq = 1
    for number, line in enumerate(lines, start=1):
        try:
            obj = json.loads(line)
            seq = int(obj["seq"])
        except (ValueError, KeyError, TypeError) as error:
            report.add("JOURNAL_TAMPERED", None, f"line {number}: not a journal entry ({error})")
            continue
        if seq != expected_seq:
            report.add(
                "JOURNAL_TAMPERED",
                seq,
                f"seq {seq} where {expected_seq} was expected (gap or swap)",
            )
        expected_seq = seq + 1
        if obj.get("prev_hash") != prev_hash:
            report.add(
                "JOURNAL_TAMPERED", seq, "prev_hash does not match the previous entry's hash"
            )
        try:
            recomputed = hash_object({**obj, "prev_hash": obj.get("prev_hash", "")})
        except (ValueError, TypeError):
            recomputed = ""
        if recomputed != obj.get("hash"):
            report.add("JOURNAL_TAMPERED", seq, "hash does not match the entry's content")
        prev_hash = str(obj.get("hash"))
        _check_entry(obj, seq, keys, report)
        report.entries += 1
        report.last_seq, report.last_hash = seq, prev_hash
    return report


def _check_entry(obj: dict[str, Any], seq: int, keys: set[str], report: VerifyReport) -> None:
    key = obj.get("key")
    if key in keys:
        report.add("DUPLICATE_KEY", seq, f"key {key!r} appears twice")
    keys.add(str(key))
    totals: dict[str, int] = {}
    try:
        for posting in obj["postings"]:
            minor = parse_minor(posting["amount"], posting["currency"])
            signed = minor if posting["side"] == "debit" else -minor
            totals[posting["currency"]] = totals.get(posting["currency"], 0) + signed
    except Exception as error:  # any malformed posting is a finding, not a crash
        report.add("JOURNAL_TAMPERED", seq, f"malformed posting: {error}")
        return
    for currency, difference in sorted(totals.items()):
        if difference:
            report.add("UNBALANCED_ENTRY", seq, f"{currency} debits and credits differ")


def file_lines(path: str | Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield line


def verify_file(path: str | Path) -> VerifyReport:
    return verify_lines(file_lines(path))


def verify_database(ledger: Ledger) -> VerifyReport:
    report = verify_lines(ledger.journal_lines())
    _check_balances(ledger, report)
    return report


def _check_balances(ledger: Ledger, report: VerifyReport) -> None:
    amount, is_debit, is_pending = (
        postings.c.amount_minor,
        postings.c.is_debit,
        postings.c.is_pending,
    )
    sums = (
        select(
            postings.c.account_id,
            func.sum(case((~is_pending & is_debit, amount), else_=0)).label("dp"),
            func.sum(case((~is_pending & ~is_debit, amount), else_=0)).label("cp"),
        )
        .group_by(postings.c.account_id)
        .subquery()
    )
    query = select(
        accounts.c.code,
        accounts.c.debits_posted_minor,
        accounts.c.credits_posted_minor,
        func.coalesce(sums.c.dp, 0),
        func.coalesce(sums.c.cp, 0),
    ).outerjoin(sums, sums.c.account_id == accounts.c.id)
    with ledger.engine.connect() as connection:
        for code, stored_debits, stored_credits, debits, credits in connection.execute(query):
            if (stored_debits, stored_credits) != (int(debits), int(credits)):
                report.add(
                    "BALANCE_MISMATCH",
                    None,
                    f"account {code}: stored posted balance {stored_debits}/{stored_credits} "
                    f"!= sum of postings {debits}/{credits} (minor units, debits/credits)",
                )

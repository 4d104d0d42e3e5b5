"""replay: rebuilds an identical ledger from an export, or stops and leaves the target empty."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money
from sqlalchemy import func, select

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.errors import (
    ConstraintViolatedError,
    InvalidInputError,
    JournalTamperedError,
)
from jiaolong_ledger.journal.canonical import GENESIS_HASH, seal
from jiaolong_ledger.storage.tables import accounts, pending_entries


def _state(ledger: Ledger) -> tuple[object, ...]:
    balances = [ledger.balance(account.code) for account in ledger.accounts()]
    statuses = [(account.code, account.status, account.opened_at) for account in ledger.accounts()]
    with ledger.engine.connect() as connection:
        pending = connection.execute(
            select(
                pending_entries.c.key, pending_entries.c.state, pending_entries.c.resolved_seq
            ).order_by(pending_entries.c.entry_seq)
        ).all()
    return (balances, statuses, [tuple(row) for row in pending])


def _is_empty(url: str) -> bool:
    ledger = Ledger.connect(url)
    try:
        with ledger.engine.connect() as connection:
            count = connection.execute(select(func.count()).select_from(accounts)).scalar()
        return count == 0 and not list(ledger.journal_lines())
    finally:
        ledger.close()


def test_replay_rebuilds_an_identical_ledger(
    full_ledger: Ledger, make_url_for: Callable[[], str], tmp_path: Path
) -> None:
    original = tmp_path / "original.jsonl"
    full_ledger.export_journal(original)
    replayed = Ledger.replay(original, into=make_url_for())
    try:
        again = tmp_path / "replayed.jsonl"
        replayed.export_journal(again)
        assert again.read_bytes() == original.read_bytes()
        assert _state(replayed) == _state(full_ledger)
        assert replayed.trial_balance() == full_ledger.trial_balance()
        assert replayed.verify().ok
        for fmt in ("beancount", "csv"):
            full_ledger.export_journal(tmp_path / f"a.{fmt}", format=fmt)
            replayed.export_journal(tmp_path / f"b.{fmt}", format=fmt)
            assert (tmp_path / f"a.{fmt}").read_bytes() == (tmp_path / f"b.{fmt}").read_bytes()
    finally:
        replayed.close()


def test_replayed_ledger_keeps_idempotency(
    full_ledger: Ledger, make_url_for: Callable[[], str], tmp_path: Path
) -> None:
    """A client retrying an entry against the rebuilt ledger gets the original back."""
    path = tmp_path / "journal.jsonl"
    full_ledger.export_journal(path)
    replayed = Ledger.replay(path, into=make_url_for())
    try:
        retry = Entry(
            key="deposit/shu",
            postings=[
                debit("platform:bank:CNY", Money("80000.00", "CNY")),
                credit("participant:shu-brocade:cash:CNY", Money("80000.00", "CNY")),
            ],
        )
        assert replayed.post(retry) == full_ledger.entry("deposit/shu")
        assert replayed.verify().last_seq == full_ledger.verify().last_seq
    finally:
        replayed.close()


def test_replay_needs_an_empty_database(full_ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    full_ledger.export_journal(path)
    url = full_ledger.engine.url.render_as_string(hide_password=False)
    with pytest.raises(InvalidInputError, match="empty database"):
        Ledger.replay(path, into=url)


def test_tampered_export_stops_replay_and_leaves_target_empty(
    full_ledger: Ledger, make_url_for: Callable[[], str], tmp_path: Path
) -> None:
    lines = [line for line in full_ledger.journal_lines()]
    seq = full_ledger.entry("order-42/fund").seq
    lines[seq - 1] = lines[seq - 1].replace('"1000.00"', '"1.00"')
    path = tmp_path / "tampered.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    url = make_url_for()
    with pytest.raises(JournalTamperedError) as raised:
        Ledger.replay(path, into=url)
    assert raised.value.details["seq"] == seq
    assert _is_empty(url)


def test_chain_valid_but_rule_breaking_export_is_refused(
    full_ledger: Ledger, make_url_for: Callable[[], str], tmp_path: Path
) -> None:
    """A forged, correctly chained export still cannot overdraw a constrained account."""
    objs = [json.loads(line) for line in full_ledger.journal_lines()]
    forged = {
        "seq": len(objs) + 1,
        "key": "forged/overdraft",
        "kind": "transfer",
        "status": "posted",
        "description": "",
        "metadata": {},
        "effective_at": objs[-1]["recorded_at"],
        "recorded_at": objs[-1]["recorded_at"],
        "postings": [
            {
                "account": "participant:lodz.gallery:cash:EUR",
                "side": "debit",
                "amount": "999999.00",
                "currency": "EUR",
            },
            {
                "account": "platform:bank:EUR",
                "side": "credit",
                "amount": "999999.00",
                "currency": "EUR",
            },
        ],
        "prev_hash": objs[-1]["hash"],
    }
    _, line = seal(forged)
    path = tmp_path / "forged.jsonl"
    path.write_text("\n".join([*full_ledger.journal_lines(), line]) + "\n", encoding="utf-8")
    url = make_url_for()
    with pytest.raises(ConstraintViolatedError) as raised:
        Ledger.replay(path, into=url)
    assert raised.value.details["seq"] == len(objs) + 1
    assert _is_empty(url)


def test_replay_of_an_empty_export(make_url_for: Callable[[], str], tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    replayed = Ledger.replay(path, into=make_url_for())
    try:
        assert replayed.verify().ok and replayed.verify().last_hash == GENESIS_HASH
    finally:
        replayed.close()


def test_replay_writes_through_a_ledger_scope(
    full_ledger: Ledger, make_url_for: Callable[[], str], tmp_path: Path
) -> None:
    """``audit.replay.replay(path, scope)``: one unit of work on the target's scope; returns
    the file's report; a second replay into the same scope is refused and changes nothing."""
    from jiaolong_ledger.audit.replay import replay
    from jiaolong_ledger.testing import assert_unchanged, snapshot
    from jiaolong_ledger.unit_of_work import LedgerScope

    path = tmp_path / "journal.jsonl"
    full_ledger.export_journal(path)
    seen: list[int | None] = []

    def progress(batches: Any, total: int | None) -> Any:
        seen.append(total)
        return batches

    target = Ledger.connect(make_url_for())
    try:
        scope = LedgerScope(target.database, target.clock)
        report = replay(path, scope, progress=progress)
        head = full_ledger.verify()
        assert (report.entries, report.last_seq, report.last_hash) == (
            head.entries,
            head.last_seq,
            head.last_hash,
        )
        assert seen == [1]
        assert list(target.journal_lines()) == list(full_ledger.journal_lines())
        before = snapshot(target)
        with pytest.raises(InvalidInputError, match="empty database"):
            replay(path, scope)
        assert_unchanged(target, before)
    finally:
        target.close()

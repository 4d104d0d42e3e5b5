"""verify: a clean journal passes; every kind of tampering is detected and pinpointed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from jiaolong_ledger import Ledger
from jiaolong_ledger.audit import keys as keys_module
from jiaolong_ledger.audit.keys import KeyRegistry
from jiaolong_ledger.audit.report import VerifyReport
from jiaolong_ledger.audit.verify import verify_file, verify_lines
from jiaolong_ledger.errors import JournalTamperedError
from jiaolong_ledger.journal.canonical import GENESIS_HASH, seal
from jiaolong_ledger.storage.tables import (
    accounts,
    chain_head,
    journal_entries,
    pending_entries,
    postings,
)

# Table names as the schema has them (an attacker's SQL names the real tables).
ACCOUNTS, CHAIN_HEAD, ENTRIES = accounts.name, chain_head.name, journal_entries.name
PENDING, POSTINGS = pending_entries.name, postings.name


def _export(ledger: Ledger, path: Path) -> list[str]:
    ledger.export_journal(path)
    return path.read_text(encoding="utf-8").splitlines()


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _seq_of(lines: list[str], key: str) -> int:
    return next(json.loads(line)["seq"] for line in lines if json.loads(line)["key"] == key)


def _rechain(objs: list[dict[str, Any]]) -> list[str]:
    """What an attacker who knows the scheme writes: every hash recomputed."""
    prev, lines = GENESIS_HASH, []
    for obj in objs:
        body = {name: value for name, value in obj.items() if name != "hash"}
        body["prev_hash"] = prev
        prev, line = seal(body)
        lines.append(line)
    return lines


Verify = Callable[..., VerifyReport]


@pytest.fixture(params=["one-process", "chunked"])
def verify(request: pytest.FixtureRequest) -> Verify:
    """verify_file as it runs on small files, and as on large ones: split into chunks checked
    by worker processes and stitched (tiny chunks here, so every check crosses boundaries)."""
    if request.param == "one-process":
        return lambda path, **options: verify_file(path, workers=1, **options)
    return lambda path, **options: verify_file(path, workers=2, chunk_bytes=700, **options)


# -- clean -------------------------------------------------------------------------------


def test_clean_database_and_export_verify(
    full_ledger: Ledger, tmp_path: Path, verify: Verify
) -> None:
    report = full_ledger.verify()
    assert report.ok, report.findings
    assert report.entries == report.last_seq > 40
    assert {"chain", "rows", "balances", "pending_state", "accounts_table"} <= set(report.checks)
    path = tmp_path / "journal.jsonl"
    _export(full_ledger, path)
    from_file = verify(path)
    assert from_file.ok, from_file.findings
    assert (from_file.last_seq, from_file.last_hash) == (report.last_seq, report.last_hash)
    assert verify(path, expected_head=report.last_hash).ok


def test_reformatted_export_still_verifies(
    full_ledger: Ledger, tmp_path: Path, verify: Verify
) -> None:
    """Verification is over the canonical form, not the exact bytes: pretty JSON passes."""
    lines = _export(full_ledger, tmp_path / "a.jsonl")
    pretty = [json.dumps(json.loads(line), ensure_ascii=True, indent=None) for line in lines]
    assert pretty != lines
    assert verify(_write(tmp_path / "b.jsonl", pretty)).ok


def test_slice_verifies_from_its_anchor(
    full_ledger: Ledger, tmp_path: Path, verify: Verify
) -> None:
    path = tmp_path / "slice.jsonl"
    full_ledger.export_journal(path, start_seq=10, end_seq=25)
    report = verify(path, anchored=True)
    assert report.ok and report.anchored
    assert (report.first_seq, report.last_seq) == (10, 25)
    whole = verify(path)
    assert not whole.ok and whole.first_broken_seq == 1


# -- tampering with an export -------------------------------------------------------------


def test_changed_posting_amount_is_pinpointed(
    full_ledger: Ledger, tmp_path: Path, verify: Verify
) -> None:
    lines = _export(full_ledger, tmp_path / "a.jsonl")
    seq = _seq_of(lines, "order-42/fund")
    target = lines[seq - 1]
    assert '"amount":"1000.00"' in target
    lines[seq - 1] = target.replace('"amount":"1000.00"', '"amount":"1000.01"', 1)
    report = verify(_write(tmp_path / "b.jsonl", lines))
    assert not report.ok
    assert report.first_broken_seq == seq
    assert {(f.code, f.seq) for f in report.findings} == {
        ("JOURNAL_TAMPERED", seq),
        ("UNBALANCED_ENTRY", seq),
    }


def test_balanced_edit_is_still_tampering(
    full_ledger: Ledger, tmp_path: Path, verify: Verify
) -> None:
    lines = _export(full_ledger, tmp_path / "a.jsonl")
    seq = _seq_of(lines, "order-42/fund")
    lines[seq - 1] = lines[seq - 1].replace('"1000.00"', '"10.00"')
    report = verify(_write(tmp_path / "b.jsonl", lines))
    assert [(f.code, f.seq) for f in report.findings] == [("JOURNAL_TAMPERED", seq)]


def test_deleted_entry_is_pinpointed(full_ledger: Ledger, tmp_path: Path, verify: Verify) -> None:
    lines = _export(full_ledger, tmp_path / "a.jsonl")
    seq = _seq_of(lines, "loan-1/interest/d1")
    del lines[seq - 1]
    report = verify(_write(tmp_path / "b.jsonl", lines))
    assert report.first_broken_seq == seq
    codes = {(f.code, f.seq) for f in report.findings}
    assert ("SEQ_BROKEN", seq) in codes
    assert ("JOURNAL_TAMPERED", seq + 1) in codes  # its successor's prev_hash names it
    assert f"seq {seq}..{seq} missing" in report.findings[0].message


def test_swapped_entries_are_pinpointed(
    full_ledger: Ledger, tmp_path: Path, verify: Verify
) -> None:
    lines = _export(full_ledger, tmp_path / "a.jsonl")
    seq = _seq_of(lines, "cycle-1/pay-in")
    lines[seq - 1], lines[seq] = lines[seq], lines[seq - 1]
    report = verify(_write(tmp_path / "b.jsonl", lines))
    assert report.first_broken_seq == seq
    broken = {f.seq for f in report.findings}
    assert broken <= {seq, seq + 1, seq + 2}  # seq + 2's prev_hash no longer follows
    assert {f.code for f in report.findings} == {"SEQ_BROKEN", "JOURNAL_TAMPERED"}


def test_rewritten_chain_is_caught_by_a_recorded_head(
    full_ledger: Ledger, tmp_path: Path, verify: Verify
) -> None:
    lines = _export(full_ledger, tmp_path / "a.jsonl")
    head = json.loads(lines[-1])["hash"]
    objs = [json.loads(line) for line in lines]
    seq = _seq_of(lines, "order-42/fund")
    for posting in objs[seq - 1]["postings"]:
        posting["amount"] = "999.00"
    forged = _write(tmp_path / "b.jsonl", _rechain(objs))
    assert verify(forged).ok  # internally consistent: only a trusted head can tell
    report = verify(forged, expected_head=head)
    assert [f.code for f in report.findings] == ["HEAD_MISMATCH"]


def test_truncated_export_is_caught_by_a_recorded_head(
    full_ledger: Ledger, tmp_path: Path, verify: Verify
) -> None:
    lines = _export(full_ledger, tmp_path / "a.jsonl")
    head = json.loads(lines[-1])["hash"]
    report = verify(_write(tmp_path / "b.jsonl", lines[:-1]), expected_head=head)
    assert [(f.code, f.seq) for f in report.findings] == [("HEAD_MISMATCH", len(lines))]


def test_duplicate_key_is_named(full_ledger: Ledger, tmp_path: Path, verify: Verify) -> None:
    lines = _export(full_ledger, tmp_path / "a.jsonl")
    objs = [json.loads(line) for line in lines]
    first = _seq_of(lines, "loan-1/interest/d1")
    second = _seq_of(lines, "loan-1/repay")
    objs[second - 1]["key"] = "loan-1/interest/d1"
    report = verify(_write(tmp_path / "b.jsonl", _rechain(objs)))
    assert [(f.code, f.seq) for f in report.findings] == [("DUPLICATE_KEY", second)]
    assert report.findings[0].details["seqs"] == [first, second]


def test_semantic_checks_on_a_forged_chain(
    full_ledger: Ledger, tmp_path: Path, verify: Verify
) -> None:
    lines = _export(full_ledger, tmp_path / "a.jsonl")
    objs = [json.loads(line) for line in lines]
    posting_to_closed = {
        **objs[-1],
        "seq": len(objs) + 1,
        "key": "after-close",
        "kind": "transfer",
        "status": "posted",
        "postings": [
            {
                "account": "platform:closed-soon:EUR",
                "side": "debit",
                "amount": "1.00",
                "currency": "EUR",
            },
            {"account": "nowhere:EUR", "side": "credit", "amount": "1.00", "currency": "EUR"},
        ],
    }
    posting_to_closed.pop("account", None)
    void_twice = {
        **posting_to_closed,
        "seq": len(objs) + 2,
        "key": "void-again",
        "kind": "void_pending",
        "pending_key": "hold/void",
        "postings": [],
    }
    forged = _rechain([*objs, posting_to_closed, void_twice])
    assert verify_lines(forged).findings == verify(_write(tmp_path / "f.jsonl", forged)).findings
    report = verify(tmp_path / "f.jsonl")
    assert [(f.code, f.seq) for f in report.findings] == [
        ("ACCOUNT_INVALID", len(objs) + 1),
        ("ACCOUNT_INVALID", len(objs) + 1),
        ("PENDING_INVALID", len(objs) + 2),
    ]


def test_malformed_lines_are_findings_not_crashes(tmp_path: Path, verify: Verify) -> None:
    good = _rechain(
        [
            {
                "seq": 1,
                "key": "k",
                "kind": "transfer",
                "status": "posted",
                "description": "",
                "metadata": {},
                "effective_at": "2026-11-26T00:00:00.000000Z",
                "recorded_at": "2026-11-26T00:00:00.000000Z",
                "postings": [
                    {"account": "a", "side": "debit", "amount": "1.5", "currency": "EUR"},
                    {"account": "b", "side": "credit", "amount": "1.50", "currency": "XXQ"},
                ],
            }
        ]
    )
    report = verify(_write(tmp_path / "m.jsonl", ["not json", "[1, 2]", '{"seq": "1"}', *good]))
    lines = [(f.code, f.details.get("kind"), f.seq, f.details.get("line")) for f in report.findings]
    assert lines[:3] == [
        ("JOURNAL_TAMPERED", "MALFORMED_LINE", 1, 1),  # not JSON
        ("JOURNAL_TAMPERED", "MALFORMED_LINE", 2, 2),  # JSON, but not an object
        ("MALFORMED_ENTRY", None, 3, 3),  # an object, but no integer seq
    ]
    assert "MALFORMED_ENTRY" in {f.code for f in report.findings[3:]}
    with pytest.raises(JournalTamperedError) as raised:
        report.raise_if_broken()
    assert raised.value.details["first_broken_seq"] == 1


# -- tampering with the database -----------------------------------------------------------


def _tamper(ledger: Ledger, *statements: str) -> None:
    """Run SQL as an attacker with full rights: on PostgreSQL, append-only triggers go first."""
    postgres = ledger.engine.dialect.name == "postgresql"
    with ledger.engine.begin() as connection:
        if postgres:
            connection.execute(text(f"ALTER TABLE {ENTRIES} DISABLE TRIGGER USER"))
            connection.execute(text(f"ALTER TABLE {POSTINGS} DISABLE TRIGGER USER"))
        for statement in statements:
            connection.execute(text(statement))
        if postgres:
            connection.execute(text(f"ALTER TABLE {ENTRIES} ENABLE TRIGGER USER"))
            connection.execute(text(f"ALTER TABLE {POSTINGS} ENABLE TRIGGER USER"))


def _seq_of_key(ledger: Ledger, key: str) -> int:
    return ledger.entry(key).seq


def _tampering(report: VerifyReport) -> list[tuple[str | None, int | None, str | None]]:
    """(kind, seq, account) of every finding, which must all be JOURNAL_TAMPERED."""
    assert {f.code for f in report.findings} == {"JOURNAL_TAMPERED"}, report.findings
    return [(f.details.get("kind"), f.seq, f.details.get("account")) for f in report.findings]


def test_edited_posted_balance_row_is_tampering_named_by_account(full_ledger: Ledger) -> None:
    account = "participant:lodz.gallery:cash:EUR"
    _tamper(
        full_ledger,
        f"UPDATE {ACCOUNTS} SET credits_posted_minor = credits_posted_minor + 100 "
        f"WHERE code = '{account}'",
    )
    report = full_ledger.verify()
    assert _tampering(report) == [
        ("BALANCE_MISMATCH", None, account),
        ("BALANCE_MISMATCH", None, None),  # and EUR no longer nets to zero
    ]
    first = report.findings[0]
    assert first.details["column"] == "credits_posted_minor"
    assert first.details["stored_minor"] - first.details["postings_minor"] == 100
    assert first.where == f"account={account}"
    assert report.findings[1].where == "currency=EUR"
    assert (report.first_broken_seq, report.first_broken_account) == (None, account)
    assert report.first_broken == f"account {account}"
    assert report.to_dict()["first_broken_account"] == account
    with pytest.raises(JournalTamperedError) as raised:
        report.raise_if_broken()
    assert f"first broken account {account};" in raised.value.message
    assert "seq None" not in raised.value.message
    assert raised.value.details["first_broken_account"] == account


def test_edited_pending_balance_row_is_tampering(full_ledger: Ledger) -> None:
    account = "participant:duisburg_prints:cash:EUR"
    _tamper(full_ledger, f"UPDATE {ACCOUNTS} SET debits_pending_minor = 0 WHERE code = '{account}'")
    report = full_ledger.verify()
    assert ("BALANCE_MISMATCH", None, account) in _tampering(report)
    columns = {(f.details.get("account"), f.details.get("column")) for f in report.findings}
    assert (account, "debits_pending_minor") in columns
    assert report.first_broken == f"account {account}"


def test_edited_posting_row_is_tampering_at_its_seq(full_ledger: Ledger) -> None:
    seq = _seq_of_key(full_ledger, "order-42/fund")
    _tamper(full_ledger, f"UPDATE {POSTINGS} SET amount_minor = 1 WHERE entry_seq = {seq}")
    report = full_ledger.verify()
    assert report.first_broken_seq == seq
    found = _tampering(report)
    assert [s for kind, s, _ in found if kind == "ROW_MISMATCH"] == [seq]
    assert "BALANCE_MISMATCH" in {kind for kind, _, _ in found}
    assert report.first_broken == f"seq {seq}"


def test_edited_stored_line_is_pinpointed(full_ledger: Ledger) -> None:
    seq = _seq_of_key(full_ledger, "loan-1/draw")
    _tamper(
        full_ledger,
        f"UPDATE {ENTRIES} SET line = REPLACE(line, '10000.00', '10.00') WHERE seq = {seq}",
    )
    report = full_ledger.verify()
    assert report.first_broken_seq == seq
    found = _tampering(report)
    assert (None, seq, None) in found  # the hash no longer matches the line
    assert ("ROW_MISMATCH", seq, None) in found  # nor do the posting rows


def test_deleted_last_entry_is_caught_by_the_chain_head(full_ledger: Ledger) -> None:
    last = full_ledger.verify().last_seq
    _tamper(
        full_ledger,
        f"DELETE FROM {POSTINGS} WHERE entry_seq = {last}",
        f"DELETE FROM {ENTRIES} WHERE seq = {last}",
    )
    report = full_ledger.verify()
    assert report.first_broken_seq == last
    assert ("SEQ_BROKEN", last, None) in _tampering(report)


def test_edited_chain_head_row_is_tampering(full_ledger: Ledger) -> None:
    last = full_ledger.verify().last_seq
    _tamper(full_ledger, f"UPDATE {CHAIN_HEAD} SET last_hash = '{'f' * 64}' WHERE id = 1")
    report = full_ledger.verify()
    assert _tampering(report) == [("HEAD_MISMATCH", last, None)]


def test_edited_pending_state_and_account_rows_are_tampering(full_ledger: Ledger) -> None:
    seq = _seq_of_key(full_ledger, "hold/open")
    account = "participant:duisburg_prints:cash:JPY"
    _tamper(
        full_ledger,
        f"UPDATE {PENDING} SET state = 'voided' WHERE key = 'hold/open'",
        f"UPDATE {ACCOUNTS} SET status = 'open' WHERE code = '{account}'",
    )
    report = full_ledger.verify()
    found = _tampering(report)
    assert ("ROW_MISMATCH", seq, None) in found
    assert ("ROW_MISMATCH", None, account) in found
    assert (report.first_broken_seq, report.first_broken_account) == (seq, account)
    assert report.first_broken == f"seq {seq}"


def test_account_row_edited_alone_names_the_account(full_ledger: Ledger) -> None:
    account = "platform:closed-soon:EUR"
    _tamper(full_ledger, f"UPDATE {ACCOUNTS} SET status = 'open' WHERE code = '{account}'")
    report = full_ledger.verify()
    assert _tampering(report) == [("ROW_MISMATCH", None, account)]
    assert report.first_broken == f"account {account}"
    assert report.findings[0].to_dict()["kind"] == "ROW_MISMATCH"


# -- the key registry --------------------------------------------------------------------


def test_key_registry_spills_and_confirms_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys_module, "BUFFER_ENTRIES_MAX", 3)
    registry = KeyRegistry()
    keys = [f"k{index}" for index in range(500)] + ["k7", "k499"]
    for position, key in enumerate(keys, start=1):
        registry.add(key, position)
    at = {position: (position * 10, key) for position, key in enumerate(keys, start=1)}
    found = registry.duplicates(lambda positions: {p: at[p] for p in positions})
    assert found == [("k7", [80, 5010]), ("k499", [5000, 5020])]
    # equal hashes only make candidates: a resolver that sees different keys clears them
    assert registry.duplicates(lambda positions: {p: (p, f"other-{p}") for p in positions}) == []
    registry.close()


# -- any single-byte change -----------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_is_pinpointed(
    clean_lines: list[bytes], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(clean_lines) - 1), label="line")
    original = clean_lines[index]
    position = data.draw(st.integers(0, len(original) - 1), label="byte")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != original[position]), label="new")
    changed = original[:position] + bytes([byte]) + original[position + 1 :]
    try:
        same_content = json.loads(changed) == json.loads(original)
    except ValueError:
        same_content = False
    assume(not same_content)  # e.g. a space between tokens: the content, hence the hash, holds
    lines = [*clean_lines[:index], changed, *clean_lines[index + 1 :]]
    report = verify_lines(lines)
    assert not report.ok
    assert report.first_broken_seq == index + 1, report.findings[:3]

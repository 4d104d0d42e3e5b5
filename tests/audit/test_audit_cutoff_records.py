"""``cycle_cutoff`` records through verify (file and database), export and replay."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.clearing.model import ObligationRequest
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.journal.canonical import GENESIS_HASH, seal


def _fund(ledger: Ledger, participant: str, amount: str) -> None:
    from jiaolong_ledger import Entry, credit, debit

    cash, bank = f"participant:{participant}:cash:EUR", "platform:bank:EUR"
    with ledger.transaction() as tx:
        tx.ensure_account(bank, "EUR", "asset")
        tx.ensure_account(cash, "EUR", "liability", "debits_must_not_exceed_credits")
        tx.post_many(
            [
                Entry(
                    key=f"fund/{participant}",
                    postings=[
                        debit(bank, Money(amount, "EUR")),
                        credit(cash, Money(amount, "EUR")),
                    ],
                )
            ]
        )


@pytest.fixture
def cleared(ledger: Ledger) -> Ledger:
    """Two cycles cut off, the first settled: two cycle_cutoff records among entries."""
    for name in ("ava", "bo"):
        ledger.clearing.register_participant(name, "EUR")
    _fund(ledger, "ava", "500.00")
    _fund(ledger, "bo", "500.00")
    ledger.clearing.submit_many(
        [
            ObligationRequest("ava", "bo", Money("120.00", "EUR"), "x-1"),
            ObligationRequest("bo", "ava", Money("20.00", "EUR"), "x-2"),
        ]
    )
    ledger.clearing.cutoff()
    ledger.clearing.settle(1)
    ledger.clearing.cutoff()
    return ledger


def _lines(ledger: Ledger) -> list[str]:
    return list(ledger.journal_lines())


def test_verify_accepts_cutoff_records(cleared: Ledger, tmp_path: Path) -> None:
    kinds = [json.loads(line)["kind"] for line in _lines(cleared)]
    assert kinds.count("cycle_cutoff") == 2
    assert cleared.verify().ok
    journal = tmp_path / "journal.jsonl"
    cleared.export_journal(journal)
    db = cleared.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["--db", db, "journal", "verify", str(journal)])
    assert result.exit_code == 0, result.output + result.stderr


def test_replay_re_enacts_cutoff_records_byte_identical(
    cleared: Ledger, tmp_path: Path, make_url_for: Callable[[], str]
) -> None:
    journal = tmp_path / "journal.jsonl"
    cleared.export_journal(journal)
    replayed = Ledger.replay(journal, into=make_url_for())
    try:
        assert _lines(replayed) == _lines(cleared)
        assert replayed.verify().ok
    finally:
        replayed.close()


def _rechained(lines: list[str], index: int, change: Callable[[dict[str, object]], None]) -> str:
    """The journal with line ``index`` changed and every later line re-chained (a forger's
    consistent chain)."""
    out, prev = [], GENESIS_HASH
    for position, line in enumerate(lines):
        obj = json.loads(line)
        if position == index:
            change(obj)
        obj["prev_hash"] = prev
        del obj["hash"]
        prev, text = seal(obj)
        out.append(text)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize(
    "change",
    [
        lambda obj: obj.update(digest="not-hex"),
        lambda obj: obj.update(postings=[{"account": "x", "side": "debit"}]),
        lambda obj: obj.pop("obligations"),
        lambda obj: obj.update(key="cycle_cutoff:99"),
    ],
    ids=["digest", "postings", "members", "key"],
)
def test_verify_refuses_a_malformed_cutoff_record(
    cleared: Ledger, tmp_path: Path, change: Callable[[dict[str, object]], None]
) -> None:
    lines = _lines(cleared)
    index = next(i for i, line in enumerate(lines) if '"kind":"cycle_cutoff"' in line)
    journal = tmp_path / "forged.jsonl"
    journal.write_text(_rechained(lines, index, change), encoding="utf-8")
    db = cleared.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["--db", db, "journal", "verify", str(journal), "--json"])
    assert result.exit_code != 0
    assert "MALFORMED_ENTRY" in result.stdout + result.stderr
    assert f"seq {index + 1}" in result.stdout + result.stderr


def test_other_kinds_take_the_fast_path_unchanged(cleared: Ledger) -> None:
    """Every stored line equals the generic serialisation of its own object."""
    for line in _lines(cleared):
        obj = json.loads(line)
        del obj["hash"]
        assert seal(obj)[1] == line

"""Export: JSON Lines is the stored text; beancount passes bean-check and matches trial-balance."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data as beancount_data
from hypothesis import given
from hypothesis import strategies as st

from jiaolong_ledger import Ledger
from jiaolong_ledger.accounts.model import KINDS, check_account_code
from jiaolong_ledger.audit.beancount_format import beancount_account, ledger_account
from jiaolong_ledger.errors import InvalidInputError
from jiaolong_ledger.money import minor_to_decimal

BEANCOUNT_ACCOUNT = re.compile(
    r"(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z0-9][A-Za-z0-9-]*)+"
)


def test_jsonl_export_is_the_stored_lines(full_ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    count = full_ledger.export_journal(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert count == len(lines) == len(list(full_ledger.journal_lines()))
    assert lines == list(full_ledger.journal_lines())
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, count + 1))
    assert "蜀锦" in path.read_text(encoding="utf-8")  # UTF-8, not \u escapes


def test_seq_and_time_ranges_select_contiguous_slices(full_ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "slice.jsonl"
    assert full_ledger.export_journal(path, start_seq=5, end_seq=9) == 5
    seqs = [json.loads(line)["seq"] for line in path.read_text().splitlines()]
    assert seqs == [5, 6, 7, 8, 9]
    objs = [json.loads(line) for line in full_ledger.journal_lines()]
    since = datetime.strptime(objs[10]["recorded_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    until = datetime.strptime(objs[20]["recorded_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    full_ledger.export_journal(path, since=since, until=until)
    seqs = [json.loads(line)["seq"] for line in path.read_text().splitlines()]
    expected = [o["seq"] for o in objs if o["recorded_at"] >= objs[10]["recorded_at"]]
    expected = [s for s in expected if objs[s - 1]["recorded_at"] < objs[20]["recorded_at"]]
    assert seqs == expected and seqs[0] == objs[10]["seq"]
    assert seqs == list(range(seqs[0], seqs[-1] + 1))


def test_bad_format_and_range_are_input_errors(full_ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        full_ledger.export_journal(tmp_path / "x", format="xml")
    with pytest.raises(InvalidInputError):
        full_ledger.export_journal(tmp_path / "x", start_seq=9, end_seq=3)


def _bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("bean-check")
    assert executable, "bean-check (beancount v3, test extra) is not installed"
    return subprocess.run([executable, str(path)], capture_output=True, text=True, check=False)


def _beancount_balances(path: Path) -> dict[str, Decimal]:
    entries, errors, _ = loader.load_file(str(path))
    assert not errors, errors
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, beancount_data.Transaction):
            for posting in entry.postings:
                assert posting.units is not None
                balances[posting.account] += posting.units.number
    return balances


def test_beancount_export_passes_bean_check_and_matches_trial_balance(
    full_ledger: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "journal.beancount"
    count = full_ledger.export_journal(path, format="beancount")
    assert count == len(list(full_ledger.journal_lines()))
    result = _bean_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    balances = _beancount_balances(path)
    trial = full_ledger.trial_balance()
    assert trial.rows
    for row in trial.rows:
        name = beancount_account(row.account, row.kind)
        assert ledger_account(name) == (row.account, row.kind)
        expected = minor_to_decimal(row.debits_minor - row.credits_minor, row.currency)
        assert balances.get(name, Decimal(0)) == expected, row.account
    mapped = {beancount_account(row.account, row.kind) for row in trial.rows}
    assert set(balances) <= mapped


def test_beancount_holds_pending_entries_out_of_balances(
    full_ledger: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "journal.beancount"
    full_ledger.export_journal(path, format="beancount")
    entries, errors, _ = loader.load_file(str(path))
    assert not errors
    customs = [e for e in entries if isinstance(e, beancount_data.Custom)]
    pending = {e.values[0].value for e in customs if e.type == "jiaolong-pending"}
    assert pending == {"hold/full", "hold/part", "hold/void", "hold/expire", "hold/open"}
    resolved = {e.type: e.values[0].value for e in customs if e.type != "jiaolong-pending"}
    assert resolved == {
        "jiaolong-void-pending": "hold/void",
        "jiaolong-expire-pending": "hold/expire",
    }
    # the still-open hold is in the ledger's pending balance, not in beancount's or trial's
    lodz = full_ledger.balance("participant:lodz.gallery:cash:EUR")
    assert lodz.credits_pending_minor == 4000
    transactions = [e for e in entries if isinstance(e, beancount_data.Transaction)]
    keys = {t.meta["key"] for t in transactions}
    assert {"hold/full/post", "hold/part/post"} <= keys
    assert not keys & pending
    closes = [e for e in entries if isinstance(e, beancount_data.Close)]
    assert [c.account for c in closes] == ["Assets:Platform:Closed-soon:EUR"]


def test_beancount_range_export_is_valid(full_ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "range.beancount"
    full_ledger.export_journal(path, format="beancount", start_seq=20, end_seq=30)
    result = _bean_check(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_beancount_names_reject_what_the_mapping_never_makes() -> None:
    for name in ("Assets", "Nope:Cash", "Assets:lower", "Assets:A_b"):
        with pytest.raises(Exception, match="not a mapped beancount account"):
            ledger_account(name)


SEGMENT = st.from_regex(r"[a-z0-9]([a-z0-9_.-]{0,6}[a-z0-9])?", fullmatch=True)


@given(
    segments=st.lists(SEGMENT, min_size=1, max_size=4),
    currency=st.sampled_from([None, "EUR", "CNY", "JPY", "KWD"]),
    kind=st.sampled_from(KINDS),
)
def test_beancount_account_names_are_valid_and_reversible(
    segments: list[str], currency: str | None, kind: str
) -> None:
    code = ":".join(segments) + (f":{currency}" if currency else "")
    check_account_code(code)
    name = beancount_account(code, kind)
    assert BEANCOUNT_ACCOUNT.fullmatch(name), name
    assert ledger_account(name) == (code, kind)


def test_beancount_names_are_injective() -> None:
    codes = ["a_b:x", "a.b:x", "a-b:x", "ab:x", "a:b_x", "eur:x", "x:EUR", "x:eur", "u:x", "a_u:x"]
    names = {beancount_account(code, "asset") for code in codes}
    assert len(names) == len(codes)


def test_csv_export_has_one_row_per_posting(full_ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "journal.csv"
    count = full_ledger.export_journal(path, format="csv")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    objs = [json.loads(line) for line in full_ledger.journal_lines()]
    assert count == len(objs)
    assert len(rows) == sum(max(1, len(o["postings"])) for o in objs)
    assert {int(row["seq"]) for row in rows} == {o["seq"] for o in objs}
    by_key = {row["key"]: row for row in rows}
    deposit = next(o for o in objs if o["key"] == "deposit/duisburg")
    assert by_key["deposit/duisburg"]["description"] == deposit["description"]
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        if row["side"]:
            sign = 1 if row["side"] == "debit" else -1
            totals[(row["status"], row["currency"])] += sign * Decimal(row["amount"])
    assert all(total == 0 for total in totals.values())

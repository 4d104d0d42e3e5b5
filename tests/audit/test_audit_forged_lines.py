"""Lines a hostile hand chained correctly, and stored lines edited in place: typed outcomes.

A line whose hash is right can still hold anything at all in its members: verify reports it,
replay refuses it with a ``LedgerError`` and keeps nothing (never a traceback). A stored line
edited into bad JSON is ``JOURNAL_TAMPERED`` of kind ``MALFORMED_LINE`` at its seq, on SQLite
and PostgreSQL, through ``Ledger.verify`` and ``journal verify``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from jiaolong_ledger import Ledger
from jiaolong_ledger.audit.verify import verify_lines
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.errors import JournalTamperedError, LedgerError
from jiaolong_ledger.journal.canonical import seal
from jiaolong_ledger.storage.tables import accounts, journal_entries

TARGET_KEY = "loan-1/interest/d1"


def _is_empty(url: str) -> bool:
    ledger = Ledger.connect(url)
    try:
        with ledger.engine.connect() as connection:
            count = connection.execute(select(func.count()).select_from(accounts)).scalar()
            lines = connection.execute(select(func.count()).select_from(journal_entries)).scalar()
        return count == 0 and lines == 0
    finally:
        ledger.close()


def test_replay_of_a_forged_line_missing_what_replay_reads(
    clean_lines: list[bytes], tmp_path: Path, make_url_for: Callable[[], str]
) -> None:
    """A correctly chained line that lacks recorded_at: MALFORMED_ENTRY stops the replay (it
    was a KeyError traceback)."""
    last = json.loads(clean_lines[-1])
    body = {**json.loads(clean_lines[-2]), "seq": last["seq"] + 1, "prev_hash": last["hash"]}
    body["key"] = "forged"
    del body["hash"], body["recorded_at"]
    path = tmp_path / "forged.jsonl"
    path.write_bytes(b"\n".join([*clean_lines, seal(body)[1].encode()]) + b"\n")
    url = make_url_for()
    with pytest.raises(JournalTamperedError, match=r"MALFORMED_ENTRY: .*recorded_at"):
        Ledger.replay(path, into=url)
    assert _is_empty(url)


# -- a database whose stored lines were edited ---------------------------------------------------


def _edit_line(ledger: Ledger, seq: int, line: str) -> None:
    postgres = ledger.engine.dialect.name == "postgresql"
    with ledger.engine.begin() as connection:
        if postgres:
            connection.execute(text(f"ALTER TABLE {journal_entries.name} DISABLE TRIGGER USER"))
        connection.execute(
            journal_entries.update().where(journal_entries.c.seq == seq).values(line=line)
        )
        if postgres:
            connection.execute(text(f"ALTER TABLE {journal_entries.name} ENABLE TRIGGER USER"))


@pytest.fixture
def stored(full_ledger: Ledger) -> Iterator[tuple[Ledger, int, str]]:
    seq = full_ledger.entry(TARGET_KEY).seq
    yield full_ledger, seq, next(iter(full_ledger.journal_lines(seq, seq)))


@pytest.mark.parametrize(
    "edit",
    [
        lambda line: "",
        lambda line: line.replace('"kind":', '"kind":"settlement","kind":', 1),
        lambda line: line.replace('"metadata":{}', '"metadata":' + "[" * 50_000 + "]" * 50_000),
        lambda line: line.replace('"metadata":{}', '"metadata":{"n":' + "9" * 5_000 + "}"),
    ],
    ids=["emptied", "a duplicate key", "nesting past the recursion limit", "a huge integer"],
)
def test_a_stored_line_edited_into_bad_json_is_tampering(
    stored: tuple[Ledger, int, str], edit: Callable[[str], str]
) -> None:
    ledger, seq, line = stored
    _edit_line(ledger, seq, edit(line))
    report = ledger.verify()
    assert report.first_broken_seq == seq
    first = report.findings[0]
    assert (first.code, first.seq, first.details["kind"]) == (
        "JOURNAL_TAMPERED",
        seq,
        "MALFORMED_LINE",
    )
    url = ledger.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["--db", url, "journal", "verify"])
    assert "Traceback" not in result.output
    assert result.exit_code == 1 and f"JOURNAL_TAMPERED seq={seq}: line {seq}: " in result.stdout


def test_posting_rows_are_not_compared_with_an_unreadable_line(full_ledger: Ledger) -> None:
    """The bad line is the finding; its posting rows are not reported a second time."""
    seq = full_ledger.entry(TARGET_KEY).seq
    _edit_line(full_ledger, seq, "not json")
    report = full_ledger.verify()
    assert [(f.seq, f.details.get("kind")) for f in report.findings if f.seq == seq] == [
        (seq, "MALFORMED_LINE")
    ]


# -- any well-chained line, however odd its members: a typed outcome ----------------------------

_SCALARS = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=6)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_TIMESTAMP = st.sampled_from(["2026-11-26T08:00:00.000000Z", "2026-11-26", "x"]) | _JSON
_POSTING = (
    st.fixed_dictionaries(
        {
            "account": st.sampled_from(["platform:bank:EUR", "platform:suspense:EUR"]) | _JSON,
            "side": st.sampled_from(["debit", "credit"]) | _JSON,
            "amount": st.sampled_from(["1.00", "0.00", "1.0", "99999999999999999999.00"]) | _JSON,
            "currency": st.sampled_from(["EUR", "CNY", "XXQ"]) | _JSON,
        }
    )
    | _JSON
)
_MEMBERS: dict[str, st.SearchStrategy[Any]] = {
    "kind": st.sampled_from(
        ["transfer", "pending", "post_pending", "reversal", "open_account", "cycle_cutoff"]
    )
    | _JSON,
    "status": st.sampled_from(["posted", "pending"]) | _JSON,
    "postings": st.lists(_POSTING, max_size=3) | _JSON,
    "metadata": st.dictionaries(st.text(max_size=4), _JSON, max_size=2) | _JSON,
    "effective_at": _TIMESTAMP,
    "recorded_at": _TIMESTAMP,
    "expires_at": _TIMESTAMP,
    "pending_key": st.sampled_from(["hold/open", "nope"]) | _JSON,
    "account": st.fixed_dictionaries(
        {"code": st.text(max_size=8), "currency": _JSON, "kind": _JSON, "constraint": _JSON}
    )
    | _JSON,
    "cycle": _JSON,
    "obligations": _JSON,
    "digest": st.sampled_from(["0" * 64]) | _JSON,
}


@st.composite
def _forged_line(draw: st.DrawFn, last: dict[str, Any]) -> bytes:
    """A line that chains correctly after ``last`` and whose members are anything at all."""
    names = draw(st.sets(st.sampled_from(sorted(_MEMBERS)), max_size=len(_MEMBERS)))
    body: dict[str, Any] = {name: draw(_MEMBERS[name]) for name in names}
    body |= {"seq": last["seq"] + 1, "prev_hash": last["hash"]}
    body["key"] = draw(st.sampled_from(["forged", "hold/open"]) | _JSON)
    body["description"] = draw(st.text(max_size=4) | _JSON)
    return seal(body)[1].encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_verify_of_any_chained_line_reports_and_never_raises(
    clean_lines: list[bytes], data: st.DataObject
) -> None:
    line = data.draw(_forged_line(json.loads(clean_lines[-1])), label="line")
    report = verify_lines([*clean_lines, line])
    assert report.entries == len(clean_lines) + 1 or not report.ok


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_replay_of_any_chained_line_is_typed_and_keeps_nothing_when_refused(
    clean_lines: list[bytes], tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    line = data.draw(_forged_line(json.loads(clean_lines[-1])), label="line")
    directory = tmp_path_factory.mktemp("forged")
    path = directory / "forged.jsonl"
    path.write_bytes(b"".join(entry + b"\n" for entry in [*clean_lines, line]))
    url = f"sqlite:///{directory}/target.db"
    try:
        Ledger.replay(path, into=url).close()
    except LedgerError:
        assert _is_empty(url)

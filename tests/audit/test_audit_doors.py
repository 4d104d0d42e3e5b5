"""The audit's file doors under the intake rules, with hostile files.

``verify_file`` (in one process and split across worker processes), ``Ledger.replay`` and the
CLI (``journal verify FILE``, ``journal replay FILE --into URL``): a file that cannot be read is
``INVALID_INPUT`` (exit 2); a line of a readable file that the intake layer refuses is a
``JOURNAL_TAMPERED`` finding of kind ``MALFORMED_LINE`` naming its seq and line (verify: exit 1;
replay: stops with ``JOURNAL_TAMPERED``, exit 1, the target left empty). Never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from jiaolong_ledger import Ledger
from jiaolong_ledger.audit.report import VerifyReport
from jiaolong_ledger.audit.verify import verify_file, verify_lines
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.errors import InvalidInputError, JournalTamperedError
from jiaolong_ledger.intake import INTEGER_DIGITS_MAX, JSON_DEPTH_MAX, LINE_BYTES_MAX, json_lines
from jiaolong_ledger.storage.tables import accounts, journal_entries

TARGET_KEY = "loan-1/interest/d1"
"""The entry the hostile line replaces: a transfer nothing later refers to, so the bad line is
the file's only finding."""


def _metadata(line: bytes, metadata: bytes) -> bytes:
    start = line.index(b'"metadata":') + len(b'"metadata":')
    return line[:start] + metadata + line[line.index(b',"postings"', start) :]


def _description(line: bytes, prefix: bytes) -> bytes:
    return line.replace(b'"description":"', b'"description":"' + prefix, 1)


HOSTILE: dict[str, Callable[[bytes], bytes]] = {
    "not UTF-8": lambda line: _description(line, b"\xff"),
    "an encoded surrogate": lambda line: _description(line, b"\xed\xa0\x80"),
    "a lone surrogate escape": lambda line: _description(line, b"\\ud800"),
    "a line over LINE_BYTES_MAX": lambda line: _description(line, b"a" * LINE_BYTES_MAX),
    "nesting over JSON_DEPTH_MAX": lambda line: _metadata(
        line, b'{"a":' * JSON_DEPTH_MAX + b"1" + b"}" * JSON_DEPTH_MAX
    ),
    "nesting past the recursion limit": lambda line: _metadata(
        line, b"[" * 100_000 + b"]" * 100_000
    ),
    "an integer over INTEGER_DIGITS_MAX": lambda line: _metadata(
        line, b'{"n":' + b"9" * (INTEGER_DIGITS_MAX + 1) + b"}"
    ),
    "a 5,000-digit integer": lambda line: _metadata(line, b'{"n":' + b"9" * 5_000 + b"}"),
    "NaN": lambda line: _metadata(line, b'{"rate":NaN}'),
    "-Infinity": lambda line: _metadata(line, b'{"rate":-Infinity}'),
    "a duplicate key": lambda line: line.replace(b'"kind":', b'"kind":"settlement","kind":', 1),
    "not JSON": lambda line: line[: len(line) // 2],
    "not an object": lambda _line: b'["seq", 1]',
}
CASES = sorted(HOSTILE)


@pytest.fixture(scope="module")
def target_seq(clean_lines: list[bytes]) -> int:
    return next(i for i, line in enumerate(clean_lines, 1) if json.loads(line)["key"] == TARGET_KEY)


def _hostile_file(
    directory: Path, clean_lines: list[bytes], seq: int, case: str, blank_lines: int = 0
) -> Path:
    lines = [*clean_lines]
    lines[seq - 1] = HOSTILE[case](lines[seq - 1])
    path = directory / f"{case.replace(' ', '-')}.jsonl"
    path.write_bytes(b"\n" * blank_lines + b"".join(line + b"\n" for line in lines))
    return path


def _intake_reason(line: bytes, directory: Path) -> str:
    """What the intake layer itself says about ``line`` (as line 1 of a JSON Lines file)."""
    probe = directory / "probe.jsonl"
    probe.write_bytes(line + b"\n")
    with pytest.raises(InvalidInputError) as refused:
        list(json_lines(probe))
    return refused.value.message.removeprefix("line 1: ")


Verify = Callable[..., VerifyReport]


@pytest.fixture(params=["one process", "chunks of 700 bytes", "chunks of 3000 bytes"])
def verify(request: pytest.FixtureRequest) -> Verify:
    """verify_file as on a small file, and split across two worker processes (tiny chunks, so
    the bad line lands first in its chunk, inside it, or last)."""
    if request.param == "one process":
        return lambda path: verify_file(path, workers=1)
    chunk_bytes = int(request.param.split()[2])
    return lambda path: verify_file(path, workers=2, chunk_bytes=chunk_bytes)


def _findings(report: VerifyReport) -> list[tuple[str, int | None, str | None, int | None]]:
    return [(f.code, f.seq, f.details.get("kind"), f.details.get("line")) for f in report.findings]


# -- verify_file --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_line_is_one_finding_naming_seq_and_line(
    case: str, clean_lines: list[bytes], target_seq: int, tmp_path: Path, verify: Verify
) -> None:
    path = _hostile_file(tmp_path, clean_lines, target_seq, case)
    report = verify(path)
    assert _findings(report) == [("JOURNAL_TAMPERED", target_seq, "MALFORMED_LINE", target_seq)]
    assert report.first_broken_seq == target_seq
    assert report.entries == len(clean_lines) - 1
    finding = report.findings[0]
    bad_line = path.read_bytes().split(b"\n")[target_seq - 1]
    reason = finding.details["reason"]
    assert reason == f"not valid JSON Lines: {_intake_reason(bad_line, tmp_path)}"
    assert finding.message == f"line {target_seq}: {reason}"
    with pytest.raises(JournalTamperedError) as raised:
        report.raise_if_broken()
    assert raised.value.details["first_broken_seq"] == target_seq


@pytest.mark.parametrize("case", ["not UTF-8", "nesting past the recursion limit", "NaN"])
def test_lines_are_numbered_in_the_file_blank_lines_included(
    case: str, clean_lines: list[bytes], target_seq: int, tmp_path: Path, verify: Verify
) -> None:
    path = _hostile_file(tmp_path, clean_lines, target_seq, case, blank_lines=3)
    assert _findings(verify(path)) == [
        ("JOURNAL_TAMPERED", target_seq, "MALFORMED_LINE", target_seq + 3)
    ]


def test_bad_lines_first_and_last_in_the_file(
    clean_lines: list[bytes], tmp_path: Path, verify: Verify
) -> None:
    """A bad first line stands in for seq 1 (in every chunking); a bad last line is reported
    and the chain before it still verifies."""
    last = len(clean_lines)
    lines = [b"{", *clean_lines[1:-1], b'{"seq": 1, "seq": 1}']
    path = tmp_path / "ends.jsonl"
    path.write_bytes(b"\n".join(lines))  # no newline after the last line
    found = _findings(verify(path))
    assert found[0] == ("JOURNAL_TAMPERED", 1, "MALFORMED_LINE", 1)
    assert [finding for finding in found if finding[2] == "MALFORMED_LINE"] == [
        ("JOURNAL_TAMPERED", 1, "MALFORMED_LINE", 1),
        ("JOURNAL_TAMPERED", last, "MALFORMED_LINE", last),
    ]
    # the rest follows from line 1 (it opened an account) not being read
    assert {code for code, _, kind, _ in found if kind is None} <= {"ACCOUNT_INVALID"}


def test_the_worker_path_reports_what_one_process_reports(
    clean_lines: list[bytes], tmp_path: Path
) -> None:
    """Several bad lines of every kind, with blank lines between: the same findings, in the
    same order, whether one process reads the file or workers read it in chunks."""
    lines = [*clean_lines]
    for index, case in zip(range(3, len(lines), 3), CASES, strict=False):
        lines[index] = HOSTILE[case](lines[index])
    path = tmp_path / "many.jsonl"
    path.write_bytes(b"".join(line + b"\n\n" for line in lines))
    one = verify_file(path, workers=1)
    assert len([f for f in one.findings if f.details.get("kind") == "MALFORMED_LINE"]) > 10
    for chunk_bytes in (500, 700, 1_500, 4_000):
        chunked = verify_file(path, workers=2, chunk_bytes=chunk_bytes)
        malformed = [f.to_dict() for f in one.findings if "line" in f.details]
        assert [f.to_dict() for f in chunked.findings if "line" in f.details] == malformed
        assert chunked.first_broken_seq == one.first_broken_seq
        assert (chunked.entries, chunked.last_seq) == (one.entries, one.last_seq)


def test_an_endless_line_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """40 MiB without a newline (then a line after it): one finding, and verify never holds
    more than a few MiB, in one process or in workers."""
    path = tmp_path / "endless.jsonl"
    with path.open("wb") as handle:
        handle.write(b'{"seq":1,"description":"')
        for _ in range(40):
            handle.write(b"x" * (1 << 20))
        handle.write(b'"}\n{"seq": 2}\n')
    tracemalloc.start()
    try:
        report = verify_file(path, workers=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 << 20, f"peak {peak / 2**20:.1f} MiB"
    assert _findings(report)[0] == ("JOURNAL_TAMPERED", 1, "MALFORMED_LINE", 1)
    assert "longer than" in report.findings[0].message
    assert _findings(verify_file(path, workers=2, chunk_bytes=1 << 20)) == _findings(report)


def test_crlf_and_a_line_of_exactly_line_bytes_max_are_not_findings(
    clean_lines: list[bytes], tmp_path: Path, verify: Verify
) -> None:
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b"".join(line + b"\r\n" for line in clean_lines))
    assert verify(path).ok
    head = b'{"seq":1,"description":"'
    exact = head + b"a" * (LINE_BYTES_MAX - len(head) - 2) + b'"}'
    assert [f.details.get("kind") for f in verify_lines([exact + b"\r"]).findings].count(
        "MALFORMED_LINE"
    ) == 0
    assert _findings(verify_lines([exact[:-2] + b'a"}']))[0][2] == "MALFORMED_LINE"


def test_verify_lines_applies_the_same_rules() -> None:
    report = verify_lines(['{"seq": 1, "seq": 2}', "", "\ud800", b"\xff", "[" * 5_000])
    assert _findings(report) == [
        ("JOURNAL_TAMPERED", seq, "MALFORMED_LINE", line)
        for seq, line in [(1, 1), (2, 3), (3, 4), (4, 5)]
    ]


# -- files that cannot be read: INVALID_INPUT -----------------------------------------------


def _unreadable(monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    """``target`` refuses to open, as a file without read permission does (tests may run as
    root, whom permissions do not stop)."""
    real_open = Path.open

    def refusing_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refusing_open)


UNREADABLE = ["missing", "a directory", "a pipe", "unreadable", "failing reads"]


@pytest.fixture
def unreadable_file(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """(path, what INVALID_INPUT says about it)."""
    case = request.param
    if case == "missing":
        return tmp_path / "missing.jsonl", "does not exist"
    if case == "a directory":
        return tmp_path, "is not a regular file"
    if case == "a pipe":
        os.mkfifo(tmp_path / "pipe")
        return tmp_path / "pipe", "is not a regular file"
    if case == "unreadable":
        path = tmp_path / "secret.jsonl"
        path.write_text("{}\n", encoding="utf-8")
        _unreadable(monkeypatch, path)
        return path, "is not readable"
    return Path("/proc/self/mem"), "cannot be read (at line 1)"  # a regular file; reads fail


@pytest.mark.parametrize("unreadable_file", UNREADABLE, indirect=True)
def test_a_file_that_cannot_be_read_is_invalid_input(
    unreadable_file: tuple[Path, str], verify: Verify
) -> None:
    path, says = unreadable_file
    with pytest.raises(InvalidInputError) as raised:
        verify(path)
    assert says in raised.value.message and str(path) in raised.value.message
    assert raised.value.exit_code == 2


# -- replay: refused before anything is kept ---------------------------------------------------


def _is_empty(url: str) -> bool:
    ledger = Ledger.connect(url)
    try:
        with ledger.engine.connect() as connection:
            count = connection.execute(select(func.count()).select_from(accounts)).scalar()
            lines = connection.execute(select(func.count()).select_from(journal_entries)).scalar()
        return count == 0 and lines == 0
    finally:
        ledger.close()


@pytest.mark.parametrize("case", CASES)
def test_replay_stops_at_a_hostile_line_and_keeps_nothing(
    case: str,
    clean_lines: list[bytes],
    target_seq: int,
    tmp_path: Path,
    make_url_for: Callable[[], str],
) -> None:
    path = _hostile_file(tmp_path, clean_lines, target_seq, case)
    url = make_url_for()
    with pytest.raises(JournalTamperedError) as raised:
        Ledger.replay(path, into=url)
    assert raised.value.details["seq"] == target_seq
    assert raised.value.details["finding"]["kind"] == "MALFORMED_LINE"
    assert raised.value.details["finding"]["line"] == target_seq
    assert raised.value.message.startswith(f"replay stopped at seq {target_seq}: ")
    assert _is_empty(url)


@pytest.mark.parametrize("unreadable_file", UNREADABLE, indirect=True)
def test_replay_of_a_file_that_cannot_be_read(
    unreadable_file: tuple[Path, str], make_url_for: Callable[[], str]
) -> None:
    path, says = unreadable_file
    url = make_url_for()
    with pytest.raises(InvalidInputError, match=re.escape(says)):
        Ledger.replay(path, into=url)
    assert _is_empty(url)


# -- the CLI ------------------------------------------------------------------------------------


def _run(*args: str, input: bytes | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=input)
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.parametrize("case", CASES)
def test_cli_verify_of_a_hostile_file_exits_1_with_the_finding(
    case: str, clean_lines: list[bytes], target_seq: int, tmp_path: Path
) -> None:
    path = _hostile_file(tmp_path, clean_lines, target_seq, case)
    result = _run("journal", "verify", str(path))
    assert result.exit_code == 1
    assert f"JOURNAL_TAMPERED seq={target_seq}: line {target_seq}: not valid JSON Lines: " in (
        result.stdout
    )
    assert f"first broken seq {target_seq}" in result.stdout
    data = json.loads(_run("--json", "journal", "verify", str(path)).stdout)
    assert (data["ok"], data["first_broken_seq"]) == (False, target_seq)
    assert data["findings"][0]["kind"] == "MALFORMED_LINE"
    assert data["findings"][0]["line"] == target_seq


@pytest.mark.parametrize("case", CASES)
def test_cli_replay_of_a_hostile_file_exits_1_and_keeps_nothing(
    case: str,
    clean_lines: list[bytes],
    target_seq: int,
    tmp_path: Path,
    make_url_for: Callable[[], str],
) -> None:
    path = _hostile_file(tmp_path, clean_lines, target_seq, case)
    url = make_url_for()
    result = _run("journal", "replay", str(path), "--into", url)
    assert result.exit_code == 1
    assert f"error: JOURNAL_TAMPERED: replay stopped at seq {target_seq}: " in result.stderr
    assert _is_empty(url)


@pytest.mark.parametrize("unreadable_file", UNREADABLE, indirect=True)
def test_cli_refuses_a_file_that_cannot_be_read_with_exit_2(
    unreadable_file: tuple[Path, str], make_url_for: Callable[[], str]
) -> None:
    path, says = unreadable_file
    url = make_url_for()
    for args in (["journal", "verify", str(path)], ["journal", "replay", str(path), "--into", url]):
        result = _run(*args)
        assert result.exit_code == 2, result.output
        assert f"error: INVALID_INPUT: journal file {str(path)!r} {says}" in result.stderr
    assert _is_empty(url)


def test_cli_reads_standard_input_under_the_same_rules(
    clean_lines: list[bytes], target_seq: int, tmp_path: Path, make_url_for: Callable[[], str]
) -> None:
    clean = b"".join(line + b"\n" for line in clean_lines)
    result = CliRunner().invoke(cli, ["journal", "verify", "-"], input=clean)
    assert result.exit_code == 0 and result.stdout.startswith("ok: "), result.output
    hostile = _hostile_file(tmp_path, clean_lines, target_seq, "a duplicate key").read_bytes()
    result = _run("journal", "verify", "-", input=hostile)
    assert result.exit_code == 1
    assert f"JOURNAL_TAMPERED seq={target_seq}: line {target_seq}: " in result.stdout
    url = make_url_for()
    result = _run("journal", "replay", "-", "--into", url, input=hostile)
    assert result.exit_code == 1
    assert f"error: JOURNAL_TAMPERED: replay stopped at seq {target_seq}: " in result.stderr
    assert _is_empty(url)
    result = _run("journal", "replay", "-", "--into", url, input=clean)
    assert result.exit_code == 0 and "database verifies ok" in result.stdout, result.output

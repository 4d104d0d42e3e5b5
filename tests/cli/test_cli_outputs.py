"""Output paths are checked before anything is done; a write that still fails says what happened.

``journal export -o FILE`` and ``demo --out DIR`` refuse a path they cannot write
(``INVALID_INPUT``, exit 2, nothing created); a write that fails afterwards is
``OUTPUT_NOT_WRITTEN`` (exit 3) with the command that writes the file again.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jiaolong_ledger import Ledger
from jiaolong_ledger.cli.main import cli

CASH = "participant:acme:cash:EUR"
SMALL_DEMO = ("--participants", "3", "--orders", "2")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def assert_error(result: Result, code: str, exit_code: int) -> str:
    assert result.exit_code == exit_code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert f"error: {code}: " in result.stderr, result.stderr
    return result.stderr


@pytest.fixture
def books(db_url: str) -> str:
    with Ledger.connect(db_url) as ledger:
        ledger.open_account(CASH, currency="EUR", kind="liability")
    return db_url


# -- journal export -o ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "beancount", "csv"])
def test_export_to_a_missing_folder_is_refused(books: str, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / "missing" / f"journal.{fmt}"
    message = assert_error(
        run("--db", books, "journal", "export", "--format", fmt, "-o", str(target)),
        "INVALID_INPUT",
        2,
    )
    assert "does not exist" in message
    assert not (tmp_path / "missing").exists()


def test_export_to_a_directory_is_refused(books: str, tmp_path: Path) -> None:
    assert_error(run("--db", books, "journal", "export", "-o", str(tmp_path)), "INVALID_INPUT", 2)


def test_export_to_a_file_equals_the_stream(books: str, tmp_path: Path) -> None:
    target = tmp_path / "journal.jsonl"
    written = run("--db", books, "journal", "export", "-o", str(target))
    assert written.exit_code == 0, written.output
    streamed = run("--db", books, "journal", "export")
    assert target.read_text("utf-8") == streamed.stdout
    assert "exported 1 entries (jsonl)" in written.stderr


@pytest.mark.skipif(
    not Path("/dev/full").exists() or not os.access("/dev", os.W_OK),
    reason="needs a writable /dev/full (Linux, as root)",
)
def test_export_that_fails_while_writing_says_how_to_write_it_again(books: str) -> None:
    message = assert_error(
        run("--db", books, "journal", "export", "-o", "/dev/full"), "OUTPUT_NOT_WRITTEN", 3
    )
    assert "nothing changed in the ledger" in message
    assert "write it again with: jiaolong journal export --format jsonl -o /dev/full" in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_export_into_a_read_only_folder_is_refused(books: str, tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        message = assert_error(
            run("--db", books, "journal", "export", "-o", str(folder / "j.jsonl")),
            "INVALID_INPUT",
            2,
        )
        assert "not writable" in message
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


# -- demo --out -------------------------------------------------------------------------------


def test_demo_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("x", encoding="utf-8")
    for out in (afile, afile / "demo"):
        message = assert_error(run("demo", "--out", str(out), *SMALL_DEMO), "INVALID_INPUT", 2)
        assert "is not a directory" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_demo_out_whose_database_path_is_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "demo.db").mkdir()
    message = assert_error(run("demo", "--out", str(tmp_path), *SMALL_DEMO), "INVALID_INPUT", 2)
    assert "is a directory" in message
    assert [p.name for p in tmp_path.iterdir()] == ["demo.db"]


def test_demo_makes_missing_folders(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    result = run("demo", "--out", str(out), *SMALL_DEMO)
    assert result.exit_code == 0, result.output
    assert (out / "demo.db").is_file() and (out / "journal.jsonl").is_file()


def test_demo_output_failing_after_commits_is_exit_3(tmp_path: Path) -> None:
    """The demo commits as it goes; a file it cannot write afterwards is OUTPUT_NOT_WRITTEN
    naming the database that holds the work and the command that runs it again."""
    (tmp_path / "journal.jsonl").mkdir()  # the audit step's export cannot write here
    message = assert_error(
        run("demo", "--out", str(tmp_path), *SMALL_DEMO), "OUTPUT_NOT_WRITTEN", 3
    )
    assert str(tmp_path / "demo.db") in message
    assert f"jiaolong demo --out {tmp_path}" in message

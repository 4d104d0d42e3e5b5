"""Read-only commands never create a ledger; a mistyped --db is an error, not an empty ledger.

Only ``db upgrade``, ``demo`` and write commands create (and migrate) a database. Every other
command refuses with ``INVALID_INPUT`` (exit 2) when there is no ledger at ``--db`` -- a missing
or empty SQLite file, a PostgreSQL schema without the ledger's tables -- or when the schema is
older than the code, and leaves the database exactly as it found it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from jiaolong_ledger import Ledger
from jiaolong_ledger.cli.common import (
    CREATING_COMMANDS,
    OWN_DATABASE_COMMANDS,
    READ_ONLY_COMMANDS,
)
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.storage.migrate import current_revision, downgrade, head_revision

CASH = "participant:acme:cash:EUR"
NO_LEDGER = "; jiaolong db upgrade creates one"

READ_ONLY_CASES: dict[str, tuple[str, ...]] = {
    "accounts list": (),
    "balance": (CASH,),
    "trial-balance": ("--as-of", "2026-11-30"),
    "statement": (CASH,),
    "fx rate": ("EUR", "USD"),
    "fx convert": ("1.00", "EUR", "USD"),
    "escrow show": ("order-1",),
    "escrow list": (),
    "clearing participants": (),
    "clearing cycles": (),
    "clearing report": ("1",),
    "clearing export-iso20022": ("1", "."),
    "clearing obligations": ("1",),
    "clearing export-obligations": ("1", "obligations.jsonl"),
    "financing show": ("facility-1",),
    "journal export": (),
    "journal verify": (),
}


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args])


def refused(result: Result, fragment: str = NO_LEDGER) -> str:
    """``error: INVALID_INPUT: ...`` on stderr, exit 2, no traceback; returns the message."""
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: INVALID_INPUT: "), result.stderr
    assert fragment in result.stderr, result.stderr
    return result.stderr


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[str]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from leaf_commands(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name))


def tables(db_url: str) -> list[str]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return sorted(inspect(connection).get_table_names())
    finally:
        engine.dispose()


# -- classification -------------------------------------------------------------------------


def test_every_command_is_classified_once() -> None:
    sets = (CREATING_COMMANDS, READ_ONLY_COMMANDS, OWN_DATABASE_COMMANDS)
    for name in leaf_commands(cli):
        assert sum(name in chosen for chosen in sets) == 1, name


def test_every_existing_read_only_command_is_tried_below() -> None:
    existing = set(leaf_commands(cli))
    assert set(READ_ONLY_CASES) == READ_ONLY_COMMANDS & existing


# -- no ledger at --db ----------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(READ_ONLY_CASES))
def test_read_only_commands_refuse_a_missing_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/typo.db"
    message = refused(run(url, *command.split(), *READ_ONLY_CASES[command]))
    assert f"no ledger at {url}{NO_LEDGER}" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", sorted(READ_ONLY_CASES))
def test_read_only_commands_refuse_an_empty_database(
    backend: str,
    db_url: str,
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An empty SQLite file or a PostgreSQL schema without the ledger's tables: refused, and
    still empty afterwards."""
    monkeypatch.chdir(tmp_path)
    if backend == "sqlite":
        path = Path(db_url.removeprefix("sqlite:///"))
        path.write_bytes(b"")
    refused(run(db_url, *command.split(), *READ_ONLY_CASES[command]))
    if backend == "sqlite":
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
        assert path.stat().st_size == 0
    else:
        assert tables(db_url) == []


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("not a database\n", encoding="utf-8")
    refused(run(f"sqlite:///{notes}", "trial-balance"), "is not a SQLite database file")
    assert notes.read_text(encoding="utf-8") == "not a database\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.db"]


def test_another_applications_sqlite_database_is_no_ledger(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.commit()
    refused(run(f"sqlite:///{other}", "journal", "verify"))
    assert tables(f"sqlite:///{other}") == ["notes"]


def test_a_relative_sqlite_path_is_shown_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    message = refused(run("sqlite:///ledger.db", "trial-balance"))
    assert f"no ledger at sqlite:///ledger.db ({tmp_path.resolve() / 'ledger.db'}){NO_LEDGER}" in (
        message
    )
    assert list(tmp_path.iterdir()) == []


def test_the_default_database_is_not_created_by_a_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JIAOLONG_DB_URL", raising=False)
    refused(CliRunner().invoke(cli, ["journal", "verify"]))
    refused(CliRunner().invoke(cli, ["accounts", "list"]))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_the_password_is_not_shown(postgres_schemas: Any) -> None:
    with_password = make_url(postgres_schemas.new_url()).set(password="s3cret-word")
    result = run(with_password.render_as_string(hide_password=False), "trial-balance")
    # The server may refuse the password (STORAGE_UNAVAILABLE) or ignore it (no ledger in the
    # fresh schema); either way the secret is not shown.
    assert result.exit_code in (1, 2), result.output
    assert "s3cret-word" not in result.output
    assert "Traceback" not in result.output


def test_write_commands_and_db_upgrade_create_the_ledger(backend: str, db_url: str) -> None:
    refused(run(db_url, "accounts", "list"))
    opened = run(db_url, "accounts", "open", CASH, "--currency", "EUR", "--kind", "liability")
    assert opened.exit_code == 0, opened.output
    listed = run(db_url, "--json", "accounts", "list")
    assert listed.exit_code == 0, listed.output
    assert [row["code"] for row in json.loads(listed.stdout)] == [CASH]


def test_db_upgrade_creates_then_reads_work(backend: str, db_url: str) -> None:
    assert run(db_url, "db", "upgrade").exit_code == 0
    result = run(db_url, "--json", "trial-balance")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == []


# -- an old schema --------------------------------------------------------------------------


def test_a_read_only_command_does_not_migrate_an_old_schema(backend: str, db_url: str) -> None:
    with Ledger.connect(db_url) as ledger:
        ledger.open_account(CASH, currency="EUR", kind="liability")
        downgrade(ledger.engine, "-1")
        old = current_revision(ledger.engine)
        head = head_revision(ledger.engine)
    assert old != head
    message = refused(run(db_url, "balance", CASH), "jiaolong db upgrade")
    assert f"schema revision {old}" in message and head is not None and head in message
    with Ledger.connect(db_url, migrate=False) as ledger:
        assert current_revision(ledger.engine) == old
    assert run(db_url, "db", "upgrade").exit_code == 0
    assert run(db_url, "balance", CASH).exit_code == 0


# -- a malformed --db -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "garbage://",
        "garbage",
        "mysql://root@localhost/ledger",
        "sqlite+nodriver:///x.db",
        "postgresql+psycopg://postgres@127.0.0.1:notaport/x",
        "postgresql+psycopg://postgres@127.0.0.1:99999/x",
        "sqlite:///bad\x00name.db",
    ],
)
@pytest.mark.parametrize(
    "command",
    [("trial-balance",), ("accounts", "open", CASH, "--currency", "EUR", "--kind", "asset")],
)
def test_a_malformed_url_is_invalid_input_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, command: tuple[str, ...]
) -> None:
    monkeypatch.chdir(tmp_path)
    refused(run(url, *command), "")
    assert list(tmp_path.iterdir()) == []


# -- journal verify of nothing --------------------------------------------------------------


def test_verify_of_an_empty_ledger_fails_unless_allowed(backend: str, db_url: str) -> None:
    Ledger.connect(db_url).close()
    result = run(db_url, "journal", "verify")
    assert result.exit_code == 1, result.output
    assert "nothing to verify" in result.stdout
    data = json.loads(run(db_url, "--json", "journal", "verify").stdout)
    assert (data["ok"], data["nothing_to_verify"], data["entries"]) == (False, True, 0)
    allowed = run(db_url, "journal", "verify", "--allow-empty")
    assert allowed.exit_code == 0, allowed.output
    assert allowed.stdout.startswith("ok: 0 entries")
    opened = run(db_url, "accounts", "open", CASH, "--currency", "EUR", "--kind", "liability")
    assert opened.exit_code == 0
    assert run(db_url, "journal", "verify").exit_code == 0


def test_verify_of_an_empty_file_fails_unless_allowed(tmp_path: Path) -> None:
    empty = tmp_path / "journal.jsonl"
    empty.write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["journal", "verify", str(empty)])
    assert result.exit_code == 1 and "nothing to verify" in result.stdout, result.output
    allowed = CliRunner().invoke(cli, ["journal", "verify", str(empty), "--allow-empty"])
    assert allowed.exit_code == 0, allowed.output


# -- the real entry point -------------------------------------------------------------------


def test_the_jiaolong_command_prints_codes_and_creates_nothing(tmp_path: Path) -> None:
    """The four doors a new user hits first, through ``python -m jiaolong_ledger.cli``."""
    work = tmp_path / "work"
    work.mkdir()
    bad_bytes = work / "bytes.jsonl"
    bad_bytes.write_bytes(b'{"key": "a\xff"}\n')
    cases = [
        (["--db", f"sqlite:///{work}/none.db", "journal", "verify"], "INVALID_INPUT"),
        (
            ["--db", f"sqlite:///{work}/none.db", "post", str(work / "missing.jsonl")],
            "INVALID_INPUT",
        ),
        (["--db", f"sqlite:///{work}/none.db", "post", str(bad_bytes)], "INVALID_INPUT"),
        (["--db", "garbage://", "trial-balance"], "INVALID_INPUT"),
    ]
    environment = {k: v for k, v in os.environ.items() if k != "JIAOLONG_DB_URL"}
    for args, code in cases:
        completed = subprocess.run(
            [sys.executable, "-m", "jiaolong_ledger.cli", *args],
            cwd=work,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 2, (args, completed.stderr)
        assert completed.stderr.startswith(f"error: {code}: "), (args, completed.stderr)
        assert "Traceback" not in completed.stderr + completed.stdout
        assert sorted(p.name for p in work.iterdir()) == ["bytes.jsonl"], args

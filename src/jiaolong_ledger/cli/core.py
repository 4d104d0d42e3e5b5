"""Core commands: db, accounts, post, balance, trial-balance, statement."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import click

from jiaolong_ledger.accounts.model import CONSTRAINTS, KINDS
from jiaolong_ledger.cli.common import (
    TIMESTAMP,
    emit,
    json_option,
    progress,
    state,
    table,
)
from jiaolong_ledger.errors import LedgerError
from jiaolong_ledger.journal.entry import Entry
from jiaolong_ledger.journal.jsonl import CheckedEntries, line_of, name_line
from jiaolong_ledger.journal.validation import BATCH_SIZE_MAX
from jiaolong_ledger.unit_of_work import UnitOfWork

POST_BATCH_SIZE: Final = 1_000
"""Entries handed to the writer at a time by ``jiaolong post`` (all in one unit of work)."""


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Bring the database schema up to REVISION (default: head)."""
    from jiaolong_ledger.ledger import Ledger
    from jiaolong_ledger.storage.migrate import current_revision, upgrade

    ledger = Ledger.connect(state().db_url, migrate=False)
    with ledger.database.unavailable_as_error():
        upgrade(ledger.engine, revision)
        current = current_revision(ledger.engine)
    emit({"revision": current}, lambda: click.echo(f"database at revision {current}"))


@db.command("current")
@json_option
def db_current() -> None:
    """Print the database's schema revision and the code's head revision."""
    from jiaolong_ledger.cli.common import open_existing_database
    from jiaolong_ledger.storage.migrate import current_revision, head_revision

    database = open_existing_database(state().db_url)  # a read: never creates a database
    try:
        with database.unavailable_as_error():
            data = {
                "current": current_revision(database.engine),
                "head": head_revision(database.engine),
            }
    finally:
        database.dispose()
    emit(data, lambda: click.echo(f"current {data['current']} (head {data['head']})"))


@click.group()
def accounts() -> None:
    """Chart of accounts."""


@accounts.command("open")
@click.argument("code")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. EUR.")
@click.option("--kind", type=click.Choice(KINDS), required=True)
@click.option("--constraint", type=click.Choice(CONSTRAINTS), default=None)
@json_option
def accounts_open(code: str, currency: str, kind: str, constraint: str | None) -> None:
    """Open account CODE (lowercase segments joined by ':').

    Opening an account again exactly as it is (same currency, kind and constraint) changes
    nothing and succeeds; an account of that code that differs is ACCOUNT_EXISTS.
    """
    with state().ledger().transaction() as tx:
        head = tx.journal.head()
        account = tx.open_account(code, currency=currency, kind=kind, constraint=constraint)
        created = tx.journal.head() != head
    what = f"{account.code} ({account.kind}, {account.currency})"
    emit(
        {**account.to_dict(), "created": created},
        lambda: click.echo(
            f"opened {what}" if created else f"{what} already exists as asked; nothing changed"
        ),
    )


@accounts.command("list")
@click.option("--prefix", default=None, help="Only codes starting with this prefix.")
@json_option
def accounts_list(prefix: str | None) -> None:
    """List accounts with their balances."""
    ledger = state().ledger()
    rows = []
    for account in ledger.accounts(prefix):
        data = account.to_dict()
        data.update(ledger.balance(account.code).to_dict())
        rows.append(data)

    def human() -> None:
        table(
            ["account", "kind", "ccy", "status", "constraint", "posted", "available"],
            [
                [
                    r["code"],
                    r["kind"],
                    r["currency"],
                    r["status"],
                    r["constraint"] or "",
                    r["posted"],
                    r["available"],
                ]
                for r in rows
            ],
            right={5, 6},
        )

    emit(rows, human)


@accounts.command("freeze")
@click.argument("code")
def accounts_freeze(code: str) -> None:
    """Freeze CODE: no new postings until unfrozen."""
    account = state().ledger().freeze_account(code)
    emit(account.to_dict(), lambda: click.echo(f"{code} is {account.status}"))


@accounts.command("unfreeze")
@click.argument("code")
def accounts_unfreeze(code: str) -> None:
    """Unfreeze CODE."""
    account = state().ledger().unfreeze_account(code)
    emit(account.to_dict(), lambda: click.echo(f"{code} is {account.status}"))


@accounts.command("close")
@click.argument("code")
def accounts_close(code: str) -> None:
    """Close CODE permanently (only at zero balance)."""
    account = state().ledger().close_account(code)
    emit(account.to_dict(), lambda: click.echo(f"{code} is {account.status}"))


@click.command("post")
@click.argument("file", type=click.Path(allow_dash=True))
@click.option(
    "--batch-size",
    type=click.IntRange(1, BATCH_SIZE_MAX),
    default=POST_BATCH_SIZE,
    show_default=True,
    help="Entries handed to the writer at a time (the file still commits as one).",
)
@json_option
def post(file: str, batch_size: int) -> None:
    """Post entries from a JSON Lines FILE ('-': standard input), all or none.

    One entry per line in the form of SPEC §5 without seq, recorded_at, prev_hash and hash:
    key, postings (account, side, amount as a decimal string, currency) and optionally kind,
    status (posted or pending), effective_at and expires_at (ISO 8601 with Z or an offset),
    description, metadata. Every line is checked before anything is posted; a bad line is
    reported with its number and nothing is posted. Entries already in the journal (the same
    key and content) are counted as already present, so a file can be posted again safely.
    """
    with CheckedEntries(file) as checked:
        posted = _post_checked(checked, batch_size) if checked.count else (0, None)
        count = checked.count
    new, first_seq = posted
    data = {
        "posted": new,
        "already_present": count - new,
        "first_seq": first_seq,
        "last_seq": None if first_seq is None else first_seq + new - 1,
    }
    emit(data, lambda: click.echo(f"{new} posted, {count - new} already present"))


def _post_checked(checked: CheckedEntries, batch_size: int) -> tuple[int, int | None]:
    """Post every entry in one unit of work, a batch at a time; returns how many were new and
    the first new seq. New entries are exactly those that moved the journal's head."""
    batches = checked.batches(batch_size)
    with state().ledger().transaction() as tx:
        before, _ = tx.journal.head()
        for batch in progress(batches, checked.batch_count(batch_size), "posting"):
            _post_batch(tx, batch)
        after, _ = tx.journal.head()
    return after - before, (before + 1 if after > before else None)


def _post_batch(tx: UnitOfWork, batch: list[tuple[int, Entry]]) -> None:
    try:
        tx.post_many([entry for _, entry in batch])
    except LedgerError as error:
        line = line_of(error, batch)
        if line is not None:
            name_line(error, line)
        raise


@click.command("balance")
@click.argument("code")
@click.option("--as-of", type=TIMESTAMP, default=None, help="Balance as of this instant.")
@json_option
def balance(code: str, as_of: datetime | None) -> None:
    """Balance of account CODE, now or --as-of an instant (by effective time).

    \b
    TIMESTAMP: ISO 8601 with Z or an offset (2026-11-30T09:00:00+08:00); a bare date
    (2026-11-30) means 00:00 UTC of that day; a time without an offset is refused.
    """
    data = state().ledger().balance(code, as_of=as_of).to_dict()

    def human() -> None:
        for name in (
            "debits_posted",
            "credits_posted",
            "debits_pending",
            "credits_pending",
            "posted",
            "available",
        ):
            click.echo(f"{name:16} {data[name]:>20} {data['currency']}")

    emit(data, human)


@click.command("trial-balance")
@click.option("--as-of", type=TIMESTAMP, default=None, help="As of this instant.")
@json_option
def trial_balance(as_of: datetime | None) -> None:
    """Every account's posted debits, credits and balance, with totals per currency.

    \b
    TIMESTAMP: ISO 8601 with Z or an offset (2026-11-30T09:00:00+08:00); a bare date
    (2026-11-30) means 00:00 UTC of that day; a time without an offset is refused.
    """
    data = state().ledger().trial_balance(as_of=as_of).to_dict()

    def human() -> None:
        table(
            ["account", "kind", "ccy", "debits", "credits", "balance"],
            [
                [r["account"], r["kind"], r["currency"], r["debits"], r["credits"], r["balance"]]
                for r in data["rows"]
            ],
            right={3, 4, 5},
        )
        click.echo("")
        for currency, total in data["totals"].items():
            click.echo(f"total {currency}: debits {total['debits']} credits {total['credits']}")

    emit(data, human)


@click.command("statement")
@click.argument("code")
@click.option("--from", "--start", "start", type=TIMESTAMP, default=None, help="From (inclusive).")
@click.option("--to", "--end", "end", type=TIMESTAMP, default=None, help="To (exclusive).")
@json_option
def statement(code: str, start: datetime | None, end: datetime | None) -> None:
    """Posted movements of CODE with a running balance, by effective time in [--from, --to).

    \b
    TIMESTAMP: ISO 8601 with Z or an offset (2026-11-30T09:00:00+08:00); a bare date
    (2026-11-30) means 00:00 UTC of that day, so --from 2026-11-30 --to 2026-12-01 is the
    whole of 30 November (UTC); a time without an offset is refused.
    """
    data = state().ledger().statement(code, start, end).to_dict()

    def human() -> None:
        click.echo(f"{data['account']} ({data['currency']}) opening {data['opening']}")
        table(
            ["seq", "effective_at", "key", "kind", "side", "amount", "balance"],
            [
                [
                    str(line[k])
                    for k in ("seq", "effective_at", "key", "kind", "side", "amount", "balance")
                ]
                for line in data["lines"]
            ],
            right={0, 5, 6},
        )
        click.echo(f"closing {data['closing']}")

    emit(data, human)


COMMANDS = [db, accounts, post, balance, trial_balance, statement]

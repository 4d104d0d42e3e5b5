"""Core commands: db, accounts, post, balance, trial-balance, statement."""

from __future__ import annotations

from datetime import datetime

import click

from jiaolong_ledger.accounts.model import CONSTRAINTS, KINDS
from jiaolong_ledger.cli.common import TIMESTAMP, emit, json_option, read_jsonl, state, table
from jiaolong_ledger.errors import LedgerError
from jiaolong_ledger.journal.entry import Entry
from jiaolong_ledger.journal.jsonl import entry_from_line


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
    from jiaolong_ledger.ledger import Ledger
    from jiaolong_ledger.storage.migrate import current_revision, head_revision

    ledger = Ledger.connect(state().db_url, migrate=False)
    with ledger.database.unavailable_as_error():
        data = {"current": current_revision(ledger.engine), "head": head_revision(ledger.engine)}
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
    """Open account CODE (lowercase segments joined by ':')."""
    account = (
        state().ledger().open_account(code, currency=currency, kind=kind, constraint=constraint)
    )
    emit(
        account.to_dict(),
        lambda: click.echo(f"opened {account.code} ({account.kind}, {account.currency})"),
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
@json_option
def post(file: str) -> None:
    """Post entries from a JSON Lines FILE (SPEC §5 form, without seq/hash), atomically.

    A malformed line is reported with its number and nothing is posted.
    """
    numbered = [(number, entry_from_line(obj, number)) for number, obj in read_jsonl(file)]
    try:
        posted = state().ledger().post_many([entry for _, entry in numbered])
    except LedgerError as error:
        _name_line(error, numbered)
        raise
    emit(
        {
            "posted": len(posted),
            "entries": [{"seq": e.seq, "key": e.key, "hash": e.hash} for e in posted],
        },
        lambda: click.echo(
            f"posted {len(posted)} entries"
            + (f" (seq {posted[0].seq}..{posted[-1].seq})" if posted else "")
        ),
    )


def _name_line(error: LedgerError, numbered: list[tuple[int, Entry]]) -> None:
    """Point a rejection of the batch at the line of the entry it names (by key)."""
    key = error.details.get("key")
    number = next((number for number, entry in numbered if entry.key == key), None)
    if number is not None and "line" not in error.details:
        error.details["line"] = number
        error.message = f"line {number}: {error.message}"


@click.command("balance")
@click.argument("code")
@click.option(
    "--as-of", type=TIMESTAMP, default=None, help="Balance as of this instant (ISO 8601)."
)
@json_option
def balance(code: str, as_of: datetime | None) -> None:
    """Balance of account CODE."""
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
@click.option("--as-of", type=TIMESTAMP, default=None, help="As of this instant (ISO 8601).")
@json_option
def trial_balance(as_of: datetime | None) -> None:
    """Every account's posted debits, credits and balance, with totals per currency."""
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
@click.option("--start", type=TIMESTAMP, default=None, help="From this instant (inclusive).")
@click.option("--end", type=TIMESTAMP, default=None, help="To this instant (exclusive).")
@json_option
def statement(code: str, start: datetime | None, end: datetime | None) -> None:
    """Posted movements of CODE with a running balance."""
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

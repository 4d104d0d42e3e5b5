"""`jiaolong fx` commands: import ECB rates, set and look up rates, convert, exchange, revalue."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
)
from typing import Any

import click

from jiaolong_ledger.cli.common import TIMESTAMP, emit, json_option, state, table

ROUNDING_NAMES = {
    "half-even": ROUND_HALF_EVEN,
    "half-up": ROUND_HALF_UP,
    "half-down": ROUND_HALF_DOWN,
    "up": ROUND_UP,
    "down": ROUND_DOWN,
    "ceiling": ROUND_CEILING,
    "floor": ROUND_FLOOR,
}
_DURATION = re.compile(r"^(\d+)([dhms]?)$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds", "": "seconds"}


class DurationType(click.ParamType):  # type: ignore[type-arg]
    """``5d``, ``36h``, ``90m``, ``45s`` or a number of seconds."""

    name = "DURATION"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = _DURATION.match(str(value).strip())
        if match is None:
            self.fail(f"{value!r} is not a duration like 5d, 36h, 90m or 45s", param, ctx)
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


DURATION = DurationType()

_max_age_option = click.option(
    "--max-age",
    type=DURATION,
    default=None,
    help="Oldest rate accepted (e.g. 5d, 36h); default 5d.",
)
_at_option = click.option(
    "--at",
    type=TIMESTAMP,
    default=None,
    help="Instant (ISO 8601 with Z or an offset; a bare date is 00:00 UTC); default now.",
)


@click.group()
def fx() -> None:
    """Exchange rates, conversions, exchanges and revaluation.

    TIMESTAMP: ISO 8601 with Z or an offset; a bare date (2026-11-30) is 00:00 UTC that day.
    """


@fx.command("import-ecb")
@click.argument("file", type=click.Path(allow_dash=True))
@json_option
def import_ecb(file: str) -> None:
    """Load an ECB euro reference-rate CSV (Date,USD,JPY,... per 1 EUR; '-' for stdin).

    The whole file is checked before any rate is stored: a malformed line is INVALID_INPUT
    naming the line, and nothing is imported. Idempotent."""
    report = state().ledger().fx.import_ecb_report(file)
    emit(
        report.to_dict(),
        lambda: click.echo(
            f"imported {report.stored} new rates ({report.quotes} in file: {report.days} days, "
            f"{len(report.currencies)} currencies)"
        ),
    )


@fx.command("set-rate")
@click.argument("base")
@click.argument("quote")
@click.argument("rate")
@click.option(
    "--as-of", type=TIMESTAMP, required=True, help="Instant the rate is valid from (TIMESTAMP)."
)
@click.option("--source", required=True, help="Where the rate comes from (e.g. NBK, BOL).")
@click.option("--bid", default=None, help="Bid (needs --ask; bid <= rate <= ask).")
@click.option("--ask", default=None, help="Ask (needs --bid).")
@json_option
def set_rate(
    base: str, quote: str, rate: str, as_of: datetime, source: str, bid: str | None, ask: str | None
) -> None:
    """Store RATE units of QUOTE per 1 BASE."""
    stored = state().ledger().fx.set_rate(base, quote, rate, as_of, source, bid=bid, ask=ask)
    data = stored.to_dict()
    emit(data, lambda: click.echo(f"{base}/{quote} {data['rate']} as of {data['as_of']}"))


@fx.command("rate")
@click.argument("base")
@click.argument("quote")
@_at_option
@_max_age_option
@click.option("--pivot", default=None, help="Triangulate through this currency (default EUR).")
@json_option
def rate(
    base: str, quote: str, at: datetime | None, max_age: timedelta | None, pivot: str | None
) -> None:
    """The BASE/QUOTE rate at an instant: direct, inverse or triangulated."""
    found = state().ledger().fx.rate(base, quote, at, max_age, pivot=pivot)
    data = found.to_dict()

    def human() -> None:
        rows = [
            ["rate", data["rate"]],
            ["bid / ask", f"{data['bid']} / {data['ask']}" if data["bid"] else "-"],
            ["as of", data["as_of"]],
            ["source", data["source"]],
            ["method", data["method"]],
            ["path", " -> ".join(data["path"])],
            ["legs", ", ".join(data["legs"]) or "-"],
        ]
        click.echo(f"1 {base} = {data['rate']} {quote}")
        table(["field", "value"], rows)

    emit(data, human)


@fx.command("convert")
@click.argument("amount")
@click.argument("from_currency", metavar="FROM")
@click.argument("to_currency", metavar="TO")
@_at_option
@_max_age_option
@click.option(
    "--rounding",
    type=click.Choice(list(ROUNDING_NAMES)),
    default="half-even",
    show_default=True,
)
@json_option
def convert(
    amount: str,
    from_currency: str,
    to_currency: str,
    at: datetime | None,
    max_age: timedelta | None,
    rounding: str,
) -> None:
    """Convert AMOUNT of FROM into TO at the mid rate (ISO 4217 rounding of the result)."""
    from jiaolong_ledger.money import money

    ledger = state().ledger()
    source = money(amount, from_currency)
    used = ledger.fx.rate(from_currency, to_currency, at, max_age)
    result = used.apply(source, ROUNDING_NAMES[rounding])
    data = {
        "amount": str(source.amount),
        "currency": from_currency,
        "result": str(result.amount),
        "result_currency": to_currency,
        "rounding": ROUNDING_NAMES[rounding],
        "rate": used.to_dict(),
    }
    emit(
        data,
        lambda: click.echo(
            f"{data['amount']} {from_currency} = {data['result']} {to_currency} "
            f"(rate {used.to_dict()['rate']}, {used.method} via {' -> '.join(used.path)}, "
            f"as of {used.to_dict()['as_of']}, {used.source})"
        ),
    )


@fx.command("exchange")
@click.argument("key")
@click.argument("from_account")
@click.argument("to_account")
@click.argument("amount")
@_at_option
@_max_age_option
@click.option("--no-spread", is_flag=True, help="Give the mid rate even if the rate has a bid.")
@json_option
def exchange(
    key: str,
    from_account: str,
    to_account: str,
    amount: str,
    at: datetime | None,
    max_age: timedelta | None,
    no_spread: bool,
) -> None:
    """Exchange AMOUNT (in FROM_ACCOUNT's currency) into TO_ACCOUNT: one fx_conversion entry."""
    from jiaolong_ledger.money import money

    ledger = state().ledger()
    currency = ledger.account(from_account).currency
    posted = ledger.fx.exchange(
        key,
        from_account,
        to_account,
        money(amount, currency),
        at=at,
        max_age=max_age,
        spread=not no_spread,
    )
    data = posted.to_json()

    def human() -> None:
        click.echo(f"seq {posted.seq} {posted.key}: {posted.description}")
        table(
            ["account", "side", "amount", "ccy"],
            [[p["account"], p["side"], p["amount"], p["currency"]] for p in data["postings"]],
            right={2},
        )

    emit(data, human)


@fx.command("revalue")
@click.option("--at", type=TIMESTAMP, required=True, help="Period end (TIMESTAMP).")
@click.option("--currency", "reporting_currency", required=True, help="Reporting currency.")
@_max_age_option
@json_option
def revalue(at: datetime, reporting_currency: str, max_age: timedelta | None) -> None:
    """Mark the FX position accounts to market; post the unrealised gain or loss."""
    result = state().ledger().fx.revalue(at, reporting_currency, max_age=max_age)
    data = result.to_dict()

    def human() -> None:
        table(
            ["position", "amount", "rate", "value"],
            [
                [line["currency"], line["position"], line["rate"], line["value"]]
                for line in data["positions"]
            ],
            right={1, 2, 3},
        )
        click.echo(
            f"unrealised {data['unrealised']} {reporting_currency}; posted {data['posted']} "
            f"({data['entry'] or 'no entry'})"
        )

    emit(data, human)


COMMANDS: list[click.Command] = [fx]

"""``jiaolong financing``: open a facility, draw, accrue interest, repay, show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from jiaolong_ledger.cli.common import TIMESTAMP, emit, json_option, state, table
from jiaolong_ledger.financing import DAY_COUNT_BASIS, FacilityState
from jiaolong_ledger.journal.canonical import format_timestamp
from jiaolong_ledger.money import format_minor, money


@click.group()
def financing() -> None:
    """Credit facilities: drawdowns, daily interest, repayments (interest first).

    TIMESTAMP: ISO 8601 with Z or an offset; a bare date (2026-11-30) is 00:00 UTC that day.
    """


def _summary(data: dict[str, Any]) -> None:
    ccy = data["currency"]
    click.echo(
        f"facility {data['facility_id']}  {data['lender']} -> {data['borrower']}  "
        f"limit {data['limit']} {ccy}  {data['annual_rate']} {data['day_count']}"
    )
    click.echo(
        f"principal {data['principal']}  available {data['available']}  interest accrued "
        f"{data['interest_accrued']} (exact {data['interest_exact']})  paid "
        f"{data['interest_paid']}  due {data['interest_due']}  "
        f"accrued until {data['accrued_until'] or '-'}"
    )


def _emit_state(facility: FacilityState) -> None:
    data = facility.to_dict()
    emit(data, lambda: _summary(data))


@financing.command("open")
@click.argument("facility_id")
@click.option("--borrower", required=True, help="Participant name of the borrower.")
@click.option("--lender", required=True, help="Participant name, or 'platform'.")
@click.option("--limit", "limit_amount", required=True, help="Limit, e.g. 1000000.00.")
@click.option("--currency", required=True, help="ISO 4217 code of the facility.")
@click.option("--rate", "annual_rate", required=True, help="Annual rate as a decimal, e.g. 0.05.")
@click.option("--day-count", type=click.Choice(sorted(DAY_COUNT_BASIS)), default="ACT/360")
@click.option("--at", type=TIMESTAMP, default=None, help="When it was opened (default now).")
@click.option(
    "--auto-deduct",
    is_flag=True,
    help="Repay from the borrower's net clearing proceeds at each settlement.",
)
@json_option
def financing_open(
    facility_id: str,
    borrower: str,
    lender: str,
    limit_amount: str,
    currency: str,
    annual_rate: str,
    day_count: str,
    at: datetime | None,
    auto_deduct: bool,
) -> None:
    """Open FACILITY_ID (same terms again: no effect)."""
    facility = (
        state()
        .ledger()
        .financing.open_facility(
            facility_id,
            borrower,
            lender,
            money(limit_amount, currency),
            annual_rate,
            day_count,
            at,
            auto_deduct=auto_deduct,
        )
    )
    _emit_state(facility)


def _amount(facility_id: str, amount: str) -> Any:
    return money(amount, state().ledger().financing.state(facility_id).currency)


@financing.command("draw")
@click.argument("facility_id")
@click.argument("amount")
@click.option("--reference", default=None, help="Idempotency reference (default: next number).")
@click.option("--at", type=TIMESTAMP, default=None, help="Effective time (default now).")
@json_option
def financing_draw(
    facility_id: str, amount: str, reference: str | None, at: datetime | None
) -> None:
    """Draw AMOUNT (in the facility's currency) to the borrower's cash."""
    ledger = state().ledger()
    facility = ledger.financing.draw(
        facility_id, _amount(facility_id, amount), reference=reference, at=at
    )
    _emit_state(facility)


@financing.command("repay")
@click.argument("facility_id")
@click.argument("amount")
@click.option("--reference", default=None, help="Idempotency reference (default: next number).")
@click.option("--at", type=TIMESTAMP, default=None, help="Effective time (default now).")
@json_option
def financing_repay(
    facility_id: str, amount: str, reference: str | None, at: datetime | None
) -> None:
    """Repay AMOUNT from the borrower's cash: accrued interest first, then principal."""
    ledger = state().ledger()
    facility = ledger.financing.repay(
        facility_id, _amount(facility_id, amount), reference=reference, at=at
    )
    _emit_state(facility)


@financing.command("accrue")
@click.argument("facility_id", required=False)
@click.option("--until", type=TIMESTAMP, default=None, help="Accrue days before this (now).")
@json_option
def financing_accrue(facility_id: str | None, until: datetime | None) -> None:
    """Accrue daily interest up to --until, on FACILITY_ID or every facility."""
    ledger = state().ledger()
    accrued = ledger.financing.accrue(until or ledger.clock(), facility_id)
    data = [facility.to_dict() for facility in accrued]

    def human() -> None:
        rows = [
            [
                d["facility_id"],
                d["currency"],
                d["principal"],
                d["interest_accrued"],
                d["interest_due"],
                d["accrued_until"] or "-",
            ]
            for d in data
        ]
        table(
            ["facility", "ccy", "principal", "interest accrued", "due", "accrued until"],
            rows,
            {2, 3, 4},
        )

    emit(data, human)


@financing.command("show")
@click.argument("facility_id")
@json_option
def financing_show(facility_id: str) -> None:
    """Show FACILITY_ID: terms, principal, interest, drawdowns and repayments."""
    service = state().ledger().financing
    facility = service.state(facility_id)
    ccy = facility.currency
    movements = [
        {
            "kind": m["kind"],
            "reference": m["reference"],
            "effective_at": format_timestamp(m["effective_at"]),
            "amount": format_minor(m["amount_minor"], ccy),
            "interest": format_minor(m["interest_minor"], ccy),
            "principal": format_minor(m["principal_minor"], ccy),
            "entry_key": m["entry_key"],
        }
        for m in service.movements(facility_id)
    ]
    data = {**facility.to_dict(), "movements": movements}

    def human() -> None:
        _summary(data)
        rows = [
            [
                m["effective_at"],
                m["kind"],
                m["reference"],
                m["amount"],
                m["interest"],
                m["principal"],
            ]
            for m in movements
        ]
        table(["at", "kind", "reference", "amount", "interest", "principal"], rows, {3, 4, 5})

    emit(data, human)


COMMANDS = [financing]

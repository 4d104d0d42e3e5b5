"""``jiaolong demo``: the main job on the embedded default."""

from __future__ import annotations

from pathlib import Path

import click

from jiaolong_ledger.cli.common import emit, json_option, state


@click.command("demo")
@click.option("--participants", default=6, show_default=True, type=click.IntRange(3, 1000))
@click.option("--orders", default=40, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--out",
    default="jiaolong-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the demo's SQLite database and exports (its demo.db is recreated).",
)
@json_option
def demo(participants: int, orders: int, out: Path) -> None:
    """Simulate a trading day end to end on a fresh SQLite ledger, ending in a clearing report."""
    from jiaolong_ledger.demo import run_demo

    quiet = state().json
    context = run_demo(out, participants, orders, say=(lambda _m: None) if quiet else click.echo)
    if quiet:
        emit(context.results)


COMMANDS = [demo]

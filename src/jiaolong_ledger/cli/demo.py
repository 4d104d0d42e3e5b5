"""``jiaolong demo``: the main job on the embedded default."""

from __future__ import annotations

from pathlib import Path

import click

from jiaolong_ledger.cli.common import (
    check_output_path,
    emit,
    json_option,
    state,
    writing_after_commit,
)
from jiaolong_ledger.errors import InvalidInputError

DEMO_DATABASE = "demo.db"


def check_out_dir(out: Path) -> None:
    """Before the demo writes anything: ``out`` is a writable directory with room for its
    ``demo.db``, or does not exist yet and its nearest existing parent is a writable directory
    (the demo makes the missing folders)."""
    if out.exists():
        if not out.is_dir():
            raise InvalidInputError(f"--out {str(out)!r} is not a directory", path=str(out))
        check_output_path(out, directory=True)
        check_output_path(out / DEMO_DATABASE)
        return
    ancestor = out.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InvalidInputError(
            f"--out {str(out)!r}: {str(ancestor)!r} is not a directory", path=str(out)
        )
    check_output_path(ancestor, directory=True)


@click.command("demo")
@click.option("--participants", default=6, show_default=True, type=click.IntRange(3, 1000))
@click.option("--orders", default=40, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--out",
    default="jiaolong-demo",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Directory for the demo's SQLite database and exports (its demo.db is recreated).",
)
@json_option
def demo(participants: int, orders: int, out: Path) -> None:
    """Simulate a trading day end to end on a fresh SQLite ledger, ending in a clearing report."""
    from jiaolong_ledger.demo import run_demo

    check_out_dir(out)
    quiet = state().json
    with writing_after_commit(
        f"the demo's ledger {out / DEMO_DATABASE} holds the steps that ran before the failure",
        f"jiaolong demo --out {out} (it starts again from a fresh {DEMO_DATABASE})",
    ):
        context = run_demo(
            out, participants, orders, say=(lambda _m: None) if quiet else click.echo
        )
    if quiet:
        emit(context.results)


COMMANDS = [demo]

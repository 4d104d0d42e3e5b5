"""Shared CLI plumbing: the context object, output, errors, JSON Lines input, timestamps."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from jiaolong_ledger.errors import InvalidInputError, LedgerError, OutputNotWrittenError

DEFAULT_DB_URL = "sqlite:///jiaolong.db"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    db_url: str = DEFAULT_DB_URL
    json: bool = False
    _ledger: Any = field(default=None, repr=False)

    def ledger(self) -> Any:
        """The Ledger, connected (and migrated) on first use."""
        if self._ledger is None:
            from jiaolong_ledger.ledger import Ledger

            self._ledger = Ledger.connect(self.db_url)
        return self._ledger


def state() -> CliState:
    ctx = click.get_current_context()
    obj = ctx.find_object(CliState)
    if obj is None:
        obj = ctx.ensure_object(CliState)
    return obj


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(CliState).json = True


def json_option(function: F) -> F:
    """``--json`` on a subcommand (the global ``jiaolong --json`` works too)."""
    return click.option(
        "--json",
        "json_output",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        is_eager=True,
        help="Print machine-readable JSON instead of a table.",
    )(function)


def emit(data: Any, human: Callable[[], None] | None = None) -> None:
    """Print ``data`` as JSON under ``--json``; otherwise call ``human`` (or print JSON)."""
    if state().json or human is None:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        human()


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> None:
    """A plain aligned table on stdout (no colours: safe to pipe)."""
    right = right or set()
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def fmt(row: list[str]) -> str:
        cells = [
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    click.echo(fmt(headers))
    click.echo("  ".join("-" * w for w in widths))
    for row in rows:
        click.echo(fmt(row))


def fail(error: LedgerError) -> None:
    click.echo(f"error: {error.code}: {error.message}", err=True)
    if state().json:
        click.echo(json.dumps({"error": error.to_dict()}, ensure_ascii=False, default=str))
    raise SystemExit(error.exit_code)


def check_output_path(path: str | Path, *, directory: bool = False) -> Path:
    """Refuse (``INVALID_INPUT``, exit 2) an output path that cannot be written, before anything
    is committed: its folder (or, with ``directory``, the folder itself) must exist and be
    writable, and a file path must not name a directory."""
    target = Path(path)
    folder = target if directory else (target.parent if str(target.parent) else Path("."))
    if not folder.is_dir():
        raise InvalidInputError(f"output folder {str(folder)!r} does not exist", path=str(target))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidInputError(f"output folder {str(folder)!r} is not writable", path=str(target))
    if not directory and target.is_dir():
        raise InvalidInputError(f"output path {str(target)!r} is a directory", path=str(target))
    if not directory and target.exists() and not os.access(target, os.W_OK):
        raise InvalidInputError(f"output file {str(target)!r} is not writable", path=str(target))
    return target


@contextmanager
def writing_after_commit(committed: str, rerender: str) -> Iterator[None]:
    """Around a file write that follows a commit: a failure says what was committed and the
    command that writes the file again (``OUTPUT_NOT_WRITTEN``, exit 3), never a traceback."""
    try:
        yield
    except OSError as error:
        raise OutputNotWrittenError(
            f"{committed}, but the file was not written ({error.strerror or error}); "
            f"write it again with: {rerender}",
            committed=committed,
            rerender=rerender,
        ) from error


def parse_timestamp(text: str | None, field_name: str = "timestamp") -> datetime | None:
    """ISO 8601; ``Z`` or an offset; a naive value is taken as UTC."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"{field_name}: not an ISO 8601 timestamp: {text!r}", field=field_name
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class TimestampType(click.ParamType):  # type: ignore[type-arg]
    name = "TIMESTAMP"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            result = parse_timestamp(str(value))
        except InvalidInputError as error:
            self.fail(error.message, param, ctx)
        assert result is not None
        return result


TIMESTAMP = TimestampType()


def read_jsonl(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)``; a malformed line is ``INVALID_INPUT`` naming the line."""
    handle = sys.stdin if path == "-" else open(Path(path), encoding="utf-8")  # noqa: SIM115
    try:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                raise InvalidInputError(
                    f"line {number}: malformed JSON: {error.msg}", line=number
                ) from None
            if not isinstance(obj, dict):
                raise InvalidInputError(f"line {number}: expected a JSON object", line=number)
            yield number, obj
    finally:
        if handle is not sys.stdin:
            handle.close()


def progress(iterable: Any, total: int | None, label: str) -> Any:
    """A progress bar on a terminal, nothing when piped or under --json."""
    if state().json or not sys.stderr.isatty():
        return iterable
    from rich.progress import track

    return track(
        iterable, total=total, description=label, console=_stderr_console(), transient=True
    )


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)

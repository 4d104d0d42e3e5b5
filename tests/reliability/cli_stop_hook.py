"""Run the ``jiaolong`` CLI so that it stops itself (SIGSTOP) at a chosen point of its work.

Usage: ``python cli_stop_hook.py MODE:MODULE:ATTRIBUTE:N -- <jiaolong arguments>``

The process runs the real CLI (``jiaolong_ledger.cli.main.main``) unchanged, except that one
attribute is wrapped to count what passes through it; at the N-th time it sends itself SIGSTOP.
A test waits until the process is stopped and SIGKILLs it there, so the kill lands at an exact
point, for instance inside a transaction with its rows written and its commit not yet sent:

- ``after:jiaolong_ledger.adapters:HANDLERS:N``: after the N-th event handler returned (an
  attribute that is a dict has every value wrapped, with one count);
- ``before:jiaolong_ledger.adapters:ingest_many:N``: before the N-th batch begins (the batches
  before it committed);
- ``yield:jiaolong_ledger.clearing.settlement:SettlementRun.__iter__:N``: after the settlement
  run yielded its N-th stage (inside its one transaction); N = stages + 1: after the run ended
  (committed), before the CLI prints or writes anything.

If the point is never reached the CLI simply runs to its end.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

MODES = ("before", "after", "yield")


def _stop() -> None:
    os.kill(os.getpid(), signal.SIGSTOP)


def _wrap(function: Callable[..., Any], mode: str, counter: list[int], stop_at: int) -> Any:
    def tick() -> None:
        counter[0] += 1
        if counter[0] == stop_at:
            _stop()

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if mode == "before":
            tick()
        result = function(*args, **kwargs)
        if mode == "after":
            tick()
        if mode == "yield":
            return _yielding(result, tick)
        return result

    return wrapper


def _yielding(iterator: Iterator[Any], tick: Callable[[], None]) -> Iterator[Any]:
    for item in iterator:
        yield item
        tick()
    tick()  # the iterator is exhausted: for a settlement run, its transaction has committed


def install(spec: str) -> None:
    mode, module_name, attribute, count = spec.split(":")
    assert mode in MODES, spec
    owner: Any = importlib.import_module(module_name)
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    target = getattr(owner, name)
    counter = [0]
    if isinstance(target, dict):
        for key, value in list(target.items()):
            target[key] = _wrap(value, mode, counter, int(count))
    else:
        setattr(owner, name, _wrap(target, mode, counter, int(count)))


def main() -> None:
    spec, separator, *arguments = sys.argv[1:]
    assert separator == "--", sys.argv
    install(spec)
    from jiaolong_ledger.cli.main import cli

    cli.main(args=arguments, prog_name="jiaolong")


if __name__ == "__main__":
    main()

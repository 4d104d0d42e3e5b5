"""Structured logging without configuring anything at import.

The library's structlog loggers sit on stdlib ``logging``: an application that configures
nothing sees nothing below WARNING, and a disabled level costs one ``isEnabledFor`` check (the
posting hot path logs one event per entry). The CLI calls :func:`configure` once, choosing
console or JSON rendering; services embed the same ``ProcessorFormatter`` in their own setup.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_SHARED_PROCESSORS: list[Any] = [
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


# A library adds only a NullHandler: no output unless the application configures logging.
logging.getLogger("jiaolong_ledger").addHandler(logging.NullHandler())


def get_logger(name: str) -> Any:
    return structlog.wrap_logger(
        logging.getLogger(name),
        wrapper_class=structlog.stdlib.BoundLogger,
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
    )


def configure(log_format: str = "console", level: int = logging.INFO) -> None:
    """Route the library's events to stderr, rendered as console key=value or JSON lines."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=_SHARED_PROCESSORS,
        )
    )
    root = logging.getLogger("jiaolong_ledger")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False

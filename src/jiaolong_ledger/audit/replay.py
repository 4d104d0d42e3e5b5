"""Replay an exported journal into an empty database (built by the audit issue)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jiaolong_ledger.ledger import Ledger


def replay(path: str | Path, into: str) -> Ledger:
    raise NotImplementedError("journal replay is not built yet")

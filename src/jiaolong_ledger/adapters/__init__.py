"""Adapters: pydantic events -> calls on the sub-domains; no business rules of their own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jiaolong_ledger.errors import InvalidEventError

if TYPE_CHECKING:
    from jiaolong_ledger.ledger import Ledger


def ingest(ledger: Ledger, event: Any) -> Any:
    raise InvalidEventError(
        f"no adapter handles {type(event).__name__}", event=type(event).__name__
    )


__all__ = ["ingest"]

"""Reading entries from the JSON Lines form of SPEC §5 (the ``post`` input; seq/hash optional)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moneyed import Currency, Money

from jiaolong_ledger.errors import InvalidEntryError, LedgerError
from jiaolong_ledger.journal.entry import Entry, Posting
from jiaolong_ledger.money import check_currency, to_decimal

ENTRY_FIELDS = frozenset(
    {"key", "kind", "status", "effective_at", "description", "metadata", "postings", "expires_at"}
)
IGNORED_FIELDS = frozenset({"seq", "recorded_at", "prev_hash", "hash"})


def _timestamp(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidEntryError(f"{field} must be an ISO 8601 string", field=field)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEntryError(
            f"{field}: not an ISO 8601 timestamp: {value!r}", field=field
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _posting(raw: Any, index: int) -> Posting:
    if not isinstance(raw, dict):
        raise InvalidEntryError(f"postings[{index}] must be an object", field=f"postings[{index}]")
    missing = {"account", "side", "amount", "currency"} - raw.keys()
    if missing:
        raise InvalidEntryError(
            f"postings[{index}] is missing {', '.join(sorted(missing))}", field=f"postings[{index}]"
        )
    amount = raw["amount"]
    if not isinstance(amount, str | int) or isinstance(amount, bool):
        raise InvalidEntryError(
            f"postings[{index}].amount must be a decimal string (never a JSON float)",
            field=f"postings[{index}].amount",
        )
    currency = check_currency(str(raw["currency"]))
    side = raw["side"]
    if side not in ("debit", "credit"):
        raise InvalidEntryError(
            f"postings[{index}].side must be debit or credit", field=f"postings[{index}].side"
        )
    return Posting(str(raw["account"]), side, Money(to_decimal(amount), Currency(currency)))


def entry_from_object(obj: dict[str, Any]) -> Entry:
    """Build an :class:`Entry` from one JSON object; unknown members are an error."""
    unknown = obj.keys() - ENTRY_FIELDS - IGNORED_FIELDS
    if unknown:
        raise InvalidEntryError(
            f"unknown members: {', '.join(sorted(unknown))}", fields=sorted(unknown)
        )
    if "key" not in obj or "postings" not in obj:
        raise InvalidEntryError("an entry needs 'key' and 'postings'")
    if not isinstance(obj["postings"], list):
        raise InvalidEntryError("postings must be a list", field="postings")
    status = obj.get("status", "posted")
    if status not in ("posted", "pending"):
        raise InvalidEntryError("status must be posted or pending", field="status")
    metadata = obj.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InvalidEntryError("metadata must be an object", field="metadata")
    kind = obj.get("kind", "pending" if status == "pending" else "transfer")
    return Entry(
        key=obj["key"],
        postings=[_posting(raw, index) for index, raw in enumerate(obj["postings"])],
        effective_at=_timestamp(obj.get("effective_at"), "effective_at"),
        description=obj.get("description", ""),
        metadata=metadata,
        kind="transfer" if kind == "pending" else kind,
        pending=status == "pending",
        expires_at=_timestamp(obj.get("expires_at"), "expires_at"),
    )


def entry_from_line(obj: dict[str, Any], line: int) -> Entry:
    """Like :func:`entry_from_object`, with the line number added to any error."""
    try:
        return entry_from_object(obj)
    except LedgerError as error:
        error.details["line"] = line
        error.message = f"line {line}: {error.message}"
        raise

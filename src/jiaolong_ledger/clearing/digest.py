"""The cut-off digest: a recorded finality point for a cycle's frozen obligation set.

At cut-off the obligations frozen into the cycle (cancelled ones excluded: they left it before)
are written, sorted by ``reference``, as a list of JSON objects with exactly these members:

- ``reference``: the obligation's reference (string);
- ``payer``, ``payee``: participant names (strings);
- ``amount``: decimal string with exactly the currency's exponent (``"100.00"``, JPY ``"5"``);
- ``currency``: ISO 4217 code of the amount;
- ``settlement_currency``: the currency it settles in (equal to ``currency`` unless converted);
- ``submitted_at``: ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, SPEC §1).

The list is serialised as canonical JSON exactly as SPEC §1 does for the journal chain
(``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()``) and
``digest = sha256(...).hexdigest()``. The digest goes into the journal chain as a
``cycle_cutoff`` record (``cycle``, ``obligations`` = count, ``digest``), and every settlement
entry of the cycle names it in its metadata (``cutoff_digest``).

``jiaolong clearing export-obligations N FILE`` writes the same objects, one per line in the same
order, so an auditor recomputes the digest with the standard library (docs/audit-guide.md).

All pure but :func:`recorded_digest`, which reads the record back from the journal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import Connection

from jiaolong_ledger.clearing.model import Obligation
from jiaolong_ledger.journal import reads
from jiaolong_ledger.journal.canonical import format_timestamp
from jiaolong_ledger.money import format_minor

DIGEST_MEMBERS: Final = (
    "reference",
    "payer",
    "payee",
    "amount",
    "currency",
    "settlement_currency",
    "submitted_at",
)
"""The members of each obligation object, documented above."""


def obligation_object(obligation: Obligation) -> dict[str, Any]:
    """The JSON object of one frozen obligation (members :data:`DIGEST_MEMBERS`)."""
    return {
        "reference": obligation.reference,
        "payer": obligation.payer,
        "payee": obligation.payee,
        "amount": format_minor(obligation.amount_minor, obligation.currency),
        "currency": obligation.currency,
        "settlement_currency": obligation.settlement_currency,
        "submitted_at": format_timestamp(obligation.submitted_at),
    }


def frozen_set(obligations: Iterable[Obligation]) -> list[dict[str, Any]]:
    """The frozen set's objects, sorted by reference (code point order, Python's ``sorted``)."""
    objects = [obligation_object(o) for o in obligations]
    objects.sort(key=lambda obj: str(obj["reference"]))
    return objects


def digest_of(objects: list[dict[str, Any]]) -> str:
    """sha256 hex of the canonical JSON (SPEC §1) of the sorted list of objects."""
    return hashlib.sha256(_canonical(objects).encode()).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def jsonl_lines(objects: Iterable[dict[str, Any]]) -> Iterable[str]:
    """The export's lines: each object in canonical JSON, newline-terminated."""
    for obj in objects:
        yield _canonical(obj) + "\n"


def recorded_digest(connection: Connection, cycle_id: int) -> str | None:
    """The digest of cycle ``cycle_id``'s ``cycle_cutoff`` record (None: cut off before records)."""
    record = reads.entry_or_none(connection, f"cycle_cutoff:{cycle_id}")
    if record is None or record.record is None:
        return None
    return str(record.record["digest"])


__all__ = [
    "DIGEST_MEMBERS",
    "digest_of",
    "frozen_set",
    "jsonl_lines",
    "obligation_object",
    "recorded_digest",
]

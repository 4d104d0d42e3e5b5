"""One stored journal line on its own: its JSON object, its content hash, its amounts.

Pure leaf functions that :class:`~.checker.JournalChecker` calls for every line (and that
:mod:`.verify` uses to re-read lines when it names duplicate keys): parsing accepts only one JSON
object, the content hash takes the fast path over the line's own bytes before re-serialising,
and an amount must be canonical for its currency's exponent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from hashlib import sha256
from typing import Any, Final

from jiaolong_ledger.journal.canonical import canonical_bytes
from jiaolong_ledger.money import exponent

_HASH_MEMBER: Final = b',"hash":"'
_HASH_MEMBER_LENGTH: Final = len(_HASH_MEMBER) + 64 + 1


def _amount_pattern(exp: int) -> re.Pattern[str]:
    integer = r"(?:0|[1-9][0-9]*)"
    return re.compile(integer if exp == 0 else rf"{integer}\.[0-9]{{{exp}}}")


class AmountPatterns:
    """Canonical amount patterns per currency: ``patterns[currency](text)`` matches or not.

    A currency is looked up in ISO 4217 once; an unknown one maps to None (a malformed posting).
    """

    def __init__(self) -> None:
        self.patterns: dict[str, Callable[[str], re.Match[str] | None] | None] = {}

    def learn(self, currency: str) -> Callable[[str], re.Match[str] | None] | None:
        if currency not in self.patterns:
            try:
                self.patterns[currency] = _amount_pattern(exponent(currency)).fullmatch
            except Exception:  # an unknown currency is remembered, as malformed
                self.patterns[currency] = None
        return self.patterns[currency]


_decode = json.JSONDecoder().raw_decode


def parse_line(raw: bytes) -> dict[str, Any] | None:
    """The line's JSON object, or None (not UTF-8, not JSON, trailing text, not an object)."""
    try:
        text = raw.decode()
        obj, end = _decode(text)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if type(obj) is not dict or (end != len(text) and text[end:].strip()):
        return None
    return obj


def content_hash_ok(raw: bytes, obj: dict[str, Any]) -> bool:
    """Whether ``hash`` is the SHA-256 of ``prev_hash`` and the line's canonical body."""
    stated, prev = obj.get("hash"), obj.get("prev_hash")
    if type(stated) is not str or type(prev) is not str:
        return False
    try:
        prev_bytes = bytes.fromhex(prev)
    except ValueError:
        return False
    if len(prev_bytes) != 32:
        return False
    at = raw.find(_HASH_MEMBER)
    end = at + _HASH_MEMBER_LENGTH
    # The stored line is the canonical body with the hash member spliced in: hash its bytes.
    if (
        at > 0
        and raw[end - 65 : end] == stated.encode() + b'"'
        and sha256(prev_bytes + raw[:at] + raw[end:]).hexdigest() == stated
    ):
        return True
    body = {name: value for name, value in obj.items() if name != "hash"}
    try:
        return sha256(prev_bytes + canonical_bytes(body)).hexdigest() == stated
    except (TypeError, ValueError):
        return False

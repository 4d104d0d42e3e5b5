"""One stored journal line on its own: its JSON object, its content hash, its amounts.

Pure leaf functions that :class:`~.checker.JournalChecker` calls for every line (and that
:mod:`.verify` uses to re-read lines when it names duplicate keys).

Reading a line applies the rules of the intake layer (:mod:`jiaolong_ledger.intake`) and nothing
else, in two steps so that a clean line costs little more than ``json`` itself:

- :func:`parse_line`, the fast path, decodes strict UTF-8 and parses with hooks that refuse what
  the intake refuses as it goes (a key twice in one object, ``NaN``/``Infinity``, an integer of
  more than :data:`~jiaolong_ledger.intake.INTEGER_DIGITS_MAX` digits); then C-speed screens
  send on any line that could break the remaining rules (a line over
  :data:`~jiaolong_ledger.intake.LINE_BYTES_MAX` bytes, more brackets than
  :data:`~jiaolong_ledger.intake.JSON_DEPTH_MAX`, a ``\\uD800``-style escape). It returns None
  for anything it does not accept outright;
- :func:`read_line`, the judge, called only for those lines: the intake layer's own
  ``decode_line`` and ``parse_json_object`` decide, and their refusal (an
  :class:`~jiaolong_ledger.errors.InvalidInputError`) says why.

So the fast path never accepts a line the intake would refuse, and every refusal reads the same
as at every other door. The content hash takes the fast path over the line's own bytes before
re-serialising, and an amount must be canonical for its currency's exponent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from hashlib import sha256
from typing import Any, Final

from jiaolong_ledger.errors import InvalidInputError
from jiaolong_ledger.intake import (
    INTEGER_DIGITS_MAX,
    JSON_DEPTH_MAX,
    LINE_BYTES_MAX,
    decode_line,
    parse_json_object,
)
from jiaolong_ledger.journal.canonical import canonical_bytes
from jiaolong_ledger.money import AMOUNT_MINOR_MAX, exponent

_HASH_MEMBER: Final = b',"hash":"'
_HASH_MEMBER_LENGTH: Final = len(_HASH_MEMBER) + 64 + 1
_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]").search
"""A ``\\uD800``-``\\uDFFF`` escape: the only way a JSON string can hold a lone surrogate."""
_NOT_A_BRACKET: Final = bytes(byte for byte in range(256) if byte not in b"[{")
"""Every byte but ``[`` and ``{``: what ``bytes.translate`` deletes to count the openings."""
AMOUNT_DIGITS_MAX: Final = len(str(AMOUNT_MINOR_MAX))
"""Most digits of a canonical amount (the largest amount in minor units has 19)."""
CURRENCY_MEMO_MAX: Final = 1_024
"""Distinct currency values remembered, known or not (then the memo starts over)."""


def _amount_pattern(exp: int) -> re.Pattern[str]:
    integer = rf"(?:0|[1-9][0-9]{{0,{AMOUNT_DIGITS_MAX - exp - 1}}})"
    return re.compile(integer if exp == 0 else rf"{integer}\.[0-9]{{{exp}}}")


class AmountPatterns:
    """Canonical amount patterns per currency: ``patterns[currency](text)`` matches or not.

    A currency is looked up in ISO 4217 once; an unknown one maps to None (a malformed posting).
    A match has at most :data:`AMOUNT_DIGITS_MAX` digits; the caller still compares the amount
    with :data:`~jiaolong_ledger.money.AMOUNT_MINOR_MAX`. At most :data:`CURRENCY_MEMO_MAX`
    currencies are remembered, so a file of made-up currencies cannot grow memory.
    """

    def __init__(self) -> None:
        self.patterns: dict[Any, Callable[[str], re.Match[str] | None] | None] = {}

    def learn(self, currency: Any) -> Callable[[str], re.Match[str] | None] | None:
        if currency not in self.patterns:
            if len(self.patterns) >= CURRENCY_MEMO_MAX:
                self.patterns.clear()
            try:
                self.patterns[currency] = _amount_pattern(exponent(currency)).fullmatch
            except Exception:  # an unknown currency (or not a string at all) is malformed
                self.patterns[currency] = None
        return self.patterns[currency]


# -- reading a line under the intake rules -------------------------------------------------


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("a key appears twice in one object")
    return obj


def _integer(text: str) -> int:
    if len(text) > INTEGER_DIGITS_MAX and len(text.lstrip("-")) > INTEGER_DIGITS_MAX:
        raise ValueError("an integer with too many digits")
    return int(text)


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


_decode: Final = json.JSONDecoder(
    object_pairs_hook=_object, parse_int=_integer, parse_constant=_constant
).raw_decode


def parse_line(raw: bytes) -> dict[str, Any] | None:
    """The line's JSON object when it plainly passes every intake rule, else None (then
    :func:`read_line` decides). ``raw`` is one line without surrounding whitespace."""
    if len(raw) > LINE_BYTES_MAX:
        return None
    try:
        text = raw.decode()
        obj, end = _decode(text)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or refused by a hook
        return None
    if (
        type(obj) is not dict
        or end != len(text)
        or len(raw.translate(None, _NOT_A_BRACKET)) > JSON_DEPTH_MAX  # its [ and {: one pass
        or (raw.find(b"\\") >= 0 and _SURROGATE_ESCAPE(raw))
    ):
        return None
    return obj


def read_line(raw: bytes) -> dict[str, Any]:
    """The line's JSON object as the intake layer reads it; ``INVALID_INPUT`` saying why not
    (the message does not name the line: the caller does). ``raw`` is the line without its
    newline; like the intake, its length does not count a carriage return before it."""
    if len(raw) > LINE_BYTES_MAX and len(raw.rstrip(b"\r\n")) > LINE_BYTES_MAX:
        raise InvalidInputError(
            f"longer than {LINE_BYTES_MAX} bytes",
            limit="line_bytes_max",
            limit_value=LINE_BYTES_MAX,
        )
    return parse_json_object(decode_line(raw))


def key_of(raw: bytes) -> tuple[int | None, str] | None:
    """``(seq, key)`` of a line that reads as an object with a string key (else None)."""
    obj = parse_line(raw.strip())
    if obj is None:
        try:
            obj = read_line(raw)
        except InvalidInputError:
            return None
    key, seq = obj.get("key"), obj.get("seq")
    if type(key) is not str:
        return None
    return (seq if type(seq) is int else None), key


# -- the content hash ----------------------------------------------------------------------


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

"""Canonical JSON and the hash chain (SPEC §1, §5).

``hash = sha256(bytes.fromhex(prev_hash) + canonical_bytes).hexdigest()`` where the canonical
bytes are the entry object without ``hash``, keys sorted at every level, compact separators,
UTF-8 (no ``\\u`` escapes). An auditor recomputes this with ``json`` and ``hashlib`` alone.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from jiaolong_ledger.journal.entry import PostedEntry

GENESIS_HASH: Final = "0" * 64
TIMESTAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"


@lru_cache(maxsize=4096)
def format_timestamp(value: datetime) -> str:
    assert value.tzinfo is not None, "naive datetime in the journal"
    return value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def canonical_bytes(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + body).hexdigest()


def entry_object(entry: PostedEntry) -> dict[str, Any]:
    """The §5 JSON object of a posted entry, ``hash`` included."""
    from jiaolong_ledger.journal.entry import thaw

    obj: dict[str, Any] = {
        "seq": entry.seq,
        "key": entry.key,
        "kind": entry.kind,
        "status": entry.status,
        "effective_at": format_timestamp(entry.effective_at),
        "recorded_at": format_timestamp(entry.recorded_at),
        "description": entry.description,
        "metadata": thaw(entry.metadata),
        "postings": [posting.to_json() for posting in entry.postings],
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }
    if entry.pending_key is not None:
        obj["pending_key"] = entry.pending_key
    if entry.expires_at is not None:
        obj["expires_at"] = format_timestamp(entry.expires_at)
    if entry.account is not None:
        obj["account"] = thaw(entry.account)
    if entry.record is not None:
        obj.update(thaw(entry.record))
    return obj


def seal(body: dict[str, Any]) -> tuple[str, str]:
    """``(hash, line)`` of a §5 object given without ``hash``: one serialisation for both.

    The object is serialised in two sorted halves, the members that sort before ``"hash"`` and
    those after, so the hashed canonical bytes and the exported line (the same bytes with the
    ``hash`` member spliced in at its sorted place) come from the same two ``json.dumps`` calls.
    """
    head = {name: value for name, value in body.items() if name < "hash"}
    tail = {name: value for name, value in body.items() if name > "hash"}
    assert head and tail and "hash" not in body, "a journal object has description and key"
    head_json = json.dumps(head, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    tail_json = json.dumps(tail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    canonical = f"{head_json[:-1]},{tail_json[1:]}"
    digest = chain_hash(body["prev_hash"], canonical.encode())
    return digest, f'{head_json[:-1]},"hash":"{digest}",{tail_json[1:]}'


_string = json.encoder.encode_basestring  # the str encoder json.dumps uses with ensure_ascii=False


def seal_entry(entry: PostedEntry) -> tuple[str, str]:
    """``(hash, line)`` of a posted entry (its ``hash`` field ignored): the posting hot path.

    Produces exactly ``seal(entry_object(entry) without "hash")`` — members written in sorted
    order by hand, strings through the same encoder ``json.dumps`` uses — without building and
    re-walking the intermediate dicts. Account records and record kinds (``entry.record``) take
    the generic path.
    """
    if entry.account is not None or entry.record is not None:
        body = entry_object(entry)
        del body["hash"]
        return seal(body)
    from jiaolong_ledger.journal.entry import thaw
    from jiaolong_ledger.money import format_minor

    head = [
        f'"description":{_string(entry.description)}',
        f'"effective_at":"{format_timestamp(entry.effective_at)}"',
    ]
    if entry.expires_at is not None:
        head.append(f'"expires_at":"{format_timestamp(entry.expires_at)}"')
    metadata = canonical_bytes(thaw(entry.metadata)).decode() if entry.metadata else "{}"
    tail = [
        f'"key":{_string(entry.key)}',
        f'"kind":{_string(entry.kind)}',
        f'"metadata":{metadata}',
    ]
    if entry.pending_key is not None:
        tail.append(f'"pending_key":{_string(entry.pending_key)}')
    postings = ",".join(
        f'{{"account":{_string(p.account)},"amount":"{format_minor(p.amount_minor, p.currency)}",'
        f'"currency":{_string(p.currency)},"side":"{p.side}"}}'
        for p in entry.postings
    )
    tail += [
        f'"postings":[{postings}]',
        f'"prev_hash":"{entry.prev_hash}"',
        f'"recorded_at":"{format_timestamp(entry.recorded_at)}"',
        f'"seq":{int(entry.seq)}',
        f'"status":{_string(entry.status)}',
    ]
    head_text, tail_text = ",".join(head), ",".join(tail)
    digest = chain_hash(entry.prev_hash, f"{{{head_text},{tail_text}}}".encode())
    return digest, f'{{{head_text},"hash":"{digest}",{tail_text}}}'


def line_of(obj: dict[str, Any]) -> str:
    """The exported JSON Lines text of one object (canonical form, ``hash`` included)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

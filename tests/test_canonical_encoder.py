"""The posting hot path's hand-written encoder must equal the generic canonical JSON (SPEC §1)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from jiaolong_ledger.journal.canonical import GENESIS_HASH, entry_object, seal_entry
from jiaolong_ledger.journal.entry import PostedEntry, PostedPosting

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_instant = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
_posting = st.builds(
    PostedPosting,
    account=st.from_regex(r"[a-z0-9]{1,8}(:[a-z0-9-]{1,8}){0,3}(:[A-Z]{3})?", fullmatch=True),
    side=st.sampled_from(["debit", "credit"]),
    amount_minor=st.integers(1, 2**63 - 1),
    currency=st.sampled_from(["EUR", "JPY", "KWD", "CNY", "LAK"]),
)


@given(
    seq=st.integers(1, 10**12),
    key=_text.filter(bool),
    kind=st.sampled_from(["transfer", "pending", "post_pending", "reversal", "settlement"]),
    status=st.sampled_from(["posted", "pending"]),
    effective_at=_instant,
    recorded_at=_instant,
    description=_text,
    metadata=st.dictionaries(_text, _json, max_size=4),
    postings=st.lists(_posting, max_size=5),
    prev_hash=st.sampled_from([GENESIS_HASH, hashlib.sha256(b"x").hexdigest()]),
    pending_key=st.none() | _text,
    expires_at=st.none() | _instant,
)
def test_fast_encoder_equals_generic_canonical_json(**fields: object) -> None:
    entry = PostedEntry(hash="", **fields)  # type: ignore[arg-type]
    digest, line = seal_entry(entry)
    obj = entry_object(entry)
    del obj["hash"]
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = hashlib.sha256(bytes.fromhex(obj["prev_hash"]) + canonical.encode()).hexdigest()
    assert digest == expected
    assert json.loads(line) == {**obj, "hash": expected}
    assert line == json.dumps(
        {**obj, "hash": expected}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )

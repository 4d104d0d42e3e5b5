"""The hash chain, recomputed from an export with nothing but ``json`` and ``hashlib``.

This is the auditor's procedure of SPEC §1, written out without any jiaolong code: if it ever
needs a helper from the package, the promise ("an outsider can recompute it") is broken.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from jiaolong_ledger import Entry, Ledger, credit, debit
from jiaolong_ledger.audit.verify import verify_file
from jiaolong_ledger.testing import AccountSpec, balanced_entries

GENESIS = "0" * 64
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
EXPONENTS = {"EUR": 2, "JPY": 0, "KWD": 3, "CNY": 2}


def recompute(path: Path) -> list[dict[str, Any]]:
    """The auditor's loop: every prev_hash links, every hash matches the canonical bytes."""
    prev = GENESIS
    objects = []
    # Split on "\n" only: str.splitlines() would also split inside strings at U+2028 or U+0085,
    # which canonical JSON (ensure_ascii=False) writes raw.
    lines = path.read_bytes().decode("utf-8").split("\n")
    assert lines[-1] == "", "the export ends with a newline"
    for number, line in enumerate(lines[:-1], start=1):
        obj = json.loads(line)
        assert obj["seq"] == number
        assert obj["prev_hash"] == prev, f"seq {number}: broken link"
        body = {name: value for name, value in obj.items() if name != "hash"}
        canonical = json.dumps(
            body, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        digest = hashlib.sha256(bytes.fromhex(prev) + canonical).hexdigest()
        assert digest == obj["hash"], f"seq {number}: hash mismatch"
        prev = digest
        objects.append(obj)
    return objects


def varied_journal(ledger: Ledger) -> None:
    """Entries of every core kind, non-ASCII text, nested metadata, 0/2/3-decimal currencies."""
    for currency in EXPONENTS:
        ledger.open_account(f"platform:bank:{currency}", currency=currency, kind="asset")
        ledger.open_account(
            f"participant:lodz-gallery:cash:{currency}",
            currency=currency,
            kind="liability",
            constraint="debits_must_not_exceed_credits",
        )
    cash = "participant:lodz-gallery:cash:{}".format
    bank = "platform:bank:{}".format
    ledger.post_many(
        [
            Entry(
                key=f"deposit/{currency}",
                postings=[
                    debit(bank(currency), Money(amount, currency)),
                    credit(cash(currency), Money(amount, currency)),
                ],
                description="存款 — dépôt initial «Łódź»\u2028\x85",
                metadata={"z": {"b": [1, "二"], "a": None}, "city": "Łódź", "ok": True},
                effective_at=datetime(2026, 11, 26, 8, 0, 0, 123456, tzinfo=UTC),
            )
            for currency, amount in (("EUR", "100.10"), ("JPY", "5000"), ("KWD", "1.005"))
        ]
    )
    ledger.post(
        Entry(
            key="hold/1",
            postings=[
                debit(cash("EUR"), Money("40", "EUR")),
                credit(bank("EUR"), Money("40", "EUR")),
            ],
            pending=True,
            expires_at=datetime(2100, 1, 1, tzinfo=UTC),
        )
    )
    ledger.post_pending("hold/1", "hold/1/post", Money("25.5", "EUR"))
    ledger.post(
        Entry(
            key="hold/2",
            postings=[
                debit(cash("JPY"), Money("7", "JPY")),
                credit(bank("JPY"), Money("7", "JPY")),
            ],
            pending=True,
        )
    )
    ledger.void_pending("hold/2", "hold/2/void")
    ledger.reverse("deposit/KWD", "deposit/KWD/reversal")
    ledger.freeze_account(cash("JPY"))
    ledger.unfreeze_account(cash("JPY"))


def test_chain_recomputes_from_the_export_alone(ledger: Ledger, tmp_path: Path) -> None:
    varied_journal(ledger)
    path = tmp_path / "journal.jsonl"
    count = ledger.export_journal(path)
    objects = recompute(path)
    assert count == len(objects) == 18

    kinds = [obj["kind"] for obj in objects]
    for kind in (
        "open_account",
        "transfer",
        "pending",
        "post_pending",
        "void_pending",
        "reversal",
        "freeze_account",
        "unfreeze_account",
    ):
        assert kind in kinds
    for obj in objects:
        assert TIMESTAMP.fullmatch(obj["effective_at"]) and TIMESTAMP.fullmatch(obj["recorded_at"])
        for posting in obj["postings"]:
            decimals = posting["amount"].partition(".")[2]
            assert len(decimals) == EXPONENTS[posting["currency"]], posting
        if obj["kind"].endswith("_account"):
            assert obj["postings"] == [] and set(obj["account"]) == {
                "code",
                "currency",
                "kind",
                "constraint",
            }
    amounts = {(o["key"], p["amount"]) for o in objects for p in o["postings"]}
    assert {("deposit/EUR", "100.10"), ("deposit/JPY", "5000"), ("deposit/KWD", "1.005")} <= amounts
    assert ("hold/1/post", "25.50") in amounts
    post = next(o for o in objects if o["kind"] == "post_pending")
    assert post["pending_key"] == "hold/1"
    assert objects[-1]["hash"] == ledger.verify().last_hash

    raw = path.read_bytes()
    assert "存款 — dépôt initial «Łódź»".encode() in raw  # UTF-8 itself, not \u escapes
    assert b"\\u" not in raw
    for line in raw.decode("utf-8").split("\n")[:-1]:  # each line is already canonical
        assert line == json.dumps(
            json.loads(line), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )


def test_tampering_breaks_the_recomputation_at_that_entry(ledger: Ledger, tmp_path: Path) -> None:
    varied_journal(ledger)
    path = tmp_path / "journal.jsonl"
    ledger.export_journal(path)
    lines = path.read_bytes().decode("utf-8").split("\n")[:-1]
    tampered = json.loads(lines[8])
    assert tampered["key"] == "deposit/EUR"
    tampered["postings"][0]["amount"] = "1000.10"
    tampered["postings"][1]["amount"] = "1000.10"  # still balanced, so only the hash tells
    lines[8] = json.dumps(tampered, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    try:
        recompute(path)
    except AssertionError as error:
        assert "seq 9: hash mismatch" in str(error)
    else:
        raise AssertionError("a tampered amount went unnoticed")
    report = verify_file(path)
    assert not report.ok and report.first_broken_seq == 9


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
METADATA = st.dictionaries(
    st.text(max_size=5),
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53), 2**53) | TEXT,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
        max_leaves=6,
    ),
    max_size=4,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_chain_recomputes_for_any_entries(
    make_ledger: Callable[[], Ledger], tmp_path_factory: Any, data: st.DataObject
) -> None:
    ledger = make_ledger()
    specs = [
        AccountSpec(f"p:{name}:{currency}", currency, kind)
        for currency in EXPONENTS
        for name, kind in (("a", "asset"), ("b", "liability"), ("c", "equity"))
    ]
    for spec in specs:
        spec.open(ledger)
    entries = data.draw(
        st.lists(
            balanced_entries(specs, descriptions=TEXT, metadata=METADATA),
            min_size=1,
            max_size=6,
            unique_by=lambda entry: entry.key,
        )
    )
    ledger.post_many(entries)
    path = tmp_path_factory.mktemp("chain") / "journal.jsonl"
    ledger.export_journal(path)
    objects = recompute(path)
    assert len(objects) == len(specs) + len(entries)
    ledger.close()

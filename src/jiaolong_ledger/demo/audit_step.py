"""Audit step of the demo: export the day's journal, verify it, say where it is."""

from __future__ import annotations

from jiaolong_ledger.audit.verify import verify_file
from jiaolong_ledger.audit.verify_db import verify_database
from jiaolong_ledger.demo.run import DemoContext


def run(context: DemoContext) -> None:
    ledger = context.ledger
    jsonl = context.out_dir / "journal.jsonl"
    beancount = context.out_dir / "journal.beancount"
    entries = ledger.export_journal(jsonl, format="jsonl")
    ledger.export_journal(beancount, format="beancount")
    database = verify_database(ledger)
    exported = verify_file(jsonl, expected_head=database.last_hash)
    context.results["audit"] = {
        "entries": entries,
        "chain_head": exported.last_hash,
        "database_ok": database.ok,
        "export_ok": exported.ok,
        "jsonl": str(jsonl),
        "beancount": str(beancount),
    }
    verdict = "ok" if database.ok and exported.ok else "FAILED"
    context.say(
        f"audit: journal verify {verdict}: {entries} entries, chain head seq "
        f"{exported.last_seq} {exported.last_hash[:16]}…; balances match their postings: "
        f"{database.ok}"
    )
    context.say(f"audit: journal exported to {jsonl} and {beancount}")
    context.say(
        f"audit: check it yourself: jiaolong journal verify {jsonl} --head {exported.last_hash}"
    )

"""The journal: entries, postings, validation passes, canonical JSON + hash chain, the engine.

The engine (:mod:`.engine`) is the single writer: every sub-domain builds :class:`Entry` values
(or engine drafts) and hands them to a :class:`~.engine.Transaction`; nothing else writes
postings or balances.
"""

from jiaolong_ledger.journal.entry import Entry, PostedEntry, PostedPosting, Posting, credit, debit

__all__ = ["Entry", "PostedEntry", "PostedPosting", "Posting", "credit", "debit"]

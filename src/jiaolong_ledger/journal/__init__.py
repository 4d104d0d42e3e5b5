"""The journal: entries, postings, validation passes, canonical JSON + hash chain, the writer.

:mod:`.writer` is the single writer: every sub-domain builds :class:`Entry` values (or
:class:`~.drafts.Draft` values) and hands them to a :class:`~.writer.Transaction`; nothing else
writes postings or balances. Beside it: :mod:`.drafts` (drafts and request fingerprints),
:mod:`.balances` (locked account state and its limits) and :mod:`.two_phase` (pending entries
and reversals).
"""

from jiaolong_ledger.journal.entry import Entry, PostedEntry, PostedPosting, Posting, credit, debit

__all__ = ["Entry", "PostedEntry", "PostedPosting", "Posting", "credit", "debit"]

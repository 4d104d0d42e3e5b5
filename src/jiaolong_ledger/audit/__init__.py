"""Audit: journal export (jsonl, beancount, csv), streaming verify, replay.

Everything here reads the journal as a stream in ``seq`` order, so memory stays flat however
long the journal is. Verification recomputes the chain from the exported bytes alone; against
a database it also checks that the structured postings and the balance rows agree with them,
and reports any disagreement as ``JOURNAL_TAMPERED``.

Export and verify read through a :class:`~.source.JournalSource` (anything with ``reading()``,
such as a ledger) and :mod:`jiaolong_ledger.journal.reads`; replay writes through the journal
writer of a unit of work on a :class:`~jiaolong_ledger.unit_of_work.LedgerScope`. Nothing here
imports the ledger facade.
"""

"""Audit: journal export (jsonl, beancount, csv), streaming verify, replay.

Everything here reads the journal as a stream in ``seq`` order, so memory stays flat however
long the journal is. Verification recomputes the chain from the exported bytes alone; against
a database it also checks that the structured postings and the balance rows agree with them.
"""

"""Clearing tables (none yet)."""

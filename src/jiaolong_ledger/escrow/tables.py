"""Escrow tables (none yet)."""

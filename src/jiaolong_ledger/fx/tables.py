"""FX tables (none yet)."""

"""`jiaolong escrow` commands (placeholder until the escrow work lands)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

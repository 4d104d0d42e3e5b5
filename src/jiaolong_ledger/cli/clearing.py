"""`jiaolong clearing` commands (placeholder until the clearing work lands)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

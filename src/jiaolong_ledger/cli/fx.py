"""`jiaolong fx` commands (placeholder until the fx work lands)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

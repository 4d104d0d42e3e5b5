"""`jiaolong events` commands (placeholder until the events work lands)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

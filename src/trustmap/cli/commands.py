"""The list of subcommands; each lives in its own module under ``trustmap.cli``."""

from __future__ import annotations

import click

__all__ = ["COMMANDS"]

COMMANDS: list[click.Command] = []

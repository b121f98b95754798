"""The list of subcommands; each lives in its own module under ``trustmap.cli``."""

from __future__ import annotations

import click

from trustmap.cli.analyze import analyze
from trustmap.cli.explain import explain
from trustmap.cli.graph import graph
from trustmap.cli.query import query
from trustmap.cli.schema import schema
from trustmap.cli.validate import validate

__all__ = ["COMMANDS"]

COMMANDS: list[click.Command] = [validate, query, explain, graph, schema, analyze]

"""``trustmap validate``: check declarations and report every problem at once."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from trustmap import api
from trustmap.cli.common import exit_for, load, now_option, paths_argument, stderr
from trustmap.diagnostics import sort_diagnostics
from trustmap.report import FORMATS, render_diagnostics, summary_line

__all__ = ["validate"]

_EPILOG = """\b
Examples:
  trustmap validate examples/online-boutique
  trustmap validate teams/ --strict --format github     # annotations in a GitHub pull request
  trustmap validate . --format sarif > trustmap.sarif   # code scanning
  trustmap validate . --now 2027-01-01                  # what will have expired by then?
  trustmap validate teams/ --compiled compiled/          # deployed output past its expiry?
  trustmap validate --schema-only teams/payments.yaml   # one file: YAML and schema only

\b
With --compiled, the compiled objects under each DIR (any target) are also checked against
today: TM440 an object still allows a grant whose `expires` has passed (recompile and apply),
TM441 one whose last day is within --expiring-within days (the message names the owners to
ask), TM442 an edited expiry annotation.

\b
Exit status: 0 clean, 1 findings (errors; warnings too with --strict), 2 unreadable input.
"""


@click.command(epilog=_EPILOG)
@paths_argument
@now_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--quiet", "-q", is_flag=True, help="Show errors and warnings only, no info.")
@click.option(
    "--compiled",
    "compiled",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Also check compiled output (files or directories) for expired grants (repeatable).",
)
@click.option(
    "--expiring-within",
    metavar="DAYS",
    type=click.IntRange(min=0),
    default=api.verify_expiry_days(),
    show_default=True,
    help="With --compiled: warn (TM441) about grants whose last day is this close.",
)
@click.option(
    "--schema-only",
    is_flag=True,
    help="Check each file's YAML and schema (TM1xx) only, not the organisation's graph rules.",
)
def validate(
    paths: tuple[str, ...],
    today: dt.date,
    fmt: str,
    strict: bool,
    quiet: bool,
    compiled: tuple[Path, ...],
    expiring_within: int,
    schema_only: bool,
) -> None:
    """Check declarations: YAML, schema and every organisation-wide graph rule."""
    if schema_only:
        _schema_only(paths, fmt, strict)
    graph = load(paths, today, exit_unreadable=False)
    expiry = (
        api.check_compiled(list(compiled), today, expiring_within=expiring_within, graph=graph)
        if compiled
        else []
    )
    everything = sort_diagnostics([*graph.diagnostics, *expiry])
    found = [d for d in everything if not (quiet and d.severity.value == "info")]
    sys.stdout.write(render_diagnostics(found, fmt))
    if fmt == "text":
        stats = f"{len(graph.services)} services, {len(graph.edges)} allowed flows"
        stderr.print(f"{summary_line(found)} ({stats})", highlight=False)
    exit_for(found, strict=strict)


def _schema_only(paths: tuple[str, ...], fmt: str, strict: bool) -> None:
    """Files on their own (a pre-commit hook passes only the changed ones): no graph is built."""
    declarations, problems = api.check_files(paths)
    found = sort_diagnostics(problems)
    sys.stdout.write(render_diagnostics(found, fmt))
    if fmt == "text":
        counts = f"{len(declarations.services)} services, {len(declarations.teams)} teams"
        stderr.print(f"{summary_line(found)} ({counts}; schema only)", highlight=False)
    exit_for(found, strict=strict)

"""``trustmap explain``: is a call allowed, and why (or which condition failed)?"""

from __future__ import annotations

import datetime as dt
import sys

import click

from trustmap import query as q
from trustmap.cli.common import (
    echo_json,
    fail,
    load,
    note_findings,
    now_option,
    out,
)
from trustmap.cli.registry_source import paths_or_server
from trustmap.errors import UsageError
from trustmap.report.tables import explanation_data, explanation_lines

__all__ = ["explain"]

_EPILOG = """\b
Examples:
  trustmap explain default/frontend default/cartservice examples/online-boutique
  trustmap explain frontend cartservice examples/online-boutique --interface grpc --format json
  trustmap explain ingress-controller:ingress-nginx/ingress frontend examples/online-boutique

\b
Exit status: 0 allowed, 1 denied, 2 usage or unreadable input.
"""


@click.command(epilog=_EPILOG)
@click.argument("source")
@click.argument("target")
@paths_or_server
@click.option("--interface", help="Only this interface of TARGET.")
@now_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def explain(
    source: str,
    target: str,
    paths: tuple[str, ...],
    interface: str | None,
    today: dt.date,
    fmt: str,
) -> None:
    """Whether SOURCE may call TARGET, with the declaring file:line on both sides, the reason,
    approver and expiry, or the condition that failed."""
    graph = load(paths, today)
    note_findings(graph)
    try:
        target_ref = q.resolve_ref(graph, target)
        caller = source if ":" in source or "/" in source else str(q.resolve_ref(graph, source))
    except UsageError as error:
        fail(str(error))
    answer = q.explain(graph, caller, target_ref, interface)
    if fmt == "json":
        echo_json(explanation_data(answer))
    else:
        for line in explanation_lines(answer):
            out.print(line, highlight=False)
    sys.exit(0 if answer.allowed else 1)

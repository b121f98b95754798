"""``trustmap graph``: the organisation graph as DOT, Mermaid, JSON or one self-contained HTML page."""

from __future__ import annotations

import datetime as dt
import sys

import click

from trustmap.cli.common import load, note_findings, now_option, stderr
from trustmap.cli.registry_source import paths_or_server
from trustmap.report.graph import GRAPH_FORMATS, render_graph

__all__ = ["graph"]

_EPILOG = """\b
Examples:
  trustmap graph examples/online-boutique --format html -o graph.html   # open it in a browser
  trustmap graph examples/online-boutique --format dot | dot -Tsvg > graph.svg
  trustmap graph examples/online-boutique --format mermaid              # paste into a Markdown file
"""


@click.command(epilog=_EPILOG)
@paths_or_server
@click.option("--format", "fmt", type=click.Choice(GRAPH_FORMATS), default="dot", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to a file."
)
@now_option
def graph(paths: tuple[str, ...], fmt: str, output: str | None, today: dt.date) -> None:
    """Draw the allowed flows, services grouped by namespace and team."""
    found = load(paths, today)
    note_findings(found)
    text = render_graph(found, fmt)
    if output is None:
        sys.stdout.write(text)
        return
    with open(output, "w", encoding="utf-8") as handle:
        handle.write(text)
    stderr.print(
        f"wrote {output} ({len(found.services)} services, {len(found.edges)} flows)",
        highlight=False,
    )

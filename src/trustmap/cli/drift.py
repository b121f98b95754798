"""``trustmap drift``: compare observed flows (the flow database) with the declarations."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from trustmap.cli.common import echo_json, fail, load, now_option, out, paths_argument, stderr
from trustmap.errors import InputError

if TYPE_CHECKING:
    from trustmap.observe.drift import DriftReport

__all__ = ["drift"]

_EPILOG = """\b
Examples:
  trustmap observe ingest flows.json --format hubble
  trustmap drift teams/
  trustmap drift teams/ --db prod.duckdb --since 7d --format json
  trustmap drift . --since 12h --now 2026-03-02

\b
Categories: undeclared (observed, no edge allows it), unused (declared, never observed),
dropped (declared but dropped: an enforcement bug), expired (traffic on an expired or
unconsented dependency), undeclaredEgress (to the world, no egress declared). Coverage is the
declared share of observed flows and workloads, per namespace and team.

\b
Exit status: 0 no drift, 1 drift found, 2 unreadable input or bad usage.
"""

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _parse_duration(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> dt.timedelta | None:
    if value is None:
        return None
    match = _DURATION.match(value.strip())
    if not match or int(match[1]) == 0:
        raise click.BadParameter(f"'{value}' is not a duration such as 30m, 12h, 7d or 2w")
    return dt.timedelta(**{_UNITS[match[2]]: int(match[1])})


@click.command(epilog=_EPILOG)
@paths_argument
@now_option
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(".trustmap/flows.duckdb"),
    show_default=True,
    help="Flow database written by `trustmap observe ingest`.",
)
@click.option(
    "--since",
    metavar="DURATION",
    callback=_parse_duration,
    help="Only flows of the last DURATION before --now (30m, 12h, 7d, 2w); default: all.",
)
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True
)
def drift(
    paths: tuple[str, ...], today: dt.date, db_path: Path, since: dt.timedelta | None, fmt: str
) -> None:
    """Compare observed traffic with the declarations: drift and coverage."""
    from trustmap.observe.drift import drift as run_drift

    graph = load(paths, today)
    now = dt.datetime.combine(today + dt.timedelta(days=1), dt.time())
    try:
        report = run_drift(graph, db_path, since, now)
    except InputError as err:
        fail(str(err), "check --db, or ingest flows with `trustmap observe ingest`")
    if fmt == "json":
        echo_json(report.to_json())
    else:
        _render(report)
    sys.exit(1 if report.has_drift else 0)


def _render(report: DriftReport) -> None:
    from trustmap.observe.drift import CATEGORIES

    for name in CATEGORIES:
        entries = report.category(name)
        if not entries:
            continue
        table = Table(title=f"{name} ({len(entries)})", title_justify="left")
        for column in ("code", "source", "destination", "port", "count", "first seen", "detail"):
            table.add_column(column)
        for e in entries:
            first = e.first_seen.isoformat(sep=" ", timespec="seconds") if e.first_seen else "-"
            port = f"{e.port}/{e.protocol}" if e.port is not None else e.protocol
            table.add_row(
                e.code, e.source, e.destination, port, str(e.count), first, e.detail or ""
            )
        out.print(table)
    total = report.coverage.total
    stderr.print(
        f"{len(report.entries)} drift entries; coverage: {total.covered_flows}/{total.flows} "
        f"flows ({_percent(total.covered_flows, total.flows)}), "
        f"{total.covered_workloads}/{total.workloads} workloads "
        f"({_percent(total.covered_workloads, total.workloads)})",
        highlight=False,
    )
    _coverage_table(report)


def _coverage_table(report: DriftReport) -> None:
    table = Table(title="coverage", title_justify="left")
    for column in ("scope", "name", "flows covered", "workloads covered"):
        table.add_column(column)
    rows = [("namespace", r) for r in report.coverage.namespaces]
    for scope, row in [*rows, *(("team", r) for r in report.coverage.teams)]:
        table.add_row(
            scope,
            row.name,
            f"{row.covered_flows}/{row.flows}",
            f"{row.covered_workloads}/{row.workloads}",
        )
    out.print(table)


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"

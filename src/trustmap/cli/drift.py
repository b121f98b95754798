"""``trustmap drift``: compare observed flows (the flow database) with the declarations."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from trustmap import api
from trustmap.cli.common import db_option, fail, load, now_option, out, paths_argument, stderr
from trustmap.errors import InputError, UsageError

if TYPE_CHECKING:
    from trustmap.observe.drift import DriftReport
    from trustmap.observe.snapshot import ClusterSnapshot

__all__ = ["drift"]

_EPILOG = """\b
Examples:
  trustmap observe ingest flows.json --format hubble
  trustmap drift teams/
  trustmap drift teams/ --db prod.duckdb --since 7d --format json
  trustmap drift . --since 12h --now 2026-03-02
  kubectl get pods,svc -A -o json > snapshot.json
  trustmap drift teams/ --snapshot snapshot.json     # resolve address-only flows (Istio, Envoy)
  trustmap drift teams/ --format html -o drift.html  # charts: coverage, categories, trend
  trustmap drift teams/ --format sarif -o drift.sarif --trend day
  trustmap drift teams/ --format github              # annotations at the declaring lines
  trustmap drift teams/ --engine spark               # aggregate --db on a local Spark
  trustmap drift teams/ --engine spark --spark-master yarn --flows-parquet hdfs:///flows/

\b
Categories: undeclared (observed, no edge allows it), unused (declared, never observed),
dropped (declared but dropped: an enforcement bug), expired (traffic on an expired or
unconsented dependency), undeclaredEgress (to the world, no egress declared). Coverage is the
declared share of observed flows and workloads, per namespace and team, and per window
(--trend: each ingest batch, or each UTC day).

\b
Exit status: 0 no drift, 1 drift found, 2 unreadable input or bad usage.
"""

_FORMATS = ("text", "json", "github", "sarif", "html")
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
@db_option("Flow database written by `trustmap observe ingest`.")
@click.option(
    "--since",
    metavar="DURATION",
    callback=_parse_duration,
    help="Only flows of the last DURATION before --now (30m, 12h, 7d, 2w); default: all.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_FORMATS),
    default="text",
    show_default=True,
    help="github and sarif: one diagnostic per entry at its declaration; html: one page.",
)
@click.option(
    "--snapshot",
    "snapshots",
    multiple=True,
    type=click.Path(path_type=str),
    metavar="FILE",
    help="Pods and Services (`kubectl get pods,svc -A -o json`, or manifests; repeatable) to "
    "resolve endpoints recorded by address or pod name.",
)
@click.option(
    "--trend",
    type=click.Choice(("batch", "day", "none")),
    default="batch",
    show_default=True,
    help="Coverage trend windows: each ingest batch, or each UTC day of the flows.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to a file."
)
@click.option(
    "--engine",
    type=click.Choice(("duckdb", "spark")),
    default="duckdb",
    show_default=True,
    help="Who aggregates the flows: embedded DuckDB, or Spark (the `spark` extra, Java 17+).",
)
@click.option(
    "--flows-parquet",
    metavar="PATH",
    help="Spark engine: Parquet file, directory or URI with the `flows` table's columns "
    "(default: --db, exported to a temporary Parquet file; a local master only).",
)
@click.option(
    "--spark-master",
    metavar="URL",
    help="Spark engine: master URL (local[4], spark://host:7077, yarn); default: spark-submit's "
    "or local[*].",
)
def drift(
    paths: tuple[str, ...],
    today: dt.date,
    db_path: Path,
    since: dt.timedelta | None,
    fmt: str,
    snapshots: tuple[str, ...],
    trend: str,
    output: str | None,
    engine: str,
    flows_parquet: str | None,
    spark_master: str | None,
) -> None:
    """Compare observed traffic with the declarations: drift and coverage."""
    from trustmap.api import drift as run_drift

    if engine != "spark" and (flows_parquet or spark_master):
        fail("--flows-parquet and --spark-master need --engine spark")
    graph = load(paths, today)
    snapshot = _snapshot(snapshots) if snapshots else None
    now = dt.datetime.combine(today + dt.timedelta(days=1), dt.time())
    try:
        windows = None if trend == "none" else trend
        report = run_drift(
            graph, db_path, since=since, now=now, snapshot=snapshot, trend=windows,
            engine="spark" if engine == "spark" else "duckdb", flows=flows_parquet,
            master=spark_master,
        )  # fmt: skip
    except UsageError as err:
        if engine != "spark":
            raise
        fail(str(err), api.spark_hint())
    except InputError as err:
        if flows_parquet:
            fail(str(err), "check --flows-parquet: the `flows` columns, see docs/observe.md")
        fail(str(err), "check --db, or ingest flows with `trustmap observe ingest`")
    _write(report, fmt, output, graph.organization.name if graph.organization else None)
    sys.exit(1 if report.has_drift else 0)


def _snapshot(paths: tuple[str, ...]) -> ClusterSnapshot:
    """The snapshot, or exit 2 naming every problem in it."""
    from trustmap.report import render_diagnostics, summary_line

    snapshot, problems = api.read_snapshot(paths)
    if problems:
        sys.stderr.write(render_diagnostics(problems))
        fail(
            f"the snapshot cannot be used ({summary_line(problems)})",
            "fix the fields named above, or take a fresh `kubectl get pods,svc -A -o json`",
        )
    shared = f"; {len(snapshot.ambiguous)} addresses shared by several pods are not mapped"
    stderr.print(
        f"snapshot: {len(snapshot.pods)} pods, {len(snapshot.services)} services"
        f"{shared if snapshot.ambiguous else ''}",
        highlight=False,
    )
    return snapshot


def _write(report: DriftReport, fmt: str, output: str | None, org: str | None) -> None:
    from rich.console import Console

    from trustmap.report.drift import print_drift, render_drift, summary

    if fmt != "text":
        text = render_drift(report, fmt, f"drift · {org}" if org else "drift")
        if output is None:
            sys.stdout.write(text)
        else:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            stderr.print(f"wrote {output} ({summary(report)})", highlight=False)
        return
    if output is None:
        print_drift(report, out)
    else:
        with open(output, "w", encoding="utf-8") as handle:
            print_drift(report, Console(file=handle, width=200, color_system=None))
    stderr.print(summary(report), highlight=False)

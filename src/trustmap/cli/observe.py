"""``trustmap observe``: observed traffic. ``observe ingest`` reads flow records into DuckDB."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from trustmap.cli.common import db_option, echo_json, fail, stderr
from trustmap.errors import InputError, UsageError
from trustmap.report import render_diagnostics

if TYPE_CHECKING:
    from trustmap.observe import IngestReport

__all__ = ["observe"]

_INPUTS = ("hubble", "hubble-compact", "envoy", "istio", "istio-json", "linkerd", "csv")

_EPILOG = """\b
Examples:
  hubble observe -o json --since 1h > flows.json
  trustmap observe ingest flows.json --format hubble
  trustmap observe ingest node-*.json.gz --format hubble --db prod.duckdb
  trustmap observe ingest day-*.json --format hubble --memory-limit 4GB
  kubectl logs -n foo httpbin-7f9c -c istio-proxy > httpbin.log
  trustmap observe ingest httpbin.log --format istio --reporter foo/httpbin-7f9c
  trustmap observe ingest export.csv --format csv -o json

\b
Each run is recorded as one batch (window) in the database (default .trustmap/flows.duckdb).
Files may be gzip-compressed. Malformed lines are counted and the first few shown with their
line numbers; the good lines are always kept. See docs/observe.md for formats and the schema.

\b
Exit status: 0 all read, 1 findings (malformed lines, lost events, ...), 2 unreadable file or
bad usage.
"""


@click.group()
def observe() -> None:
    """Observed traffic: ingest flow records, then compare them with the declarations."""


@observe.command(epilog=_EPILOG)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(_INPUTS), required=True, help="Input format.")
@db_option("DuckDB database to write (created with its folder).")
@click.option("--reporter", metavar="NS/POD", help="Pod whose proxy wrote the logs (Istio, Envoy).")
@click.option(
    "--window",
    type=click.FloatRange(min=0.001),
    default=5.0,
    show_default=True,
    help="Window bucket (seconds) within which observations of one flow count as one.",
)
@click.option("--year", type=int, help="Year of timestamps printed without one (hubble-compact).")
@click.option("--force", is_flag=True, help="Ingest files already ingested by an earlier run.")
@click.option(
    "--memory-limit",
    default="1GB",
    show_default=True,
    metavar="SIZE",
    help="DuckDB memory cap (512MB, 4GB...); beyond it, collapsing spills to DB.tmp/.",
)
@click.option(
    "-o", "--output", type=click.Choice(("text", "json")), default="text", show_default=True
)
def ingest(
    files: tuple[str, ...],
    fmt: str,
    db_path: Path,
    reporter: str | None,
    window: float,
    year: int | None,
    force: bool,
    memory_limit: str,
    output: str,
) -> None:
    """Read flow records (Hubble, Envoy, Istio, Linkerd, CSV) into the flow database."""
    from trustmap.api import ingest as run_ingest

    try:
        with _progress() as progress:
            report = run_ingest(
                files, fmt, db_path, reporter=reporter, progress=progress,
                window=dt.timedelta(seconds=window), year=year, force=force,
                memory_limit=memory_limit,
            )  # fmt: skip
    except UsageError as err:
        fail(str(err))
    except InputError as err:
        fail(str(err), "check --db")
    sys.stderr.write(render_diagnostics(list(report.diagnostics)))
    if output == "json":
        echo_json(report.to_dict())
    else:
        _summary(report)
    if report.unreadable:
        sys.exit(2)
    findings = [d for d in report.diagnostics if d.severity.value != "info"]
    sys.exit(1 if findings or report.malformed else 0)


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A bytes progress bar on a terminal; nothing otherwise."""
    if not stderr.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("ingesting"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        TimeRemainingColumn(), console=stderr, transient=True,
    )  # fmt: skip
    task = bar.add_task("ingest", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


def _summary(report: IngestReport) -> None:
    span = ""
    if report.first_time and report.last_time:
        span = f", {report.first_time:%Y-%m-%d %H:%M:%S} → {report.last_time:%Y-%m-%d %H:%M:%S}"
    batch = f"batch {report.batch_id}" if report.batch_id is not None else "no batch recorded"
    click.echo(
        f"{report.db_path}: {batch}{span}\n"
        f"  {report.read:,} records read, {report.stored:,} flows stored, "
        f"{report.duplicates:,} duplicates merged, {report.malformed:,} malformed, "
        f"{report.skipped:,} skipped"
    )

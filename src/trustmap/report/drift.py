"""A drift report as terminal tables, JSON, GitHub annotations, SARIF or one HTML page."""

from __future__ import annotations

import json

import orjson
from rich.console import Console
from rich.table import Table

from trustmap.observe.coverage import CoverageRow
from trustmap.observe.drift import CATEGORIES, DriftReport
from trustmap.observe.findings import drift_diagnostics
from trustmap.report.diagnostics import render_diagnostics
from trustmap.report.drift_html import render_drift_html

__all__ = ["DRIFT_FORMATS", "pretty_json", "print_drift", "render_drift", "summary"]

DRIFT_FORMATS = ("text", "json", "github", "sarif", "html")


def render_drift(report: DriftReport, fmt: str, title: str = "drift") -> str:
    """``report`` in a machine format (json, github, sarif) or as an HTML page."""
    if fmt == "json":
        return pretty_json(report.to_json()) + "\n"
    if fmt == "html":
        return render_drift_html(report, title)
    return render_diagnostics(drift_diagnostics(report), fmt)


def pretty_json(value: object) -> str:
    """``json.dumps(value, indent=2, sort_keys=True)``, byte for byte, without its pure-Python
    indenting encoder (3 s for a 35,000-entry report): orjson writes the same text for ASCII
    output with the rounded floats reports hold; anything non-ASCII (orjson does not escape it)
    goes through ``json``."""
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    return text if text.isascii() else json.dumps(value, indent=2, sort_keys=True)


def print_drift(report: DriftReport, console: Console) -> None:
    """Tables for a person: one per category with entries, coverage, and the trend."""
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
        console.print(table)
    console.print(_coverage_table(report))
    if report.coverage.trend:
        console.print(_trend_table(report))


def summary(report: DriftReport) -> str:
    """One line: entries and total coverage."""
    total = report.coverage.total
    return (
        f"{len(report.entries)} drift entries; coverage: {_fraction(total, flows=True)} flows, "
        f"{_fraction(total, flows=False)} workloads"
    )


def _coverage_table(report: DriftReport) -> Table:
    table = Table(title="coverage", title_justify="left")
    for column in ("scope", "name", "flows covered", "workloads covered"):
        table.add_column(column)
    rows = [("namespace", r) for r in report.coverage.namespaces]
    for scope, row in [*rows, *(("team", r) for r in report.coverage.teams)]:
        table.add_row(scope, row.name, _fraction(row, flows=True), _fraction(row, flows=False))
    return table


def _trend_table(report: DriftReport) -> Table:
    table = Table(title="coverage trend", title_justify="left")
    for column in ("window", "format", "from", "to", "flows covered", "workloads covered"):
        table.add_column(column)
    for point in report.coverage.trend:
        first, last = point.first_seen, point.last_seen
        table.add_row(
            point.window,
            point.source_format or "",
            first.isoformat(sep=" ", timespec="seconds") if first else "-",
            last.isoformat(sep=" ", timespec="seconds") if last else "-",
            _fraction(point.row, flows=True),
            _fraction(point.row, flows=False),
        )
    return table


def _fraction(row: CoverageRow, *, flows: bool) -> str:
    part, whole = (
        (row.covered_flows, row.flows) if flows else (row.covered_workloads, row.workloads)
    )
    share = f"{part / whole:.1%}" if whole else "n/a"
    return f"{part}/{whole} ({share})"

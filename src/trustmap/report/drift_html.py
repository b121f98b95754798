"""The drift report as one self-contained HTML page: inline CSS and SVG charts, no script, no CDN.

Chart geometry is computed here (plain numbers, formatted with fixed decimals so the same
report always gives the same bytes); ``templates/drift.html.j2`` only draws it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Final

import jinja2

from trustmap.observe.coverage import CoverageRow, TrendPoint
from trustmap.observe.drift import CATEGORIES, CODES, DriftEntry, DriftReport
from trustmap.version import __version__

__all__ = ["render_drift_html"]

COLORS: Final = {
    "undeclared": "#dc6803",
    "unused": "#667085",
    "dropped": "#d92d20",
    "expired": "#7a5af8",
    "undeclaredEgress": "#0e9384",
    "flows": "#2563eb",
    "workloads": "#16a34a",
}
_LABEL_W: Final = 150
_BAR_W: Final = 280
_ROW_H: Final = 22


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a horizontal bar chart."""

    y: str
    width: str
    text_x: str
    color: str
    text: str
    title: str


@dataclass(frozen=True, slots=True)
class BarRow:
    """A labelled row of one or more bars."""

    label: str
    full: str
    """The whole label (shown on hover when ``label`` is shortened)."""
    y: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class BarChart:
    """Horizontal bars: one row per label."""

    width: int
    height: int
    label_width: int
    rows: tuple[BarRow, ...]
    legend: tuple[tuple[str, str], ...]
    track: str
    """Width of the grey track behind share bars ('' for none)."""


@dataclass(frozen=True, slots=True)
class Series:
    """One line of the trend chart."""

    name: str
    color: str
    points: str
    dots: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True, slots=True)
class TrendChart:
    """Coverage shares per window as lines over flow volume bars."""

    width: int
    height: int
    series: tuple[Series, ...]
    volume: tuple[tuple[str, str, str, str, str, str], ...]
    """x, y, width, height, request count, tooltip."""
    ticks: tuple[tuple[str, str], ...]
    grid: tuple[tuple[str, str], ...]


def render_drift_html(report: DriftReport, title: str = "drift") -> str:
    """The whole page for ``report`` (same report → same bytes)."""
    text = resources.files("trustmap.report").joinpath("templates/drift.html.j2").read_text()
    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True, trim_blocks=True)
    cov = report.coverage
    return env.from_string(text).render(
        title=title,
        version=__version__,
        since=_time(report.start) if report.start else "every flow in the database",
        total=cov.total,
        share=_percent,
        categories=[(name, CODES[name], report.category(name)) for name in CATEGORIES],
        entry_cells=_cells,
        colors=COLORS,
        category_chart=_category_chart(report),
        namespace_chart=_coverage_chart(cov.namespaces),
        team_chart=_coverage_chart(cov.teams),
        namespaces=cov.namespaces,
        teams=cov.teams,
        trend=cov.trend,
        trend_chart=_trend_chart(cov.trend) if cov.trend else None,
        time=_time,
    )


def _category_chart(report: DriftReport) -> BarChart:
    counts = {name: len(report.category(name)) for name in CATEGORIES}
    peak = max(counts.values(), default=0) or 1
    rows = []
    for n, name in enumerate(CATEGORIES):
        requests = sum(entry.count for entry in report.category(name))
        noun = "edge" if name == "unused" else "entry"
        title = f"{counts[name]} {noun}{'s' if counts[name] != 1 else ''}"
        if name != "unused":
            title += f", {requests} requests"
        bar = _bar(n * _ROW_H + 4, _BAR_W * counts[name] / peak, COLORS[name],
                   f"{counts[name]} · {CODES[name]}", title)  # fmt: skip
        rows.append(BarRow(name, name, _f(n * _ROW_H + 15), (bar,)))
    size = (_LABEL_W + _BAR_W + 100, len(rows) * _ROW_H + 8)
    return BarChart(*size, _LABEL_W, tuple(rows), (), "")


def _coverage_chart(rows: Sequence[CoverageRow]) -> BarChart:
    pitch = 2 * _ROW_H - 6
    drawn = []
    for n, row in enumerate(rows):
        top = n * pitch + 4
        bars = (
            _share_bar(top, row.covered_flows, row.flows, "flows", "flows"),
            _share_bar(top + 17, row.covered_workloads, row.workloads, "workloads", "workloads"),
        )
        drawn.append(BarRow(_short(row.name), row.name, _f(top + 19), bars))
    legend = (("flows covered", COLORS["flows"]), ("workloads covered", COLORS["workloads"]))
    height = max(len(rows) * pitch + 8, 24)
    return BarChart(_LABEL_W + _BAR_W + 130, height, _LABEL_W, tuple(drawn), legend, _f(_BAR_W))


def _share_bar(top: float, part: int, whole: int, kind: str, noun: str) -> Bar:
    share = part / whole if whole else 0.0
    text = f"{_percent(part, whole)} ({part}/{whole})"
    bar = _bar(top, _BAR_W * share, COLORS[kind], text, f"{part} of {whole} {noun}")
    return Bar(bar.y, bar.width, _f(_LABEL_W + _BAR_W + 6), bar.color, bar.text, bar.title)


def _bar(top: float, width: float, color: str, text: str, title: str) -> Bar:
    return Bar(_f(top), _f(width), _f(_LABEL_W + width + 6), color, text, title)


def _trend_chart(points: Sequence[TrendPoint]) -> TrendChart:
    left, top, width, height = 48, 12, max(120 * len(points), 360), 180
    step = width / max(len(points), 1)
    xs = [left + step * (n + 0.5) for n in range(len(points))]
    peak = max((p.row.flows for p in points), default=0) or 1
    volume = tuple(
        (_f(x - step * 0.3), _f(top + height * (1 - p.row.flows / peak)), _f(step * 0.6),
         _f(height * p.row.flows / peak), str(p.row.flows), f"{p.window}: {p.row.flows} requests")
        for x, p in zip(xs, points, strict=True)
    )  # fmt: skip
    flows = [_ratio(p.row.covered_flows, p.row.flows) for p in points]
    workloads = [_ratio(p.row.covered_workloads, p.row.workloads) for p in points]
    series = (
        _series("flows covered", COLORS["flows"], xs, top, height, flows),
        _series("workloads covered", COLORS["workloads"], xs, top, height, workloads),
    )
    ticks = tuple((_f(x), p.window) for x, p in zip(xs, points, strict=True))
    grid = tuple((_f(top + height * (1 - q / 4)), f"{q * 25}%") for q in range(5))
    return TrendChart(left + width + 16, top + height + 40, series, volume, ticks, grid)


def _series(
    name: str, color: str, xs: list[float], top: int, height: int, shares: list[float | None]
) -> Series:
    found = [
        (x, top + height * (1 - s), s) for x, s in zip(xs, shares, strict=True) if s is not None
    ]
    points = " ".join(f"{_f(x)},{_f(y)}" for x, y, _ in found)
    dots = tuple((_f(x), _f(y), f"{name}: {s:.1%}") for x, y, s in found)
    return Series(name, color, points, dots)


def _short(label: str, limit: int = 22) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _cells(entry: DriftEntry) -> tuple[str, ...]:
    port = entry.protocol if entry.port is None else f"{entry.port}/{entry.protocol}"
    return (
        entry.source,
        entry.destination,
        port,
        str(entry.count),
        _time(entry.first_seen),
        _time(entry.last_seen),
        entry.detail or "",
        "" if entry.span is None else str(entry.span),
        entry.example or "",
    )


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def _time(value: dt.datetime | None) -> str:
    return "" if value is None else value.isoformat(sep=" ", timespec="seconds") + "Z"


def _f(value: float) -> str:
    return f"{value:.1f}"

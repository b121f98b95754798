"""Drift entries as diagnostics, so CI annotates the declaration each one is about.

Each entry of a :class:`~trustmap.observe.drift.DriftReport` becomes one diagnostic (TM510 to
TM514) located at the dependency entry that declared the edge (``unused``, ``dropped``,
``expired``) or at the source service's document (``undeclared``, ``undeclaredEgress``), so
the same renderers that print ``validate`` findings print drift for GitHub or SARIF.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from trustmap.diagnostics import Diagnostic, diagnostic, sort_diagnostics
from trustmap.observe.drift import DriftEntry, DriftReport

__all__ = ["drift_diagnostics", "entry_diagnostic"]

_HINTS: Final = {
    "undeclared": "declare the dependency (and get the provider's consent), or find out why "
    "the caller makes it",
    "unused": "remove the dependency if it is really unused, or widen the window (--since)",
    "dropped": "enforcement disagrees with the declarations: recompile and apply the policies "
    "(trustmap compile), or check the mesh/CNI",
    "expired": "renew the expiry or get the provider to list the caller, or stop the calls",
    "undeclaredEgress": "declare the egress (host, cidr or apiServer with ports), or stop the "
    "calls",
}


def drift_diagnostics(report: DriftReport) -> list[Diagnostic]:
    """One diagnostic per drift entry, sorted by file, line and column."""
    return sort_diagnostics(entry_diagnostic(entry) for entry in report.entries)


def entry_diagnostic(entry: DriftEntry) -> Diagnostic:
    """The diagnostic of one drift entry."""
    return diagnostic(entry.code, entry.span, _message(entry), _HINTS[entry.category])


def _message(entry: DriftEntry) -> str:
    edge = f"{entry.source} → {entry.destination} {_port(entry)}"
    seen = f"{_times(entry.count)} {_range(entry.first_seen, entry.last_seen)}"
    example = f"; e.g. {entry.example}" if entry.example else ""
    if entry.category == "undeclared":
        return f"observed traffic {edge} is not declared: {seen}{example}"
    if entry.category == "unused":
        return f"declared dependency {edge} was not observed in the window"
    if entry.category == "dropped":
        return f"declared traffic {edge} was dropped ({entry.detail}): {seen}{example}"
    if entry.category == "expired":
        return f"traffic {edge} on a rejected dependency ({entry.detail}): {seen}{example}"
    return f"egress {edge} is not declared: {seen}{example}"


def _port(entry: DriftEntry) -> str:
    return entry.protocol if entry.port is None else f"{entry.port}/{entry.protocol}"


def _times(count: int) -> str:
    return f"{count} request{'' if count == 1 else 's'}"


def _range(first: dt.datetime | None, last: dt.datetime | None) -> str:
    if first is None:
        return "(no time recorded)"
    start = first.isoformat(timespec="seconds") + "Z"
    if last is None or last == first:
        return f"at {start}"
    return f"from {start} to {last.isoformat(timespec='seconds')}Z"

"""Where each compiled object comes from: the declaring file:line and the reason, as annotations.

A reviewer reading a NetworkPolicy or an AuthorizationPolicy in a cluster can follow it back to
the YAML line that asked for it and the reason given there. Objects that stand for several edges
carry a compact list: every file:line once, and one ``caller -> target: reason`` line per edge.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from trustmap.diagnostics import Span
from trustmap.model import Edge, Egress, ServiceRef

__all__ = [
    "AUDIT",
    "DECLARED_AT",
    "MANAGED_BY",
    "MODE",
    "REASON",
    "Source",
    "annotate",
    "edge_source",
    "egress_source",
    "source",
]

MANAGED_BY = {"app.kubernetes.io/managed-by": "trustmap"}
"""The label every emitted object carries."""
DECLARED_AT = "trustmap.dev/declared-at"
REASON = "trustmap.dev/reason"
MODE = "trustmap.dev/mode"
AUDIT = "trustmap.dev/audit"


class Source(NamedTuple):
    """One reason an object exists (a tuple: cheap to hash and sort by the thousand)."""

    file: str
    """File of the declaration that asked for it ('' when unknown)."""
    line: int
    """Its line (0 when unknown)."""
    text: str
    """``caller -> target: reason``, for objects that stand for several sources."""
    reason: str
    """The reason alone."""


def source(span: Span, text: str, reason: str) -> Source:
    """A source at ``span``."""
    return Source(span.file, max(span.line, 0), text, reason)


def edge_source(edge: Edge) -> Source:
    """The source of an effective edge."""
    reason = edge.reason or "no reason given"
    text = f"{edge.source} -> {edge.target}:{edge.interface}: {reason}"
    return source(edge.declared_at, text, reason)


def egress_source(service: ServiceRef, egress: Egress) -> Source:
    """The source of a declared call out of the cluster."""
    reason = egress.reason or "no reason given"
    return source(egress.span, f"{service} -> {egress.destination}: {reason}", reason)


def annotate(sources: Iterable[Source]) -> dict[str, str]:
    """``declared-at`` (every file:line once) and ``reason`` (one line per source when several).

    Kubernetes caps an object's annotations at 256 KiB; past :data:`BUDGET` characters a list
    keeps whole entries up to the budget and says how many more there are.
    """
    unique = set(sources)
    found: dict[str, str] = {}
    places = sorted({(s.file, s.line) for s in unique if s.file})
    if places:
        found[DECLARED_AT] = _capped([f"{f}:{n}" if n else f for f, n in places], ", ")
    if len(unique) == 1:
        found[REASON] = next(iter(unique)).reason
    elif unique:
        found[REASON] = _capped(sorted({s.text for s in unique}), "\n")
    return found


BUDGET = 60_000
"""Longest provenance annotation, in characters (two of them stay well under 256 KiB)."""


def _capped(items: list[str], separator: str) -> str:
    text = separator.join(items)
    if len(text) <= BUDGET:
        return text
    kept: list[str] = []
    size = 0
    for item in items:
        size += len(item) + len(separator)
        if size > BUDGET:
            break
        kept.append(item)
    return separator.join([*kept, f"... and {len(items) - len(kept)} more"])

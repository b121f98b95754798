"""Calls as a reviewer sees them: one per caller and provider interface, compared side to side.

An effective edge is keyed by who calls, which service and which interface; what a change can do
to it is open it, close it, or move its bounds: ports, methods (none listed = every method) and
expiry (none = never). A call whose bounds grow is *widened* even if it also loses something,
since what it gains is what a reviewer must approve; one that only loses is *narrowed*.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from trustmap.diagnostics import Span
from trustmap.model import Edge, Graph

__all__ = ["Call", "CallKey", "calls_of", "compare", "flow_key", "opened_closed"]

CallKey = tuple[str, str, str]
"""``(caller, provider ns/name, interface)``."""

Movement = Literal["opened", "closed", "widened", "narrowed"]


@dataclass(frozen=True, slots=True)
class Call:
    """The effective edges of one caller to one interface, merged."""

    source: str
    """The caller: ``ns/name``, ``ingress-controller:ns/name``, ``platform:...`` or ``world``."""
    target: str
    """The provider service, ``ns/name``."""
    interface: str
    """The provider's interface."""
    kind: str
    """Why it exists: dependency, ingress, platform or world."""
    ports: tuple[str, ...]
    """``port/protocol`` entries, sorted."""
    methods: tuple[str, ...]
    """Allowed methods, sorted; empty = every method."""
    expires: dt.date | None
    """Last valid day; ``None`` = never."""
    reason: str | None
    """The declared (or generated) reason."""
    declared_at: Span
    """The declaration that asked for it."""

    @property
    def key(self) -> CallKey:
        """Identity across the two sides."""
        return (self.source, self.target, self.interface)


def flow_key(edge: Edge) -> str:
    """A stable, readable name for an effective flow: ``caller -> ns/name:interface (port/proto)``.

    The registry records its version history with these names.
    """
    return f"{edge.source} -> {edge.target}:{edge.interface} ({edge.port}/{edge.protocol})"


def opened_closed(
    before: Iterable[Edge], after: Iterable[Edge], keep: Callable[[Edge], bool] = lambda _: True
) -> tuple[list[str], list[str]]:
    """Flow names opened and closed from ``before`` to ``after`` among edges ``keep`` accepts."""
    old = {flow_key(e) for e in before if keep(e)}
    new = {flow_key(e) for e in after if keep(e)}
    return sorted(new - old), sorted(old - new)


def calls_of(graph: Graph) -> dict[CallKey, Call]:
    """Every effective edge of ``graph`` merged into calls."""
    grouped: dict[CallKey, list[Edge]] = {}
    for edge in graph.edges:
        grouped.setdefault((str(edge.source), str(edge.target), edge.interface), []).append(edge)
    return {key: _merge(key, edges) for key, edges in grouped.items()}


def _merge(key: CallKey, edges: list[Edge]) -> Call:
    first = edges[0]
    every = any(not e.methods for e in edges)
    methods = () if every else tuple(sorted({m for e in edges for m in e.methods}))
    expiries = [e.expires for e in edges]
    expires = None if None in expiries else max(e for e in expiries if e is not None)
    ports = tuple(sorted({f"{e.port}/{e.protocol}" for e in edges}))
    return Call(*key, first.kind.value, ports, methods, expires, first.reason, first.declared_at)


def compare(before: Call, after: Call) -> tuple[Movement | None, tuple[str, ...]]:
    """Whether ``after`` widens or narrows ``before``, and what moved, in words."""
    gained, lost = _ports(before, after)
    more, fewer = _methods(before, after)
    later, earlier = _expiry(before, after)
    details = tuple(d for d in (*gained, *more, *later, *lost, *fewer, *earlier) if d)
    if gained or more or later:
        return "widened", details
    if lost or fewer or earlier:
        return "narrowed", details
    return None, ()


def _ports(before: Call, after: Call) -> tuple[list[str], list[str]]:
    added = sorted(set(after.ports) - set(before.ports))
    removed = sorted(set(before.ports) - set(after.ports))
    return ([f"port +{p}" for p in added], [f"port -{p}" for p in removed])


def _methods(before: Call, after: Call) -> tuple[list[str], list[str]]:
    if before.methods == after.methods:
        return [], []
    if not after.methods:
        return ["methods: every method (was " + ", ".join(before.methods) + ")"], []
    if not before.methods:
        return [], ["methods: only " + ", ".join(after.methods) + " (was every method)"]
    added = sorted(set(after.methods) - set(before.methods))
    removed = sorted(set(before.methods) - set(after.methods))
    return [f"method +{m}" for m in added], [f"method -{m}" for m in removed]


def _expiry(before: Call, after: Call) -> tuple[list[str], list[str]]:
    if before.expires == after.expires:
        return [], []
    text = f"expires {_day(before.expires)} -> {_day(after.expires)}"
    if before.expires is None:
        return [], [text]
    if after.expires is None or after.expires > before.expires:
        return [text], []
    return [], [text]


def _day(day: dt.date | None) -> str:
    return day.isoformat() if day else "never"

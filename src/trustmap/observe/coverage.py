"""Coverage: the declared share of observed flows and of observed workloads.

A flow is covered when an effective edge (or declared egress) allows it; a workload is covered
when it resolves to a declared service. Shares are given overall, per namespace and per team,
so a team can see how much of its real traffic its declarations describe.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from trustmap.model import Graph
from trustmap.observe.identity import Identity, ObservedEndpoint
from trustmap.observe.observed import BatchInfo, ObservedGroup

__all__ = [
    "NO_TEAM",
    "PLATFORM_TEAM",
    "Coverage",
    "CoverageRow",
    "FlowVerdict",
    "TrendPoint",
    "coverage",
    "coverage_trend",
    "is_platform_workload",
]

NO_TEAM = "(no declared service)"
"""Team row of flows and workloads that belong to no declared service."""
PLATFORM_TEAM = "(platform, Organization)"
"""Team row of workloads the Organization declares: the DNS resolver, ingress controllers and
platform consumers. They are declared, so they count as covered, not as undeclared workloads."""


@dataclass(frozen=True, slots=True)
class FlowVerdict:
    """An observed group, its resolved endpoints and whether the declarations allow it."""

    group: ObservedGroup
    """The observation."""
    src: Identity
    """Resolved client."""
    dst: Identity
    """Resolved server."""
    covered: bool
    """True when an effective edge or declared egress allows it."""


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """Coverage of one scope: everything, a namespace or a team."""

    name: str
    """Namespace or team name (``*`` for the total)."""
    flows: int
    """Observed requests attributed to the scope."""
    covered_flows: int
    """Of those, allowed by a declaration."""
    workloads: int
    """Distinct observed pods' workloads in the scope."""
    covered_workloads: int
    """Of those, resolved to a declared service."""

    def to_json(self) -> dict[str, object]:
        """JSON-ready mapping with shares rounded to 4 decimals."""
        return {
            "name": self.name,
            "flows": self.flows,
            "coveredFlows": self.covered_flows,
            "flowShare": _share(self.covered_flows, self.flows),
            "workloads": self.workloads,
            "coveredWorkloads": self.covered_workloads,
            "workloadShare": _share(self.covered_workloads, self.workloads),
        }


@dataclass(frozen=True, slots=True)
class Coverage:
    """Coverage overall, per namespace and per team (sorted by name)."""

    total: CoverageRow
    """Every observed flow and workload."""
    namespaces: tuple[CoverageRow, ...]
    """Per namespace of the flow's client (its server when the client has none)."""
    teams: tuple[CoverageRow, ...]
    """Per owning team of the client (else of the server; ``-`` when neither is declared)."""
    trend: tuple[TrendPoint, ...] = ()
    """Total coverage per window, oldest first (empty when flows were not split by window)."""

    def to_json(self) -> dict[str, object]:
        """JSON-ready mapping."""
        return {
            "total": self.total.to_json(),
            "namespaces": [row.to_json() for row in self.namespaces],
            "teams": [row.to_json() for row in self.teams],
            "trend": [point.to_json() for point in self.trend],
        }


UNDATED = "undated"
"""Window of rows without time when windows are days."""


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """Coverage of one window: an ingest batch or a UTC day."""

    window: str
    """``batch N`` or ``YYYY-MM-DD`` (``undated`` for rows without time)."""
    batch: int | None
    """The batch id, when windows are batches."""
    source_format: str | None
    """The batch's input format, when windows are batches."""
    first_seen: dt.datetime | None
    """Earliest observation of the window."""
    last_seen: dt.datetime | None
    """Latest observation of the window."""
    row: CoverageRow
    """Coverage of the window's flows and workloads (``row.name`` = ``window``)."""

    def to_json(self) -> dict[str, object]:
        """JSON-ready mapping: the window, its time range, and its coverage figures."""
        figures = self.row.to_json()
        del figures["name"]
        return {
            "window": self.window,
            "batch": self.batch,
            "format": self.source_format,
            "from": _iso(self.first_seen),
            "to": _iso(self.last_seen),
            **figures,
        }


def coverage_trend(
    graph: Graph,
    verdicts: Iterable[FlowVerdict],
    batches: Mapping[int, BatchInfo] | None = None,
    whole: CoverageRow | None = None,
) -> tuple[TrendPoint, ...]:
    """Total coverage of each window that ``verdicts`` fall in (their groups' ``window``:
    batch ids when ``batches`` is given, else UTC days), oldest first; empty when no group
    carries a window (flows not split by window). ``whole``, the total coverage of
    ``verdicts`` when already computed, spares recomputing it when there is one window."""
    by_window: dict[str, list[FlowVerdict]] = defaultdict(list)
    for verdict in verdicts:
        by_window[verdict.group.window or UNDATED].append(verdict)
    if set(by_window) <= {UNDATED}:
        return ()
    alone = whole if len(by_window) == 1 else None
    points = [_point(graph, key, found, batches, alone) for key, found in by_window.items()]
    return tuple(sorted(points, key=_point_order))


def _point(
    graph: Graph,
    key: str,
    verdicts: list[FlowVerdict],
    batches: Mapping[int, BatchInfo] | None,
    total: CoverageRow | None,
) -> TrendPoint:
    total = total or coverage(graph, verdicts).total
    firsts = [v.group.first_seen for v in verdicts if v.group.first_seen is not None]
    lasts = [v.group.last_seen for v in verdicts if v.group.last_seen is not None]
    number = int(key) if batches is not None and key.isdigit() else None
    batch = batches.get(number) if batches is not None and number is not None else None
    window = f"batch {key}" if number is not None else key
    return TrendPoint(
        window,
        number,
        batch.source_format if batch else None,
        min(firsts, default=None),
        max(lasts, default=None),
        replace(total, name=window),
    )


def _point_order(point: TrendPoint) -> tuple[int, int, str]:
    return (point.window == UNDATED, point.batch or 0, point.window)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class _Tally:
    def __init__(self) -> None:
        self.flows: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.workloads: dict[str, dict[str, bool]] = defaultdict(dict)

    def flow(self, scope: str, count: int, covered: bool) -> None:
        row = self.flows[scope]
        row[0] += count
        row[1] += count if covered else 0

    def workload(self, scope: str, name: str, covered: bool) -> None:
        self.workloads[scope][name] = covered

    def rows(self) -> tuple[CoverageRow, ...]:
        return tuple(self.row(scope) for scope in sorted({*self.flows, *self.workloads}))

    def row(self, scope: str) -> CoverageRow:
        flows, covered = self.flows.get(scope, [0, 0])
        seen = self.workloads.get(scope, {})
        return CoverageRow(scope, flows, covered, len(seen), sum(seen.values()))


def coverage(graph: Graph, verdicts: Iterable[FlowVerdict]) -> Coverage:
    """Coverage of ``verdicts`` against ``graph``'s services."""
    total, namespaces, teams = _Tally(), _Tally(), _Tally()
    counted: set[tuple[str | None, str]] = set()  # declared workloads already counted
    for verdict in verdicts:
        group = verdict.group
        owner = (group.src, verdict.src) if group.src.namespace else (group.dst, verdict.dst)
        namespace = (group.src.namespace or group.dst.namespace) or NO_TEAM
        team = _team(graph, owner[1], owner[0])
        for tally, scope in ((total, "*"), (namespaces, namespace), (teams, team)):
            tally.flow(scope, group.count, verdict.covered)
        for endpoint, identity in ((group.src, verdict.src), (group.dst, verdict.dst)):
            if identity.resolved:
                if (endpoint.namespace, identity.label) in counted:
                    continue
                counted.add((endpoint.namespace, identity.label))
            _count_workload((total, namespaces, teams), graph, endpoint, identity)
    return Coverage(total.row("*"), namespaces.rows(), teams.rows())


def _count_workload(
    tallies: Sequence[_Tally], graph: Graph, endpoint: ObservedEndpoint, identity: Identity
) -> None:
    named = identity.resolved or endpoint.pod or endpoint.workload
    if not endpoint.namespace or (endpoint.entity and not named):
        return
    if endpoint.service and not identity.resolved:
        return  # a Service that maps to no declared service is not a workload
    name = identity.label if identity.resolved else _workload_name(endpoint)
    declared = identity.resolved or is_platform_workload(graph, endpoint)
    total, namespaces, teams = tallies
    total.workload("*", name, declared)
    namespaces.workload(endpoint.namespace, name, declared)
    teams.workload(_team(graph, identity, endpoint), name, declared)


def _workload_name(endpoint: ObservedEndpoint) -> str:
    """An unresolved pod's workload: its recorded workload, else the pod name."""
    return f"{endpoint.namespace}/{endpoint.workload or endpoint.pod or endpoint.ip or '?'}"


def _team(graph: Graph, identity: Identity, endpoint: ObservedEndpoint) -> str:
    service = graph.services.get(identity.ref) if identity.ref else None
    if service is not None:
        return service.team
    return PLATFORM_TEAM if is_platform_workload(graph, endpoint) else NO_TEAM


def is_platform_workload(graph: Graph, endpoint: ObservedEndpoint) -> bool:
    """Whether ``endpoint`` is a pod the Organization declares: the DNS resolver (its selector),
    an ingress controller or a platform consumer (namespace and every pod label)."""
    organization = graph.organization
    if organization is None or not endpoint.namespace or endpoint.service:
        return False
    labels = {label.removeprefix("k8s:") for label in endpoint.labels}
    selectors = [(c.namespace, c.pod_labels) for c in organization.ingress_controllers]
    selectors += [(c.namespace, c.pod_labels) for c in organization.platform_consumers]
    dns = organization.dns
    if dns is not None and dns.namespace is not None:
        selectors.append((dns.namespace, dns.pod_labels))
    return any(
        namespace == endpoint.namespace
        and pod_labels
        and all(f"{k}={v}" in labels for k, v in pod_labels)
        for namespace, pod_labels in selectors
    )

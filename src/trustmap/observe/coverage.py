"""Coverage: the declared share of observed flows and of observed workloads.

A flow is covered when an effective edge (or declared egress) allows it; a workload is covered
when it resolves to a declared service. Shares are given overall, per namespace and per team,
so a team can see how much of its real traffic its declarations describe.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from trustmap.model import Graph
from trustmap.observe.identity import Identity, ObservedEndpoint
from trustmap.observe.observed import ObservedGroup

__all__ = ["Coverage", "CoverageRow", "FlowVerdict", "coverage"]

NO_TEAM = "-"
"""Team of flows and workloads that belong to no declared service."""


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

    def to_json(self) -> dict[str, object]:
        """JSON-ready mapping."""
        return {
            "total": self.total.to_json(),
            "namespaces": [row.to_json() for row in self.namespaces],
            "teams": [row.to_json() for row in self.teams],
        }


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
    for verdict in verdicts:
        group = verdict.group
        owner = verdict.src if group.src.namespace else verdict.dst
        namespace = (group.src.namespace or group.dst.namespace) or NO_TEAM
        for tally, scope in ((total, "*"), (namespaces, namespace), (teams, _team(graph, owner))):
            tally.flow(scope, group.count, verdict.covered)
        for endpoint, identity in ((group.src, verdict.src), (group.dst, verdict.dst)):
            _count_workload((total, namespaces, teams), graph, endpoint, identity)
    return Coverage(total.row("*"), namespaces.rows(), teams.rows())


def _count_workload(
    tallies: Sequence[_Tally], graph: Graph, endpoint: ObservedEndpoint, identity: Identity
) -> None:
    named = identity.resolved or endpoint.pod or endpoint.workload
    if not endpoint.namespace or (endpoint.entity and not named):
        return
    name = identity.label if identity.resolved else _workload_name(endpoint)
    total, namespaces, teams = tallies
    total.workload("*", name, identity.resolved)
    namespaces.workload(endpoint.namespace, name, identity.resolved)
    teams.workload(_team(graph, identity), name, identity.resolved)


def _workload_name(endpoint: ObservedEndpoint) -> str:
    """An unresolved pod's workload: its recorded workload, else the pod name."""
    return f"{endpoint.namespace}/{endpoint.workload or endpoint.pod or endpoint.ip or '?'}"


def _team(graph: Graph, identity: Identity) -> str:
    service = graph.services.get(identity.ref) if identity.ref else None
    return service.team if service else NO_TEAM

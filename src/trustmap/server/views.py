"""Graph answers shaped for the API and the web pages (one shape for both)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from trustmap import query
from trustmap.model import EdgeKind, Graph, ServiceRef
from trustmap.report.diagnostics import diagnostic_to_dict
from trustmap.report.graph import edge_to_dict, external_to_dict, rejected_to_dict, service_to_dict
from trustmap.report.tables import team_data
from trustmap.server.errors import ApiError
from trustmap.server.state import Snapshot

__all__ = ["coverage", "find_service", "service_summary", "service_view", "team_summary"]


def find_service(graph: Graph, namespace: str, name: str) -> ServiceRef:
    """The declared service ``namespace/name``; 404 with a "did you mean" otherwise."""
    ref = ServiceRef(namespace, name)
    if ref in graph.services:
        return ref
    try:
        query.resolve_ref(graph, f"{namespace}/{name}")
    except Exception as error:  # UsageError carries the suggestion
        raise ApiError(404, str(error)) from None
    raise ApiError(404, f"unknown service '{namespace}/{name}'")


def service_summary(graph: Graph, ref: ServiceRef) -> dict[str, Any]:
    """One line of a service list."""
    service = graph.services[ref]
    return {
        "ref": str(ref),
        "namespace": ref.namespace,
        "name": ref.name,
        "team": service.team,
        "interfaces": [i.name for i in service.interfaces],
    }


def service_view(snapshot: Snapshot, ref: ServiceRef) -> dict[str, Any]:
    """Everything about one service: interfaces, owners, callers and why, callees, left-out needs."""
    graph, index = snapshot.graph, snapshot.index
    service = graph.services[ref]
    files = {service.span.file}
    return {
        **service_to_dict(service),
        "version": snapshot.version,
        "owners": team_data(graph.teams.get(service.team), service.team),
        "callers": [edge_to_dict(e) for e in query.callers(graph, ref, index)],
        "callees": [edge_to_dict(e) for e in query.callees(graph, ref, index)],
        "egress": [external_to_dict(e) for e in graph.external if e.source == ref],
        "rejected": [rejected_to_dict(r) for r in graph.rejected if r.source == ref],
        "diagnostics": [
            diagnostic_to_dict(d)
            for d in graph.diagnostics
            if d.span
            and d.span.file in files
            and _within(d.span.line, service.span.line, _next_line(graph, ref))
        ],
        "dependsOn": [
            {
                "service": d.service,
                "interface": d.interface,
                "reason": d.reason,
                "expires": d.expires.isoformat() if d.expires else None,
                "approvedBy": d.approved_by,
                "methods": list(d.methods),
            }
            for d in service.depends_on
        ],
    }


def _next_line(graph: Graph, ref: ServiceRef) -> int:
    """First line of the next document of the same file (0 = end of file)."""
    span = graph.services[ref].span
    later = [
        s.span.line
        for s in graph.services.values()
        if s.span.file == span.file and s.span.line > span.line
    ]
    return min(later, default=0)


def _within(line: int, start: int, end: int) -> bool:
    return line >= start and (end == 0 or line < end)


def coverage(graph: Graph) -> dict[str, Any]:
    """Declaration coverage and enforcement mode by namespace and team."""
    organization = graph.organization
    by_namespace: dict[str, Counter[str]] = defaultdict(Counter)
    for service in graph.services.values():
        row = by_namespace[service.ref.namespace]
        row["services"] += 1
        row["dependencies"] += len(service.depends_on)
        row["with_interfaces"] += bool(service.interfaces)
    for edge in graph.edges:
        if edge.kind is EdgeKind.DEPENDENCY and edge.source.ref is not None:
            by_namespace[edge.source.namespace]["effective"] += 1
    for rejected in graph.rejected:
        by_namespace[rejected.source.namespace]["rejected"] += 1
    environments = sorted({e.name for e in organization.environments}) if organization else []
    rows = []
    for namespace, counts in sorted(by_namespace.items()):
        declared = counts["dependencies"] or 1
        rows.append(
            {
                "namespace": namespace,
                "services": counts["services"],
                "dependencies": counts["dependencies"],
                "effective": counts["effective"],
                "rejected": counts["rejected"],
                "effectiveShare": round(counts["effective"] / declared, 4)
                if counts["dependencies"]
                else 1.0,
                "modes": {env: organization.mode(env, namespace) for env in environments}
                if organization
                else {},
            }
        )
    totals = Counter[str]()
    for counts in by_namespace.values():
        totals.update(counts)
    return {
        "environments": environments,
        "namespaces": rows,
        "totals": {
            "services": totals["services"],
            "dependencies": totals["dependencies"],
            "effective": totals["effective"],
            "rejected": totals["rejected"],
            "edges": len(graph.edges),
            "errors": sum(1 for d in graph.diagnostics if d.severity.value == "error"),
            "warnings": sum(1 for d in graph.diagnostics if d.severity.value == "warning"),
        },
    }


def team_summary(graph: Graph) -> list[dict[str, Any]]:
    """Per team: owners, namespaces, services, and calls across the team's boundary."""
    services: Counter[str] = Counter(s.team for s in graph.services.values())
    calls_in: Counter[str] = Counter()
    calls_out: Counter[str] = Counter()
    for edge in graph.edges:
        target = graph.services[edge.target].team
        ref = edge.source.ref
        source = graph.services[ref].team if ref is not None and ref in graph.services else None
        if source != target:
            calls_in[target] += 1
            if source is not None:
                calls_out[source] += 1
    names = sorted(set(services) | set(graph.teams))
    return [
        {
            "name": name,
            "owners": list(graph.teams[name].owners) if name in graph.teams else [],
            "namespaces": list(graph.teams[name].namespaces) if name in graph.teams else [],
            "services": services[name],
            "calls_in": calls_in[name],
            "calls_out": calls_out[name],
        }
        for name in names
    ]

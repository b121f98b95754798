"""The organisation graph as JSON, Graphviz DOT, Mermaid, and a self-contained HTML page."""

from __future__ import annotations

import json
from collections import defaultdict
from importlib import resources
from typing import Any

import jinja2

from trustmap.diagnostics import Span
from trustmap.model import Edge, ExternalEdge, Graph, RejectedDependency, Service
from trustmap.report.diagnostics import diagnostic_to_dict

__all__ = ["GRAPH_FORMATS", "edge_to_dict", "graph_to_dict", "render_graph", "service_to_dict"]

GRAPH_FORMATS = ("dot", "mermaid", "json", "html")


def render_graph(graph: Graph, fmt: str) -> str:
    """The graph in one of :data:`GRAPH_FORMATS`."""
    if fmt == "dot":
        return _dot(graph)
    if fmt == "mermaid":
        return _mermaid(graph)
    if fmt == "html":
        return _html(graph)
    return json.dumps(graph_to_dict(graph), indent=2, sort_keys=True) + "\n"


def _span(span: Span) -> str:
    return str(span)


def service_to_dict(service: Service) -> dict[str, Any]:
    """A service as JSON-ready data."""
    return {
        "ref": str(service.ref),
        "namespace": service.ref.namespace,
        "name": service.ref.name,
        "team": service.team,
        "serviceAccount": service.workload.service_account,
        "podLabels": dict(service.workload.pod_labels),
        "declaredAt": _span(service.span),
        "interfaces": [
            {
                "name": i.name,
                "port": i.port,
                "servicePort": i.service_port,
                "protocol": i.protocol,
                "appProtocol": i.app_protocol,
                "exposure": i.exposure,
                "consumers": list(i.consumers),
                "methods": list(i.methods),
                "declaredAt": _span(i.span),
            }
            for i in service.interfaces
        ],
    }


def edge_to_dict(edge: Edge) -> dict[str, Any]:
    """An effective edge as JSON-ready data."""
    return {
        "source": str(edge.source),
        "sourceKind": edge.source.kind,
        "target": str(edge.target),
        "interface": edge.interface,
        "port": edge.port,
        "protocol": edge.protocol,
        "methods": list(edge.methods),
        "kind": edge.kind.value,
        "reason": edge.reason,
        "declaredAt": _span(edge.declared_at),
        "offeredAt": _span(edge.offered_at),
        "approvedBy": edge.approved_by,
        "expires": edge.expires.isoformat() if edge.expires else None,
    }


def external_to_dict(edge: ExternalEdge) -> dict[str, Any]:
    """An egress edge as JSON-ready data."""
    egress = edge.egress
    return {
        "source": str(edge.source),
        "destination": egress.destination,
        "host": egress.host,
        "cidr": egress.cidr,
        "apiServer": egress.api_server,
        "ports": [{"port": p.port, "protocol": p.protocol} for p in egress.ports],
        "reason": egress.reason,
        "declaredAt": _span(egress.span),
    }


def rejected_to_dict(rejected: RejectedDependency) -> dict[str, Any]:
    """A dependency left out, with the failed conditions."""
    dep = rejected.dependency
    return {
        "source": str(rejected.source),
        "target": dep.service,
        "interface": dep.interface,
        "failed": list(rejected.failed),
        "codes": list(rejected.codes),
        "declaredAt": _span(dep.span),
    }


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    """The whole graph as JSON-ready data (stable order)."""
    return {
        "organization": graph.organization.name if graph.organization else None,
        "today": graph.today.isoformat(),
        "teams": [
            {"name": t.name, "owners": list(t.owners), "namespaces": list(t.namespaces)}
            for t in graph.teams.values()
        ],
        "services": [service_to_dict(s) for s in graph.services.values()],
        "edges": [edge_to_dict(e) for e in graph.edges],
        "egress": [external_to_dict(e) for e in graph.external],
        "rejected": [rejected_to_dict(r) for r in graph.rejected],
        "diagnostics": [diagnostic_to_dict(d) for d in graph.diagnostics],
    }


def _node_id(name: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in name)


def _clusters(graph: Graph) -> dict[str, dict[str, list[Service]]]:
    groups: dict[str, dict[str, list[Service]]] = defaultdict(lambda: defaultdict(list))
    for service in graph.services.values():
        groups[service.ref.namespace][service.team].append(service)
    return groups


def _edge_label(edge: Edge) -> str:
    return f"{edge.interface} {edge.port}/{edge.protocol}"


def _dot(graph: Graph) -> str:
    lines = ["digraph trustmap {", "  rankdir=LR;", '  node [shape=box, style="rounded"];']
    for namespace, teams in sorted(_clusters(graph).items()):
        lines.append(f'  subgraph "cluster_ns_{namespace}" {{ label="namespace {namespace}";')
        for team, services in sorted(teams.items()):
            lines.append(
                f'    subgraph "cluster_{namespace}_{team}" {{ label="team {team}"; style=dashed;'
            )
            lines += [f'      {_node_id(str(s.ref))} [label="{s.ref.name}"];' for s in services]
            lines.append("    }")
        lines.append("  }")
    for edge in graph.edges:
        source = _node_id(str(edge.source))
        if edge.source.ref is None:
            lines.append(f'  {source} [label="{edge.source}", shape=ellipse, style=dashed];')
        lines.append(f'  {source} -> {_node_id(str(edge.target))} [label="{_edge_label(edge)}"];')
    for ext in graph.external:
        node = _node_id("ext " + ext.egress.destination)
        lines.append(f'  {node} [label="{ext.egress.destination}", shape=note];')
        lines.append(f"  {_node_id(str(ext.source))} -> {node} [style=dashed];")
    lines.append("}")
    return "\n".join(dict.fromkeys(lines)) + "\n"


def _mermaid(graph: Graph) -> str:
    lines = ["flowchart LR"]
    for namespace, teams in sorted(_clusters(graph).items()):
        lines.append(f'  subgraph ns_{_node_id(namespace)}["namespace {namespace}"]')
        for team, services in sorted(teams.items()):
            lines.append(f'    subgraph {_node_id(namespace + "_" + team)}["team {team}"]')
            lines += [f'      {_node_id(str(s.ref))}["{s.ref.name}"]' for s in services]
            lines.append("    end")
        lines.append("  end")
    for edge in graph.edges:
        source = _node_id(str(edge.source))
        if edge.source.ref is None:
            lines.append(f'  {source}(["{edge.source}"])')
        lines.append(f'  {source} -->|"{_edge_label(edge)}"| {_node_id(str(edge.target))}')
    for ext in graph.external:
        node = _node_id("ext " + ext.egress.destination)
        lines.append(f'  {node}[/"{ext.egress.destination}"/]')
        lines.append(f"  {_node_id(str(ext.source))} -.-> {node}")
    return "\n".join(dict.fromkeys(lines)) + "\n"


def _html(graph: Graph) -> str:
    template_text = (
        resources.files("trustmap.report").joinpath("templates/graph.html.j2").read_text()
    )
    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True)
    data = json.dumps(graph_to_dict(graph), sort_keys=True).replace("</", "<\\/")
    title = graph.organization.name if graph.organization else "organisation"
    return env.from_string(template_text).render(title=title, data=data)

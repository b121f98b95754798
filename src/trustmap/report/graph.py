"""The organisation graph as JSON, Graphviz DOT, Mermaid, and a self-contained HTML page."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jinja2

from trustmap.diagnostics import Span
from trustmap.model import Edge, ExternalEdge, Graph, RejectedDependency, Service
from trustmap.report.diagnostics import diagnostic_to_dict
from trustmap.report.graph_text import render_dot, render_mermaid

__all__ = [
    "GRAPH_FORMATS",
    "STATIC_DIR",
    "edge_to_dict",
    "graph_page",
    "graph_to_dict",
    "render_graph",
    "service_to_dict",
]

GRAPH_FORMATS = ("dot", "mermaid", "json", "html")


def render_graph(graph: Graph, fmt: str) -> str:
    """The graph in one of :data:`GRAPH_FORMATS`."""
    if fmt == "dot":
        return render_dot(graph)
    if fmt == "mermaid":
        return render_mermaid(graph)
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


def _html(graph: Graph) -> str:
    return graph_page(graph)


def _asset(name: str) -> str:
    return resources.files("trustmap.report").joinpath("static", name).read_text(encoding="utf-8")


def graph_page(graph: Graph, static_url: str | None = None) -> str:
    """The interactive graph page.

    Without ``static_url`` the page is self-contained (stylesheet, dagre and the viewer inlined:
    open the file anywhere, offline). With it, the page links ``{static_url}/graph.css``,
    ``/vendor/dagre.min.js`` and ``/graph.js`` (:data:`STATIC_DIR`) and holds no inline script
    or style, so it runs under a Content-Security-Policy without ``'unsafe-inline'``.
    """
    template_text = (
        resources.files("trustmap.report").joinpath("templates/graph.html.j2").read_text()
    )
    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True)
    data = json.dumps(graph_to_dict(graph), sort_keys=True).replace("</", "<\\/")
    title = graph.organization.name if graph.organization else "organisation"
    inline = static_url is None
    return env.from_string(template_text).render(
        title=title,
        data=data,
        inline=inline,
        static=static_url or "",
        css=_asset("graph.css") if inline else "",
        dagre=_asset("vendor/dagre.min.js") if inline else "",
        viewer=_asset("graph.js") if inline else "",
    )


STATIC_DIR = resources.files("trustmap.report").joinpath("static")
"""The viewer's static files (``graph.js``, ``graph.css``, ``vendor/``), for a server to serve."""

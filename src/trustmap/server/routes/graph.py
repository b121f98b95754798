"""``/api/v1/graph``, ``/services``, ``/explain``, ``/diagnostics``, ``/coverage``, ``/drift``:
reading the merged organisation graph."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from trustmap import query
from trustmap.errors import UsageError
from trustmap.report.diagnostics import diagnostic_to_dict
from trustmap.report.graph import edge_to_dict, graph_to_dict
from trustmap.report.tables import explanation_data
from trustmap.server.drift import drift_report
from trustmap.server.errors import ApiError
from trustmap.server.routes.deps import NAME, Reader, RegistryDep
from trustmap.server.views import coverage, find_service, service_summary, service_view

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["graph"])
Namespace = Annotated[str, Path(pattern=NAME, max_length=63)]
Name = Annotated[str, Path(pattern=NAME, max_length=63)]
Filter = Annotated[str | None, Query(pattern=NAME, max_length=63)]
Ref = Annotated[str, Query(min_length=1, max_length=300, pattern=r"^[-a-z0-9:/]+$")]


def _version(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"v{version}"'


@router.get("/graph", summary="The merged graph")
def read_graph(registry: RegistryDep, response: Response, _: Reader) -> dict[str, Any]:
    """Every service, effective edge, egress, left-out dependency and diagnostic."""
    snapshot = registry.snapshot()
    _version(response, snapshot.version)
    return {"version": snapshot.version, **graph_to_dict(snapshot.graph)}


@router.get("/services", summary="Services, optionally of one team or namespace")
def list_services(
    registry: RegistryDep,
    response: Response,
    _: Reader,
    team: Filter = None,
    namespace: Filter = None,
) -> dict[str, Any]:
    """Declared services (filtered by ``team`` and/or ``namespace``)."""
    snapshot = registry.snapshot()
    _version(response, snapshot.version)
    graph = snapshot.graph
    refs = [
        r
        for r, s in graph.services.items()
        if (team is None or s.team == team) and (namespace is None or r.namespace == namespace)
    ]
    return {"version": snapshot.version, "services": [service_summary(graph, r) for r in refs]}


@router.get("/services/{namespace}/{name}", summary="One service")
def read_service(
    namespace: Namespace, name: Name, registry: RegistryDep, response: Response, _: Reader
) -> dict[str, Any]:
    """Interfaces, owners, who calls it and why, whom it calls, dependencies left out."""
    snapshot = registry.snapshot()
    _version(response, snapshot.version)
    return service_view(snapshot, find_service(snapshot.graph, namespace, name))


@router.get("/services/{namespace}/{name}/callers", summary="Who calls a service")
def read_callers(
    namespace: Namespace, name: Name, registry: RegistryDep, response: Response, _: Reader
) -> dict[str, Any]:
    """Effective edges into the service."""
    snapshot = registry.snapshot()
    _version(response, snapshot.version)
    ref = find_service(snapshot.graph, namespace, name)
    return {
        "service": str(ref),
        "callers": [edge_to_dict(e) for e in query.callers(snapshot.graph, ref, snapshot.index)],
    }


@router.get("/services/{namespace}/{name}/callees", summary="Whom a service calls")
def read_callees(
    namespace: Namespace, name: Name, registry: RegistryDep, response: Response, _: Reader
) -> dict[str, Any]:
    """Effective edges out of the service."""
    snapshot = registry.snapshot()
    _version(response, snapshot.version)
    ref = find_service(snapshot.graph, namespace, name)
    return {
        "service": str(ref),
        "callees": [edge_to_dict(e) for e in query.callees(snapshot.graph, ref, snapshot.index)],
    }


@router.get("/explain", summary="Why a call is allowed or denied")
def explain(
    registry: RegistryDep,
    _: Reader,
    source: Ref,
    target: Ref,
    interface: Annotated[str | None, Query(pattern=NAME, max_length=63)] = None,
) -> dict[str, Any]:
    """Whether ``source`` may call ``target`` (``namespace/name``), and every reason."""
    graph = registry.snapshot().graph
    try:
        target_ref = query.resolve_ref(graph, target)
        source_text = source if "/" in source else str(query.resolve_ref(graph, source))
    except UsageError as error:
        raise ApiError(404, str(error)) from None
    return explanation_data(query.explain(graph, source_text, target_ref, interface))


@router.get("/diagnostics", summary="Every finding of the merged graph")
def diagnostics(
    registry: RegistryDep,
    _: Reader,
    severity: Annotated[str | None, Query(pattern="^(error|warning|info)$")] = None,
) -> dict[str, Any]:
    """Diagnostics of the merged graph (file names are ``<team>/<path>``)."""
    snapshot = registry.snapshot()
    found = [
        d for d in snapshot.graph.diagnostics if severity is None or d.severity.value == severity
    ]
    return {"version": snapshot.version, "diagnostics": [diagnostic_to_dict(d) for d in found]}


@router.get("/coverage", summary="Declaration coverage and enforcement modes")
def read_coverage(registry: RegistryDep, _: Reader) -> dict[str, Any]:
    """Per namespace: services, dependencies declared and effective, mode per environment."""
    snapshot = registry.snapshot()
    return {"version": snapshot.version, **coverage(snapshot.graph)}


@router.get("/drift", summary="Observed flows compared with the graph")
def read_drift(registry: RegistryDep, _: Reader) -> dict[str, Any]:
    """Undeclared, unused, dropped and expired flows and undeclared egress, with coverage; 404
    when the registry has no flow database (setting ``flows_db``)."""
    report = drift_report(registry, registry.snapshot())
    if report is None:
        raise ApiError(
            404,
            "no flow records: ingest flows with 'trustmap observe ingest' and set "
            "TRUSTMAP_FLOWS_DB to the database",
        )
    return report

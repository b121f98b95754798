"""The round trip (STYLE.md): analyze(compile(graph)) allows exactly the graph's effective edges.

For random small organisations (see ``roundtrip_org``), the kubernetes policies compiled from the
declarations, analysed on matching Deployments, allow between workloads exactly the effective
edges plus DNS to the resolver (and ingress edges from the controller) — computed here
independently of :mod:`trustmap.verify` — and ``verify`` agrees that it is an exact match.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import given, settings
from roundtrip_org import DNS, INGRESS, Org, declarations, manifests, orgs

from trustmap.analysis import Connectivity, ConnSet, analyze, load_manifests
from trustmap.dialects import compile_graph, render_yaml
from trustmap.graph import graph_from_text
from trustmap.model import Endpoint, Graph
from trustmap.verify import verify

TODAY = dt.date(2026, 1, 1)


def wid(namespace: str, name: str) -> str:
    return f"{namespace}/{name}[Deployment]"


def endpoint_id(source: Endpoint) -> str:
    if source.kind == "ingress-controller":
        return wid(INGRESS[0], INGRESS[1])
    return wid(source.namespace, source.name)


def declared_flows(graph: Graph, org: Org) -> dict[tuple[str, str], ConnSet]:
    """Effective edges and DNS as workload pairs → connections."""
    flows: dict[tuple[str, str], ConnSet] = {}

    def add(pair: tuple[str, str], conns: ConnSet) -> None:
        flows[pair] = flows.get(pair, ConnSet()) | conns

    for edge in graph.edges:
        target = wid(edge.target.namespace, edge.target.name)
        add((endpoint_id(edge.source), target), ConnSet.of(edge.protocol, edge.port, edge.port))
    if org.dns:
        dns = ConnSet.of("UDP", 53, 53) | ConnSet.of("TCP", 53, 53)
        for client in graph.dns_clients:
            add((wid(client.namespace, client.name), wid(DNS[0], DNS[1])), dns)
    return flows


def allowed_flows(conn: Connectivity, services: set[str]) -> dict[tuple[str, str], ConnSet]:
    """Allowed pairs with a declared service on at least one side."""
    return {
        pair: flow.conns
        for pair, flow in conn.flows.items()
        if pair[0] in services or pair[1] in services
    }


@settings(max_examples=40, deadline=None)
@given(orgs())
def test_compiled_policies_allow_exactly_the_effective_edges(org: Org) -> None:
    graph = graph_from_text(declarations(org), "random.yaml", TODAY)
    assert not [d for d in graph.diagnostics if d.severity.value == "error"]
    assert sum(e.kind.value == "dependency" for e in graph.edges) == len(org.dependencies)
    compiled = compile_graph(graph, "kubernetes")
    with tempfile.TemporaryDirectory() as tmp:
        workloads = Path(tmp) / "workloads.yaml"
        workloads.write_text(manifests(org), encoding="utf-8")
        policies = Path(tmp) / "policies.yaml"
        policies.write_text(render_yaml(compiled.objects), encoding="utf-8")
        cluster, problems = load_manifests([workloads, policies])
        report = verify(graph, [workloads])
    assert not [d for d in problems if d.severity.value == "error"]
    services = {wid(s.namespace, s.name) for s in org.services}
    assert allowed_flows(analyze(cluster), services) == declared_flows(graph, org)
    assert report.exact
    assert not {d.code for d in report.findings} & {"TM401", "TM402", "TM403", "TM404"}

"""The declared meaning of routes, and the requests the lab plans from it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from lab_helpers import TODAY
from lab_org import HEALTH_PORT, write_lab_manifests, write_lab_org

import trustmap
from trustmap.dialects import Workloads
from trustmap.lab import KUBELET, declared_allows, plan_probes, plan_requests
from trustmap.model import Graph


@pytest.mark.parametrize(
    ("methods", "method", "path", "allowed"),
    [
        (("GET /cart",), "GET", "/cart", True),
        (("GET /cart",), "GET", "/cart?x=1", True),
        (("GET /cart",), "GET", "/cart/", False),
        (("GET /cart",), "GET", "/%63art", True),
        (("GET /cart",), "GET", "/Cart", False),
        (("GET /cart",), "POST", "/cart", False),
        (("GET /product/*",), "GET", "/product/abc/def", True),
        (("GET /product/*",), "GET", "/product", False),
        (("/static/*",), "PURGE", "/static/x.css", True),
        (("a.B/C",), "POST", "/a.B/C", True),
        (("a.B/C",), "GET", "/a.B/C", False),
        ((), "DELETE", "/anything", True),
        (("GET /a%2Fb",), "GET", "/a%2fb", True),
    ],
)
def test_declared_allows_follows_the_declared_meaning_of_routes(
    methods: tuple[str, ...], method: str, path: str, allowed: bool
) -> None:
    """docs/format.md, "How HTTP paths match": query ignored, unreserved %XX decoded, case and
    trailing slash significant, ``*`` any run of characters, gRPC methods are POSTs."""
    assert declared_allows(methods, method, path) is allowed


def test_plan_covers_every_case_on_the_example(example_graph: Graph) -> None:
    requests = plan_requests(example_graph)
    cases = Counter(r.case for r in requests)
    expected = {
        "declared",
        "undeclared method",
        "undeclared path",
        "query string",
        "trailing slash",
        "percent-encoded",
        "mixed case",
        "wrong identity",
    }
    assert expected <= set(cases)
    assert {r.wire for r in requests} == {"http1", "http2", "grpc"}


def test_every_declared_grpc_method_is_planned_as_allowed(example_graph: Graph) -> None:
    planned = {
        (r.caller.name, r.path) for r in plan_requests(example_graph) if r.case == "declared"
    }
    for edge in example_graph.edges:
        if edge.source.kind == "service" and edge.interface == "grpc":
            for method in edge.methods:
                assert (str(edge.source), f"/{method}") in planned


def test_wrong_identity_is_a_caller_the_provider_never_admitted(example_graph: Graph) -> None:
    for request in plan_requests(example_graph):
        if request.case != "wrong identity":
            continue
        admitted = {
            e.source.service_account
            for e in example_graph.edges
            if e.target == request.door.service
        }
        assert request.caller.service_account not in admitted
        assert request.expected is False


def test_every_plain_text_http_and_grpc_probe_is_planned_from_the_kubelet(
    example_graph: Graph, example_workloads: Workloads
) -> None:
    """Kubelet probes are platform traffic: always expected to pass, sent as the kubelet sends them
    (``httpGet``: GET of the path as written over HTTP/1.1; ``grpc``: the health check's POST),
    and traced to the manifest line that declares them."""
    probes = plan_probes(example_graph, example_workloads)
    written = [
        p
        for pods in example_workloads.values()
        for p in pods.probes
        if p.action == "grpc" or (p.action == "httpGet" and p.scheme == "HTTP")
    ]
    assert len(probes) == len(written) == 20
    assert {r.caller for r in probes} == {KUBELET}
    assert all(r.expected for r in probes)
    assert {(r.wire, r.method) for r in probes} == {("http1", "GET"), ("grpc", "POST")}
    assert all(r.declared_at is not None and "manifests" in r.declared_at.file for r in probes)
    frontend = [r for r in probes if r.door.service.name == "frontend"]
    assert {(r.path, r.door.interface, r.case) for r in frontend} == {
        ("/_healthz", "http", "liveness probe"),
        ("/_healthz", "http", "readiness probe"),
    }


def test_a_probe_on_a_port_no_interface_declares_gets_a_door_of_its_own(tmp_path: Path) -> None:
    """The lab org's HTTP services are probed on a health port (8081) nothing declares, and with
    a query string the kubelet sends as written."""
    (tmp_path / "org").mkdir()
    (tmp_path / "k8s").mkdir()
    graph = trustmap.load_graph([str(write_lab_org(tmp_path / "org"))], TODAY)
    manifests = write_lab_manifests(tmp_path / "k8s")
    workloads, problems = trustmap.read_workloads(graph, [str(manifests)])
    assert problems == []
    probes = plan_probes(graph, workloads)
    health = [r for r in probes if r.door.port == HEALTH_PORT]
    assert health
    assert {r.door.interface for r in health} == {f"probe-{HEALTH_PORT}"}
    assert any(r.path == "/ready?full=1" for r in probes)

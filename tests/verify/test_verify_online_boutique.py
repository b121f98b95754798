"""verify on Online Boutique: compiled policies match exactly, upstream policies are too open."""

from __future__ import annotations

from pathlib import Path

import pytest
from verify_helpers import (
    OB_DECLARATIONS,
    OB_MANIFESTS,
    OB_UPSTREAM_POLICIES,
    TODAY,
    wid,
)

from trustmap.analysis import ALL_CONNS, ConnSet
from trustmap.dialects import compile_graph
from trustmap.dialects.emit import dump
from trustmap.graph import load_graph
from trustmap.model import Graph, ServiceRef
from trustmap.verify import VerifyReport, verify

pytestmark = pytest.mark.skipif(not OB_MANIFESTS.exists(), reason="shared/ is not beside the repo")


@pytest.fixture(scope="module")
def graph() -> Graph:
    return load_graph([OB_DECLARATIONS], TODAY)


@pytest.fixture(scope="module")
def upstream(graph: Graph) -> VerifyReport:
    return verify(graph, [OB_MANIFESTS], policies_paths=[OB_UPSTREAM_POLICIES])


def codes(report: VerifyReport) -> set[str]:
    return {d.code for d in report.findings}


def messages(report: VerifyReport, code: str) -> list[str]:
    return [d.message for d in report.findings if d.code == code]


def test_compiled_policies_allow_exactly_the_declared_flows(graph: Graph) -> None:
    report = verify(graph, [OB_MANIFESTS])
    assert report.exact
    assert not codes(report) & {"TM401", "TM402", "TM403"}
    service_edges = [e for e in graph.edges if e.source.kind == "service"]
    assert len(report.matched) == len(service_edges)


def test_missing_infrastructure_workloads_are_reported_not_verified(graph: Graph) -> None:
    report = verify(graph, [OB_MANIFESTS])
    found = messages(report, "TM404")
    assert any("DNS resolver in namespace kube-system" in m for m in found)
    assert any("ingress-controller:ingress-nginx/ingress" in m for m in found)
    assert not any("declared service" in m for m in found)


def test_upstream_open_frontend_ingress_lets_every_workload_reach_frontend(
    upstream: VerifyReport,
) -> None:
    found = messages(upstream, "TM401")
    frontend = wid("default", "frontend")
    expected = (
        f"policy allows {wid('default', 'cartservice')} → {frontend} on all ports beyond the "
        "declarations (allowed by: default/cartservice egress, default/frontend ingress)"
    )
    assert expected in found
    extra = {(d.source, d.target): d.conns for d in upstream.allowed_extra}
    declared_port = ConnSet.of("TCP", 8080, 8080)
    assert extra[wid("default", "loadgenerator"), frontend] == ALL_CONNS - declared_port


def test_upstream_open_egress_is_reported_for_every_service(upstream: VerifyReport) -> None:
    found = messages(upstream, "TM403")
    for name in ("cartservice", "redis-cart", "frontend", "loadgenerator"):
        assert any(
            m.startswith(f"open egress to 0.0.0.0/0 on all ports for {wid('default', name)} ")
            for m in found
        ), name
    assert any(
        m.startswith("open ingress from 0.0.0.0/0 on all ports for default/fr") for m in found
    )


def test_upstream_policies_allow_every_declared_flow_and_guard_redis(
    upstream: VerifyReport,
) -> None:
    assert "TM402" not in codes(upstream)
    assert not [d for d in upstream.allowed_extra if d.target == wid("default", "redis-cart")]


def _write_compiled(graph: Graph, folder: Path, leave_out: str | None = None) -> str:
    """Write the compiled policies, one file each, except the one named ``leave_out``."""
    left_out = ""
    for namespace, obj in compile_graph(graph, "kubernetes").objects:
        name = str(obj["metadata"]["name"])
        if leave_out is not None and leave_out in name and not left_out:
            left_out = f"{namespace}/{name}"
            continue
        (folder / f"{namespace}-{name}.yaml").write_text(dump(obj), encoding="utf-8")
    return left_out


def test_compiled_policies_given_as_files_verify_clean_too(graph: Graph, tmp_path: Path) -> None:
    _write_compiled(graph, tmp_path)
    report = verify(graph, [OB_MANIFESTS], policies_paths=[tmp_path])
    assert report.exact


def test_removing_a_compiled_ingress_policy_blocks_the_flows_it_allowed(
    graph: Graph, tmp_path: Path
) -> None:
    removed = _write_compiled(graph, tmp_path, leave_out="cartservice-ingress")
    assert removed
    report = verify(graph, [OB_MANIFESTS], policies_paths=[tmp_path])
    cart = ServiceRef("default", "cartservice")
    callers = sorted(e.source.name for e in graph.edges if e.target == cart)
    blocked = sorted(d.source for d in report.missing)
    assert blocked == [wid("default", c) for c in callers]
    assert all(d.target == wid("default", "cartservice") for d in report.missing)
    tm402 = [d for d in report.findings if d.code == "TM402"]
    assert {d.span for d in tm402} == {e.declared_at for e in graph.edges if e.target == cart}
    assert all("isolated by: " in d.message and "default-deny ingress" in d.message for d in tm402)
    assert not report.allowed_extra

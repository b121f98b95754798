"""External address ranges: declared CIDR egress and world exposure against what policies allow."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from trustmap.graph import graph_from_text
from trustmap.model import Graph
from trustmap.verify import verify

DECLARATIONS = """\
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: web}
spec: {owners: [a@example.com], namespaces: [web]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: api, namespace: web}
spec:
  team: web
  workload: {podLabels: {app: api}}
  interfaces:
    - {name: https, port: 8443, protocol: TCP, exposure: world}
  egress:
    - {cidr: 10.0.0.0/8, ports: [{port: 443}], reason: partner api}
"""

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "api", "namespace": "web"},
    "spec": {
        "selector": {"matchLabels": {"app": "api"}},
        "template": {
            "metadata": {"labels": {"app": "api"}},
            "spec": {"containers": [{"name": "api", "image": "example/api:1"}]},
        },
    },
}


def policy(egress: list[dict[str, object]]) -> dict[str, object]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "api", "namespace": "web"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "api"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"ports": [{"port": 8443, "protocol": "TCP"}]}],
            "egress": egress,
        },
    }


@pytest.fixture
def graph() -> Graph:
    found = graph_from_text(DECLARATIONS, "api.yaml", dt.date(2026, 1, 1))
    assert not [d for d in found.diagnostics if d.severity.value == "error"]
    return found


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(DEPLOYMENT), encoding="utf-8")
    return path


def write_policy(tmp_path: Path, egress: list[dict[str, object]]) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy(egress)), encoding="utf-8")
    return path


def test_compiled_cidr_egress_and_world_exposure_match_exactly(
    graph: Graph, manifests: Path
) -> None:
    report = verify(graph, [manifests])
    assert report.exact
    assert not report.findings


def test_egress_to_every_address_is_open_beyond_the_declared_range(
    graph: Graph, manifests: Path, tmp_path: Path
) -> None:
    everywhere = [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]}]
    report = verify(graph, [manifests], policies_paths=[write_policy(tmp_path, everywhere)])
    found = [d.message for d in report.findings if d.code == "TM403"]
    assert len(found) == 2  # below and above 10.0.0.0/8
    assert found[0].startswith("open egress to 0.0.0.0/5, 8.0.0.0/7 on 443/TCP")
    assert found[1].startswith("open egress to 11.0.0.0/8, 12.0.0.0/6")
    assert all("(allowed by: web/api egress)" in m for m in found)
    assert not report.missing


def test_blocked_declared_range_names_the_declaration_and_the_isolating_policy(
    graph: Graph, manifests: Path, tmp_path: Path
) -> None:
    report = verify(graph, [manifests], policies_paths=[write_policy(tmp_path, [])])
    [blocked] = [d for d in report.findings if d.code == "TM402"]
    assert blocked.message.startswith("declared flow web/api[Deployment] → 10.0.0.0/8 on 443/TCP")
    assert "isolated by: web/api egress" in blocked.message
    assert blocked.span is not None
    assert blocked.span.file == "api.yaml"
    assert blocked.span.line > 0

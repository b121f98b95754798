"""Posture: isolation gaps per workload and namespace, cluster-wide and internet exposure."""

from __future__ import annotations

from pathlib import Path

from analysis_helpers import deployment, write

from trustmap.analysis import analyze, load_manifests, posture
from trustmap.report.analysis import render_posture

WEB = deployment("web", "app: web", namespace="shop")
DB = deployment("db", "app: db", namespace="shop")
JOB = deployment("batch", "app: batch", namespace="tools")


def _policy(name: str, spec: str, namespace: str = "shop") -> str:
    body = "\n".join("  " + line for line in spec.strip().splitlines())
    return (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{body}\n"
    )


def _posture(tmp_path: Path, *docs: str):  # type: ignore[no-untyped-def]
    cluster, _ = load_manifests([write(tmp_path, *docs)])
    return posture(cluster, analyze(cluster))


def test_default_deny_namespace_isolates_every_workload(tmp_path: Path) -> None:
    deny = _policy("deny", "podSelector: {}\npolicyTypes: [Ingress, Egress]")
    p = _posture(tmp_path, WEB, DB, JOB, deny)
    assert p.ingress_unisolated == ("tools/batch[Deployment]",)
    assert p.egress_unisolated == ("tools/batch[Deployment]",)
    assert [n.namespace for n in p.namespaces] == ["tools"]
    assert [e.workload for e in p.internet_ingress] == ["tools/batch[Deployment]"]


def test_a_rule_open_to_every_namespace_is_cluster_wide_exposure(tmp_path: Path) -> None:
    wide = _policy(
        "db-in",
        "podSelector: {matchLabels: {app: db}}\n"
        "ingress:\n- from: [{namespaceSelector: {}}]\n  ports: [{port: 5432}]",
    )
    narrow = _policy(
        "web-in", "podSelector: {matchLabels: {app: web}}\ningress:\n- from: [{podSelector: {}}]"
    )
    p = _posture(tmp_path, WEB, DB, wide, narrow)
    exposed = {e.workload: (str(e.conns), e.policies) for e in p.cluster_wide}
    assert exposed == {"shop/db[Deployment]": ("TCP 5432", ("shop/db-in",))}
    assert "shop/db[Deployment]" not in {e.workload for e in p.internet_ingress}


def test_ingress_from_all_external_addresses_is_internet_exposure(tmp_path: Path) -> None:
    internet = _policy(
        "web-in",
        "podSelector: {matchLabels: {app: web}}\n"
        "ingress:\n- from: [{ipBlock: {cidr: 0.0.0.0/0}}]\n  ports: [{port: 443}]",
    )
    partial = _policy(
        "db-in",
        "podSelector: {matchLabels: {app: db}}\ningress:\n- from: [{ipBlock: {cidr: 0.0.0.0/1}}]",
    )
    p = _posture(tmp_path, WEB, DB, internet, partial)
    exposed = {e.workload: str(e.conns) for e in p.internet_ingress}
    assert exposed == {"shop/web[Deployment]": "TCP 443"}
    text = render_posture(p)
    assert "shop/web[Deployment] : TCP 443 via shop/web-in" in text

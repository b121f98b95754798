"""Edges from infrastructure callers point at the Organization entry that lets them in.

An ingress controller or platform consumer is declared in the Organization
(``spec.ingressControllers[i]``, ``spec.platformConsumers[i]``), not in the provider's file; the
provider only offers the interface. ``explain`` and TM404 (a caller without a workload) must name
that entry, so the person who can fix it is the platform team.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from trustmap.graph import load_graph
from trustmap.model import EdgeKind
from trustmap.query import explain
from trustmap.report.tables import explanation_lines
from trustmap.verify.expected import expected_flows
from trustmap.verify.peers import Peers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "online-boutique"
PLATFORM = ROOT / "tests" / "fixtures" / "compile" / "kubernetes" / "platform-consumers" / "input"
TODAY = dt.date(2026, 11, 23)


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_an_ingress_edge_is_declared_at_the_controller_entry_of_the_organization() -> None:
    graph = load_graph([EXAMPLE], TODAY)
    (edge,) = [e for e in graph.edges if e.kind is EdgeKind.INGRESS]
    organization = EXAMPLE / "organization.yaml"
    assert edge.declared_at.file == str(organization)
    assert edge.declared_at.line == _line_of(organization, "- namespace: ingress-nginx")
    assert edge.offered_at.file.endswith("storefront.yaml")


def test_a_platform_consumer_edge_is_declared_at_its_entry() -> None:
    graph = load_graph([PLATFORM], TODAY)
    edges = [e for e in graph.edges if e.kind is EdgeKind.PLATFORM]
    assert edges
    lines = {e.declared_at.line for e in edges}
    assert lines == {_line_of(PLATFORM / "declarations.yaml", "{name: prometheus")}


def test_explain_says_the_organization_let_the_ingress_controller_in() -> None:
    graph = load_graph([EXAMPLE], TODAY)
    ref = next(r for r in graph.services if r.name == "frontend")
    answer = explain(graph, "ingress-controller:ingress-nginx/ingress", ref)
    text = "\n".join(explanation_lines(answer))
    assert "Organization's ingress controller entry at" in text
    assert "organization.yaml:" in text
    assert "declared by the caller" not in text


def test_tm404_for_a_controller_without_workloads_points_at_the_organization() -> None:
    graph = load_graph([EXAMPLE], TODAY)
    nothing = Peers(by_service={}, owner={}, workloads={}, by_namespace={})
    found = [
        d
        for d in expected_flows(graph, nothing).diagnostics
        if d.code == "TM404" and "ingress" in d.message
    ]
    assert found
    assert {d.span.file for d in found if d.span} == {str(EXAMPLE / "organization.yaml")}

"""The lab for a cluster whose Cilium agent runs ``--allow-localhost=policy``, on a real Envoy.

Under ``policy`` the node (``host``, where kubelet probes come from) is a peer like any other: no
L3-only allow and no wildcard L7 rule on proxied ports (cilium/cilium ``pkg/policy/mapstate.go``
``determineAllowLocalhostIngress``, ``pkg/policy/l4.go`` ``createL4IngressFilter``; flag reference
https://docs.cilium.io/en/stable/cmdref/cilium-agent/). The lab programs the host peer with the
Organization's setting (:func:`trustmap.lab.cilium.cilium_door_config`, ``allow_localhost=False``)
and judges with verify's evaluator built the same way. Each test starts one or two Envoys.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from trustmap.dialects import Workloads, compile_graph
from trustmap.lab import KUBELET, LabReport, run_lab
from trustmap.model import CiliumAgent, Graph

pytestmark = pytest.mark.usefixtures("envoy")


def _policy(graph: Graph) -> Graph:
    """The seeded organisation of ``lab_org``, its cluster's agent set to ``policy``."""
    assert graph.organization is not None
    org = replace(graph.organization, cilium=CiliumAgent("policy"))
    return replace(graph, organization=org)


def _describe(report: LabReport) -> list[str]:
    return [
        f"{r.request.caller.name} -> {r.request.door.service} {r.request.method} "
        f"{r.request.path} ({r.request.case}): expected {r.request.expected}, saw {r.observed}"
        for r in report.differences
    ]


def _without_host_rules(objects: list[Any]) -> list[dict[str, Any]]:
    kept = []
    for obj in objects:
        obj = copy.deepcopy(dict(obj))
        rules = obj["spec"].get("ingress")
        if rules is not None:
            obj["spec"]["ingress"] = [r for r in rules if r.get("fromEntities") != ["host"]] or [{}]
        kept.append(obj)
    return kept


def test_under_policy_the_compiled_output_lets_every_probe_through_and_all_agree(
    lab_org_graph: Graph, lab_org_workloads: Workloads
) -> None:
    """Public L7 ports (the host among ``all`` under their HTTP rules, plus its probe routes),
    internal L7 ports, health ports nothing declares, gRPC probes and query strings: every probe
    passes the proxy, and everything else is exactly as declared."""
    graph = _policy(lab_org_graph)
    report = run_lab(graph, "cilium", environment="prod", workloads=lab_org_workloads)
    assert _describe(report) == []
    probes = [r for r in report.results if r.request.caller == KUBELET]
    assert len(probes) == 15 * 3 + 15
    assert all(r.observed.allowed and r.judged for r in probes)


def test_under_policy_without_the_host_rules_every_probe_is_refused_and_the_evaluator_agrees(
    lab_org_graph: Graph, lab_org_workloads: Workloads
) -> None:
    """The same output without ``fromEntities: [host]`` (what trustmap wrote before): default deny
    holds the host, on public ports only the declared routes pass, so every probe not among them
    is refused by the proxy and by the evaluator; under ``auto`` the same objects pass them all."""
    graph = _policy(lab_org_graph)
    compiled = compile_graph(graph, "cilium", "prod", lab_org_workloads)
    objects = _without_host_rules([obj for _, obj in compiled.objects])
    report = run_lab(
        graph, "cilium", environment="prod", objects=objects, workloads=lab_org_workloads
    )
    probes = [r for r in report.results if r.request.caller == KUBELET]
    refused = [r for r in probes if not r.observed.allowed]
    assert all(r.judged is False for r in refused)
    assert all(r.judged == r.observed.allowed for r in report.results)
    public = {e.target for e in graph.edges if e.source.kind == "world"}
    passed = {(r.request.door.service, r.request.path) for r in probes if r.observed.allowed}
    assert {path for _, path in passed} <= {"/healthz"}  # a route the world may call
    assert {service for service, _ in passed} <= public
    assert len(refused) == len(probes) - len(passed) >= len(probes) - len(public)
    assert {r.request.caller for r in report.differences} == {KUBELET}
    under_auto = run_lab(
        lab_org_graph, "cilium", environment="prod", objects=objects, workloads=lab_org_workloads
    )
    assert _describe(under_auto) == []

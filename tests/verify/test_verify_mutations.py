"""Mutations of compiled output are caught: drop a rule, widen a method, change a principal or
selector, drop a probe route, turn enforce into audit — on every target, on Online Boutique.

Probe routes exist here only on Linkerd: Cilium admits the local host (allow-localhost) and Istio
rewrites probes to its agent, so neither has a probe rule to drop in Online Boutique; Cilium's probe
mutation is a deny that selects the host instead. Istio's probe rules for workloads that turn the
rewrite off are mutated in test_verify_istio_probes.py.

Each test compiles the example for the target, writes the objects as a hand-written policy
directory, applies one mutation, and checks that verify reports a finding the unmutated output
does not have (the finding's code says which way the mutation went).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from verify_helpers import OB_DECLARATIONS, OB_MANIFESTS, TODAY

from trustmap.dialects import compile_graph
from trustmap.graph import load_graph
from trustmap.model import Graph
from trustmap.verify import verify

pytestmark = pytest.mark.skipif(not OB_MANIFESTS.exists(), reason="shared/ is not beside the repo")

Objects = list[dict[str, Any]]
Mutation = Callable[[Objects], None]

INTRUDER = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: intruder, namespace: default}
spec:
  selector: {matchLabels: {app: intruder}}
  template:
    metadata: {labels: {app: intruder}}
    spec: {serviceAccountName: intruder, containers: [{name: c, image: busybox}]}
"""


@pytest.fixture(scope="module")
def graph() -> Graph:
    return load_graph([OB_DECLARATIONS], TODAY)


def compiled(graph: Graph, target: str) -> Objects:
    out = []
    for namespace, obj in compile_graph(graph, target).objects:
        raw = copy.deepcopy(dict(obj))
        if namespace:
            raw["metadata"].setdefault("namespace", namespace)
        out.append(raw)
    return out


def findings(
    graph: Graph, target: str, objects: Objects, tmp: Path, extra: str = ""
) -> set[tuple[str, str]]:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "policies.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    manifests = [OB_MANIFESTS]
    if extra:
        (tmp.parent / f"{tmp.name}-extra.yaml").write_text(extra)
        manifests.append(tmp.parent / f"{tmp.name}-extra.yaml")
    report = verify(graph, manifests, target=target, policies_paths=[tmp])
    return {(d.code, d.message) for d in report.findings}


def new_codes(graph: Graph, target: str, mutate: Mutation, tmp: Path, extra: str = "") -> set[str]:
    objects = compiled(graph, target)
    before = findings(graph, target, objects, tmp / "before", extra)
    mutate(objects)
    after = findings(graph, target, objects, tmp / "after", extra)
    return {code for code, _ in after - before}


def named(objects: Objects, kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


# --- cilium -------------------------------------------------------------------------------------


def cilium_drop_rule(objects: Objects) -> None:
    named(objects, "CiliumNetworkPolicy", "cartservice-ingress")["spec"]["ingress"].pop(0)


def cilium_widen_method(objects: Objects) -> None:
    for rule in named(objects, "CiliumNetworkPolicy", "cartservice-ingress")["spec"]["ingress"]:
        for entry in rule.get("toPorts", ()):
            for http in entry.get("rules", {}).get("http", ()):
                http["path"] = "/.*"


def cilium_change_selector(objects: Objects) -> None:
    rule = named(objects, "CiliumNetworkPolicy", "redis-cart-ingress")["spec"]["ingress"][0]
    rule["fromEndpoints"][0]["matchLabels"]["app"] = "frontend"


def cilium_audit(objects: Objects) -> None:
    for obj in objects:
        obj["spec"]["enableDefaultDeny"] = {"ingress": False, "egress": False}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (cilium_drop_rule, "TM406"),
        (cilium_widen_method, "TM405"),
        (cilium_change_selector, "TM406"),
        (cilium_audit, "TM408"),
    ],
)
def test_cilium_mutations_are_reported(
    graph: Graph, tmp_path: Path, mutate: Mutation, expected: str
) -> None:
    assert expected in new_codes(graph, "cilium", mutate, tmp_path)


def cilium_open_to_the_world(objects: Objects) -> None:
    rule = named(objects, "CiliumNetworkPolicy", "redis-cart-ingress")["spec"]["ingress"][0]
    rule["fromEntities"] = ["world"]


def test_cilium_a_selector_widened_to_the_world_is_wider(graph: Graph, tmp_path: Path) -> None:
    """A selector change on one side alone is masked by the other side's default deny (and
    reported as narrower above); one that opens a side with no counterpart is wider."""
    assert "TM405" in new_codes(graph, "cilium", cilium_open_to_the_world, tmp_path)


def test_cilium_a_deny_of_the_host_blocks_the_probes_of_that_port(
    graph: Graph, tmp_path: Path
) -> None:
    """An ingressDeny selecting the host on the probed port wins over allow-localhost's L3-only
    allow (cilium/cilium bpf/lib/policy.h __policy_can_access: deny entries are preferred)."""

    def deny_host(objects: Objects) -> None:
        spec = named(objects, "CiliumNetworkPolicy", "frontend-ingress")["spec"]
        port = [{"ports": [{"port": "8080", "protocol": "TCP"}]}]
        spec["ingressDeny"] = [{"fromEntities": ["host"], "toPorts": port}]

    objects = compiled(graph, "cilium")
    before = findings(graph, "cilium", objects, tmp_path / "before")
    deny_host(objects)
    after = findings(graph, "cilium", objects, tmp_path / "after")
    new = [message for code, message in after - before if code == "TM409"]
    assert any("default/frontend[Deployment] on 8080/TCP" in m for m in new)


# --- istio --------------------------------------------------------------------------------------


def istio_drop_rule(objects: Objects) -> None:
    named(objects, "AuthorizationPolicy", "cartservice")["spec"]["rules"].pop(0)


def istio_widen_method(objects: Objects) -> None:
    for rule in named(objects, "AuthorizationPolicy", "cartservice")["spec"]["rules"]:
        for to in rule.get("to", ()):
            to["operation"].pop("paths", None)


def istio_change_principal(objects: Objects) -> None:
    source = named(objects, "AuthorizationPolicy", "redis-cart")["spec"]["rules"][0]["from"][0][
        "source"
    ]
    source["principals"] = ["cluster.local/ns/default/sa/frontend"]


def istio_audit(objects: Objects) -> None:
    for obj in objects:
        if obj["kind"] == "AuthorizationPolicy":
            obj["metadata"].setdefault("annotations", {})["istio.io/dry-run"] = "true"


def istio_permissive_namespace_rule(objects: Objects) -> None:
    """PERMISSIVE mTLS and a rule that no longer names its source: plaintext clients get in.
    (PERMISSIVE alone stays closed while every rule names principals: plaintext carries none.)"""
    named(objects, "PeerAuthentication", "default")["spec"]["mtls"]["mode"] = "PERMISSIVE"
    rule = named(objects, "AuthorizationPolicy", "redis-cart")["spec"]["rules"][0]
    rule.pop("from")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (istio_drop_rule, "TM406"),
        (istio_widen_method, "TM405"),
        (istio_change_principal, "TM406"),
        (istio_audit, "TM408"),
        (istio_permissive_namespace_rule, "TM413"),
    ],
)
def test_istio_mutations_are_reported(
    graph: Graph, tmp_path: Path, mutate: Mutation, expected: str
) -> None:
    assert expected in new_codes(graph, "istio", mutate, tmp_path)


# --- linkerd ------------------------------------------------------------------------------------


def linkerd_drop_rule(objects: Objects) -> None:
    objects.remove(named(objects, "AuthorizationPolicy", "adservice-grpc"))


def linkerd_widen_method(objects: Objects) -> None:
    for rule in named(objects, "HTTPRoute", "adservice-grpc")["spec"]["rules"]:
        for match in rule["matches"]:
            match["path"] = {"type": "PathPrefix", "value": "/"}


def linkerd_change_principal(objects: Objects) -> None:
    named(objects, "MeshTLSAuthentication", "adservice-grpc")["spec"]["identityRefs"][0]["name"] = (
        "cartservice"
    )


def linkerd_audit(objects: Objects) -> None:
    for obj in objects:
        if obj["kind"] == "Server":
            obj["spec"]["accessPolicy"] = "audit"


def with_probe_route(objects: Objects) -> None:
    """Authorise the frontend's kubelet probes the documented way: a probe route and an
    unauthenticated NetworkAuthentication (what a correct compiler emits)."""
    meta = {"namespace": "default"}
    objects += [
        {
            "apiVersion": "policy.linkerd.io/v1beta3",
            "kind": "HTTPRoute",
            "metadata": {"name": "frontend-probes", **meta},
            "spec": {
                "parentRefs": [
                    {"group": "policy.linkerd.io", "kind": "Server", "name": "frontend-http"}
                ],
                "rules": [
                    {
                        "matches": [
                            {"path": {"type": "Exact", "value": "/_healthz"}, "method": "GET"}
                        ]
                    }
                ],
            },
        },
        {
            "apiVersion": "policy.linkerd.io/v1alpha1",
            "kind": "NetworkAuthentication",
            "metadata": {"name": "kubelet", **meta},
            "spec": {"networks": [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]},
        },
        {
            "apiVersion": "policy.linkerd.io/v1alpha1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": "frontend-probes", **meta},
            "spec": {
                "targetRef": {
                    "group": "policy.linkerd.io",
                    "kind": "HTTPRoute",
                    "name": "frontend-probes",
                },
                "requiredAuthenticationRefs": [
                    {
                        "group": "policy.linkerd.io",
                        "kind": "NetworkAuthentication",
                        "name": "kubelet",
                    }
                ],
            },
        },
    ]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (linkerd_drop_rule, "TM406"),
        (linkerd_widen_method, "TM405"),
        (linkerd_change_principal, "TM406"),
        (linkerd_audit, "TM408"),
    ],
)
def test_linkerd_mutations_are_reported(
    graph: Graph, tmp_path: Path, mutate: Mutation, expected: str
) -> None:
    assert expected in new_codes(graph, "linkerd", mutate, tmp_path)


def test_linkerd_dropping_a_probe_route_blocks_the_probe(graph: Graph, tmp_path: Path) -> None:
    objects = compiled(graph, "linkerd")
    with_probe_route(objects)
    fixed = findings(graph, "linkerd", objects, tmp_path / "fixed")
    objects.remove(named(objects, "HTTPRoute", "frontend-probes"))
    dropped = findings(graph, "linkerd", objects, tmp_path / "dropped")
    new = [message for code, message in dropped - fixed if code == "TM409"]
    assert any("default/frontend[Deployment] on 8080/TCP" in m for m in new)


# --- admission ----------------------------------------------------------------------------------


def admission_drop_rule(objects: Objects) -> None:
    patterns = objects[0]["spec"]["rules"][0]["validate"]["anyPattern"]
    patterns.remove(next(p for p in patterns if p["metadata"]["labels"].get("app") == "frontend"))


def admission_widen(objects: Objects) -> None:
    objects[0]["spec"]["rules"][0]["validate"]["anyPattern"].append(
        {"metadata": {"labels": {"app": "?*"}}}
    )


def admission_change_account(objects: Objects) -> None:
    for pattern in objects[0]["spec"]["rules"][0]["validate"]["anyPattern"]:
        if pattern["metadata"]["labels"].get("app") == "frontend":
            pattern["spec"]["serviceAccountName"] = "intruder"


def admission_audit(objects: Objects) -> None:
    objects[0]["spec"]["rules"][0]["validate"]["failureAction"] = "Audit"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (admission_drop_rule, "TM410"),
        (admission_widen, "TM412"),
        (admission_change_account, "TM410"),
        (admission_audit, "TM408"),
    ],
)
def test_admission_mutations_are_reported(
    graph: Graph, tmp_path: Path, mutate: Mutation, expected: str
) -> None:
    assert expected in new_codes(graph, "admission", mutate, tmp_path, INTRUDER)

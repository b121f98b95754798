"""What every target must do, asserted on small graphs built in memory."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from trustmap.analysis.inventory import make_obj
from trustmap.analysis.istio import IstioEvaluator
from trustmap.analysis.platform import Peer, Request
from trustmap.dialects import TARGETS, compile_graph, compile_targets, render_files, render_yaml
from trustmap.errors import UsageError
from trustmap.graph import graph_from_text, load_graph
from trustmap.model import Graph

TODAY = dt.date(2026, 11, 23)
LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

ORG = """\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec:
  dns:
    selector: {namespace: openshift-dns, podLabels: {dns.operator.openshift.io/daemonset-dns: default}}
    ports: [{port: 5353, protocol: UDP}, {port: 5353, protocol: TCP}]
  ingressControllers:
    - {namespace: ingress-nginx, podLabels: {app: ingress}, serviceAccount: ingress-nginx}
  environments:
    - {name: staging, mode: audit, namespaces: [shop]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: shop}
spec: {owners: [a@example.com], namespaces: [shop, pay]}
"""


def service(name: str, namespace: str, body: str) -> str:
    """A Service document whose spec continues with ``body`` (indented two spaces)."""
    return (
        f"---\napiVersion: trustmap.dev/v1alpha1\nkind: Service\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  team: shop\n"
        f"  workload: {{serviceAccount: {name}, podLabels: {{app: {name}}}}}\n{body}"
    )


SHOP = (
    ORG
    + service(
        "web",
        "shop",
        "  interfaces:\n"
        "    - {name: http, port: 8080, appProtocol: http, exposure: ingress}\n"
        "  dependsOn:\n"
        "    - {service: pay/payment, interface: grpc, methods: [pay.Payment/Charge],"
        " reason: charge cards}\n"
        "    - {service: pay/payment, interface: grpc, reason: dup}\n"
        "    - {service: pay/ledger, interface: grpc, reason: expired grant, expires: 2026-01-01}\n"
        "    - {service: pay/ledger, interface: admin, reason: no consent}\n",
    )
    + service(
        "payment",
        "pay",
        "  interfaces:\n"
        "    - {name: grpc, port: 50051, appProtocol: grpc, consumers: [shop/web],"
        " methods: [pay.Payment/Charge, pay.Payment/Refund]}\n",
    )
    + service(
        "ledger",
        "pay",
        "  interfaces:\n"
        "    - {name: grpc, port: 7000, appProtocol: grpc, consumers: [shop/web]}\n"
        "    - {name: admin, port: 7001, appProtocol: http}\n",
    )
)


def graph(text: str = SHOP) -> Graph:
    """A graph from in-memory declarations."""
    return graph_from_text(text, "shop.yaml", TODAY)


def manifests(target: str, environment: str | None = None, text: str = SHOP) -> list[Any]:
    """The objects compiled for ``target``."""
    return [m for _, m in compile_graph(graph(text), target, environment).objects]


def names_in(manifest: Any) -> str:
    """The object's spec as text, to look for peers."""
    return yaml.safe_dump(manifest.get("spec", {}))


@pytest.mark.parametrize("target", list(TARGETS))
def test_same_graph_compiles_to_the_same_bytes(target: str) -> None:
    first = render_yaml(compile_graph(graph(), target).objects)
    again = render_yaml(compile_graph(graph(), target).objects)
    assert first == again
    assert first.startswith("---\napiVersion:")


@pytest.mark.parametrize("target", list(TARGETS))
def test_the_order_files_are_given_in_does_not_change_the_output(
    target: str, tmp_path: Path
) -> None:
    files = []
    for n, document in enumerate(SHOP.split("\n---\n")):
        files.append(tmp_path / f"{n}.yaml")
        files[-1].write_text(document)
    forward = load_graph(files, TODAY)
    backward = load_graph(list(reversed(files)), TODAY)
    assert render_yaml(compile_graph(forward, target).objects) == render_yaml(
        compile_graph(backward, target).objects
    )


@pytest.mark.parametrize("target", list(TARGETS))
def test_every_object_is_labelled_managed_by_trustmap_and_says_where_it_was_declared(
    target: str,
) -> None:
    for manifest in manifests(target):
        meta = manifest["metadata"]
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "trustmap"
        assert re.fullmatch(
            r"shop\.yaml:\d+(, shop\.yaml:\d+)*", meta["annotations"]["trustmap.dev/declared-at"]
        )
        assert meta["annotations"]["trustmap.dev/reason"]


@pytest.mark.parametrize("target", list(TARGETS))
def test_object_names_are_dns_labels_within_63_characters(target: str) -> None:
    long = "a" + "-long-name" * 6  # 61 characters: every derived name would pass 63
    text = SHOP.replace("payment", long).replace("pay/" + long, "pay/" + long)
    found = manifests(target, text=text)
    names = [m["metadata"]["name"] for m in found]
    assert all(LABEL.match(n) and len(n) <= 63 for n in names), names
    per_kind = [(m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"]) for m in found]
    assert len(per_kind) == len(set(per_kind)), "two objects of one kind share a name"


@pytest.mark.parametrize("target", ["kubernetes", "cilium", "istio", "linkerd"])
def test_expired_and_unconsented_dependencies_never_appear(target: str) -> None:
    g = graph()
    assert {r.dependency.reason for r in g.rejected} == {"expired grant", "no consent"}
    text = render_yaml(compile_graph(g, target).objects)
    assert "expired grant" not in text
    assert "no consent" not in text
    ledger = [m for m in manifests(target) if "ledger" in m["metadata"]["name"]]
    assert all("web" not in names_in(m) for m in ledger)


def test_kubernetes_egress_names_the_declared_dns_resolver_and_its_ports() -> None:
    (egress,) = [m for m in manifests("kubernetes") if m["metadata"]["name"] == "web-egress"]
    dns = egress["spec"]["egress"][0]
    assert dns["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openshift-dns"}},
            "podSelector": {"matchLabels": {"dns.operator.openshift.io/daemonset-dns": "default"}},
        }
    ]
    assert dns["ports"] == [{"protocol": "UDP", "port": 5353}, {"protocol": "TCP", "port": 5353}]


def test_kubernetes_ingress_names_callers_by_namespace_and_pod_labels_on_container_ports() -> None:
    (ingress,) = [m for m in manifests("kubernetes") if m["metadata"]["name"] == "payment-ingress"]
    (rule,) = ingress["spec"]["ingress"]
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}},
            "podSelector": {"matchLabels": {"app": "web"}},
        }
    ]
    assert rule["ports"] == [{"protocol": "TCP", "port": 50051}]


def test_kubernetes_reports_methods_it_cannot_enforce() -> None:
    result = compile_graph(graph(), "kubernetes")
    assert [d.code for d in result.diagnostics] == ["TM301"]
    assert "pay/payment" in result.diagnostics[0].message


def test_cilium_turns_grpc_methods_into_http_rules_on_the_target() -> None:
    (ingress,) = [m for m in manifests("cilium") if m["metadata"]["name"] == "payment-ingress"]
    (rule,) = ingress["spec"]["ingress"]
    assert rule["fromEndpoints"] == [
        {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "shop", "app": "web"}}
    ]
    assert rule["toPorts"][0]["rules"] == {
        "http": [{"method": "POST", "path": "/pay\\.Payment/Charge(\\?.*)?"}]
    }


def test_istio_allows_spiffe_principals_on_ports_and_paths() -> None:
    policy = next(
        m
        for m in manifests("istio")
        if m["kind"] == "AuthorizationPolicy" and m["metadata"]["name"] == "payment"
    )
    (rule,) = policy["spec"]["rules"]
    assert rule["from"] == [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}]
    assert rule["to"] == [
        {"operation": {"ports": ["50051"], "methods": ["POST"], "paths": ["/pay.Payment/Charge"]}}
    ]


def test_istio_sidecar_lists_only_declared_hosts_and_the_dns_resolvers_namespace() -> None:
    """The sidecar captures all outbound TCP, DNS over TCP included (iptables redirects UDP 53
    only when DNS proxying, ``ISTIO_META_DNS_CAPTURE``, is on: istio/istio
    tools/istio-iptables/pkg/capture/run.go), and ``REGISTRY_ONLY`` drops what the Sidecar does
    not import (https://istio.io/latest/docs/reference/config/networking/sidecar/). The
    resolver's namespace goes on the catch-all listener, not on a listener scoped to port 53:
    such a listener trims each Service to its first port of that number
    (pilot/pkg/model/sidecar.go ``serviceMatchingListenerPort``), which for kube-dns is 53/UDP,
    and no cluster is built for UDP ports (pilot/pkg/networking/core/cluster.go), so TCP would
    reach a listener without a cluster."""
    sidecar = next(
        m for m in manifests("istio") if m["kind"] == "Sidecar" and m["metadata"]["name"] == "web"
    )
    assert sidecar["spec"]["egress"] == [
        {"hosts": ["openshift-dns/*", "pay/payment.pay.svc.cluster.local"]}
    ]
    assert sidecar["spec"]["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}


def test_istio_lets_dns_over_tcp_reach_a_node_local_resolver_given_by_cidr() -> None:
    """The sidecar captures DNS over TCP to any address (UDP is not intercepted: istio/istio
    tools/istio-iptables/pkg/capture/run.go); under REGISTRY_ONLY an address outside the
    registry is dropped. A ServiceEntry whose ``addresses`` hold the resolver's range claims
    TCP to it on its ports
    (https://istio.io/latest/docs/reference/config/networking/service-entry/, ``addresses``),
    and every Sidecar imports it. Asked of the Istio evaluator, which reads the platform's
    rules independently of this compiler."""
    node_local = SHOP.replace(
        "selector: {namespace: openshift-dns, podLabels: {dns.operator.openshift.io/daemonset-dns: "
        "default}}",
        "cidrs: [169.254.20.10/32]",
    )
    assert node_local != SHOP
    found = manifests("istio", text=node_local)
    objects = [make_obj(m, "compiled.yaml", i) for i, m in enumerate(found)]
    web = Peer("shop/web[Deployment]", "shop", (("app", "web"),), "web")
    evaluator = IstioEvaluator(objects, [web])
    resolver = Peer("169.254.20.10", kind="external", meshed=False, address="169.254.20.10")
    elsewhere = Peer("169.254.20.11", kind="external", meshed=False, address="169.254.20.11")
    assert evaluator.decide(Request(web, resolver, 5353, "TCP")).allowed
    assert not evaluator.decide(Request(web, resolver, 8080, "TCP")).allowed
    assert not evaluator.decide(Request(web, elsewhere, 5353, "TCP")).allowed


def test_linkerd_denies_by_default_and_authorizes_identities_per_route() -> None:
    found = manifests("linkerd")
    namespace = next(
        m for m in found if m["kind"] == "Namespace" and m["metadata"]["name"] == "pay"
    )
    assert (
        namespace["metadata"]["annotations"]["config.linkerd.io/default-inbound-policy"] == "deny"
    )
    authn = next(m for m in found if m["kind"] == "MeshTLSAuthentication")
    assert authn["spec"]["identityRefs"] == [
        {"kind": "ServiceAccount", "name": "web", "namespace": "shop"}
    ]
    route = next(m for m in found if m["kind"] == "HTTPRoute")
    assert route["spec"]["rules"] == [
        {"matches": [{"path": {"type": "Exact", "value": "/pay.Payment/Charge"}, "method": "POST"}]}
    ]
    policy = next(m for m in found if m["kind"] == "AuthorizationPolicy")
    assert policy["spec"]["targetRef"]["kind"] == "HTTPRoute"


def test_admission_admits_only_declared_labels_with_their_service_account() -> None:
    (policy,) = manifests("admission")
    rules = {r["name"]: r for r in policy["spec"]["rules"]}
    assert sorted(rules) == ["pay", "shop"]
    assert rules["pay"]["validate"]["failureAction"] == "Enforce"
    assert {
        "metadata": {"labels": {"app": "ledger"}},
        "spec": {"serviceAccountName": "ledger"},
    } in (rules["pay"]["validate"]["anyPattern"])


def in_shop(manifest: Any) -> bool:
    """Whether the object belongs to namespace shop (or is that Namespace)."""
    meta = manifest["metadata"]
    return meta.get("namespace", meta["name"] if manifest["kind"] == "Namespace" else "") == "shop"


def non_blocking(target: str, found: list[Any]) -> bool:
    """Whether ``found`` (one namespace's objects) is in the target's non-blocking form."""
    kinds: dict[str, list[Any]] = {}
    for m in found:
        kinds.setdefault(m["kind"], []).append(m)
    if target == "kubernetes":
        return any(m["spec"].get("ingress") == [{}] for m in kinds["NetworkPolicy"])
    if target == "istio":
        dry = all(
            m["metadata"]["annotations"].get("istio.io/dry-run") == "true"
            for m in kinds["AuthorizationPolicy"]
        )
        (peer,) = kinds["PeerAuthentication"]
        return dry and peer["spec"]["mtls"]["mode"] == "PERMISSIVE"
    servers = kinds["Server"]
    return bool(servers) and all(m["spec"]["accessPolicy"] == "audit" for m in servers)


@pytest.mark.parametrize("target", ["kubernetes", "istio", "linkerd"])  # cilium: TM312
def test_audit_mode_namespaces_get_the_non_blocking_form_with_a_note(target: str) -> None:
    web = SHOP.replace(
        "exposure: ingress}", "exposure: internal, consumers: [pay/caller]}"
    ) + service("caller", "pay", "  dependsOn:\n    - {service: shop/web, reason: x}\n")
    audit = [m for m in manifests(target, "staging", web) if in_shop(m)]
    enforce = [m for m in manifests(target, None, web) if in_shop(m)]
    assert non_blocking(target, audit)
    assert not non_blocking(target, enforce)
    assert all(m["metadata"]["annotations"]["trustmap.dev/mode"] == "audit" for m in audit)
    assert all(m["metadata"]["annotations"]["trustmap.dev/audit"] for m in audit)


def test_admission_audit_namespaces_are_reported_not_rejected() -> None:
    (policy,) = manifests("admission", "staging")
    actions = {r["name"]: r["validate"]["failureAction"] for r in policy["spec"]["rules"]}
    assert actions == {"pay": "Enforce", "shop": "Audit"}
    assert "Audit" in policy["metadata"]["annotations"]["trustmap.dev/audit"]


def test_exposure_world_allows_any_source_on_that_port() -> None:
    text = SHOP.replace("exposure: ingress", "exposure: world")
    (ingress,) = [
        m for m in manifests("kubernetes", text=text) if m["metadata"]["name"] == "web-ingress"
    ]
    assert ingress["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8080}]}]


def test_unknown_target_and_environment_are_usage_errors_with_suggestions() -> None:
    with pytest.raises(UsageError, match="did you mean 'cilium'"):
        compile_graph(graph(), "cillium")
    with pytest.raises(UsageError, match="did you mean 'staging'"):
        compile_graph(graph(), "kubernetes", "stagin")


def test_files_are_one_per_namespace_with_cluster_objects_apart() -> None:
    assert sorted(render_files(compile_graph(graph(), "kubernetes").objects)) == [
        "pay.yaml",
        "shop.yaml",
    ]
    assert sorted(render_files(compile_graph(graph(), "admission").objects)) == ["_cluster.yaml"]


def test_compiling_several_targets_in_worker_processes_gives_the_same_bytes() -> None:
    g = graph()
    together = compile_targets(g, list(TARGETS), "staging", processes=2)
    assert [r.target for r in together] == list(TARGETS)
    for rendered in together:
        alone = compile_graph(g, rendered.target, "staging")
        assert rendered.yaml == render_yaml(alone.objects)
        assert rendered.diagnostics == alone.diagnostics
    with pytest.raises(UsageError):
        compile_targets(g, ["kubernetes", "calico"])

"""Cilium output writes nothing for kubelet probes, on any port, because Cilium needs nothing.

Rule (cilium/cilium, releases up to 1.18 and the newest tiered policy code; sources in
docs/verify.md, "Cilium"): the kubelet probes from the node, Cilium's ``host`` identity, which
``allow-localhost=always`` (what the default ``auto`` becomes on Kubernetes,
``daemon/cmd/daemon_main.go``) lets into every endpoint (``pkg/policy/mapstate.go``
``determineAllowLocalhostIngress``). On a port where a rule that selects the host carries HTTP rules
(``fromEntities: [all]`` + ``rules.http``, which ``exposure: world`` with methods compiles to), the
host's requests go through the proxy but Cilium adds the host there with no L7 rules
(``pkg/policy/l4.go`` ``createL4IngressFilter`` / ``L4Filter.attach``; ``TestL7WithLocalHostWildcard``
in ``pkg/policy/resolve_test.go``). So a ``fromEntities: [host]`` rule with the probe routes would
change nothing, and compile writes the same objects with or without the workloads' probes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from trustmap.dialects import Pods, Probe, compile_graph, render_graph
from trustmap.dialects.emit import dump
from trustmap.graph import graph_from_text
from trustmap.model import PortSpec, ServiceRef

DECLARATIONS = """\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec: {}
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: shop}
spec: {owners: [a@example.com], namespaces: [shop]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: status, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: status, podLabels: {app: status}}
  interfaces:
    - {name: http, port: 8080, appProtocol: http, exposure: world, methods: ["GET /status"]}
    - {name: grpc, port: 9090, appProtocol: grpc, exposure: world, methods: [status.Api/Get]}
"""

PROBES = {
    ServiceRef("shop", "status"): Pods(
        ("Deployment shop/status",),
        (
            Probe(8080, "httpGet", "/healthz"),
            Probe(8080, "httpGet", "/ready", kind="readiness"),
            Probe(9090, "grpc", kind="startup"),
        ),
        (PortSpec(8080), PortSpec(9090)),
    )
}


def compiled(workloads: Any) -> tuple[list[Any], set[str]]:
    graph = graph_from_text(DECLARATIONS, "shop.yaml", dt.date(2026, 11, 23))
    found = compile_graph(graph, "cilium", None, workloads)
    written = render_graph(graph, "cilium", None, workloads)
    assert [text for _, text in written.documents] == [dump(m) for _, m in found.objects]
    return [m for _, m in found.objects], {d.code for d in found.diagnostics}


def test_probes_on_world_http_ports_add_no_rule_and_no_finding() -> None:
    with_probes, codes = compiled(PROBES)
    without, codes_without = compiled(None)
    assert with_probes == without
    assert not {"TM307"} & (codes | codes_without)


def test_the_world_ports_are_open_to_all_under_their_http_rules_only() -> None:
    """Nothing names the host: the rules select ``all`` (the host among them) on each world port."""
    found, _ = compiled(PROBES)
    ingress = next(m for m in found if m["metadata"]["name"] == "status-ingress")
    rules = ingress["spec"]["ingress"]
    assert [r["fromEntities"] for r in rules] == [["all"], ["all"]]
    http = [r["toPorts"][0]["rules"]["http"] for r in rules]
    assert http == [
        [{"method": "GET", "path": "/status(\\?.*)?"}],
        [{"method": "POST", "path": "/status\\.Api/Get(\\?.*)?"}],
    ]


HTTPS_PORTS = """\
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: tls, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: tls, podLabels: {app: tls}}
  interfaces:
    - {name: web, port: 8443, appProtocol: http, exposure: world, methods: ["GET /"]}
    - {name: open, port: 9443, exposure: world}
    - {name: admin, port: 7443, appProtocol: http, consumers: [shop/status], methods: ["GET /"]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: caller, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: caller, podLabels: {app: caller}}
"""


def https_findings() -> list[str]:
    text = DECLARATIONS + HTTPS_PORTS.replace("shop/status]", "shop/caller]")
    text += "  dependsOn: [{service: shop/tls, interface: admin, reason: admin pages}]\n"
    graph = graph_from_text(text, "shop.yaml", dt.date(2026, 11, 23))
    https = tuple(Probe(port, "httpGet", "/healthz", scheme="HTTPS") for port in (7443, 8443, 9443))
    workloads = {
        ServiceRef("shop", "tls"): Pods(
            ("Deployment shop/tls",), https, tuple(PortSpec(p.port) for p in https)
        )
    }
    found = compile_graph(graph, "cilium", None, workloads).diagnostics
    written = render_graph(graph, "cilium", None, workloads).diagnostics
    assert [d.message for d in written] == [d.message for d in found]
    return [d.message for d in found if d.code == "TM314"]


def test_an_https_probe_of_a_world_port_with_http_rules_is_reported() -> None:
    """The host is among ``all``: its connections to the port go to Cilium's HTTP proxy, which
    reads HTTP, not TLS (a TLS context comes only from a rule's ``terminatingTLS``: cilium/proxy
    ``cilium/tls_wrapper.cc``). Ports without HTTP rules, and ports the host reaches through its
    L3-only allow (``fromEndpoints``: no rule selects the host there), are not proxied for it."""
    (message,) = https_findings()
    assert "port 8443 of shop/tls" in message
    assert "liveness probe speaks HTTPS" in message

"""Cilium output under ``allow-localhost=policy``: the kubelet (the ``host`` entity) is let in on
every probed port, and only there.

Rules relied on:

* ``--allow-localhost`` (https://docs.cilium.io/en/stable/cmdref/cilium-agent/): ``auto``, the
  default, is ``always`` on Kubernetes and gives every endpoint an L3-only allow of the ``host``
  identity (cilium/cilium ``pkg/policy/mapstate.go`` ``determineAllowLocalhostIngress``), plus a
  wildcard L7 rule for the host on proxied ports (``pkg/policy/l4.go`` ``createL4IngressFilter``,
  ``TestL7WithLocalHostWildcard``); ``policy`` adds neither, so the host is held by default deny and
  by the HTTP rules of whatever rule selects it.
* ``fromEntities: [host]`` selects the local node (docs.cilium.io, "Entities Based").
* A port's HTTP rules are regular expressions matched against the whole ``:path``, query string
  included (docs.cilium.io, "Layer 7 Examples"); the kubelet sends the ``httpGet`` path as written.
* Proxy redirection is decided per selector (``pkg/policy/l4.go``: ``PerSelectorPolicy.IsRedirect``,
  used by ``L4Filter.ToMapState``): an L4-only rule for the host does not push its connections
  through the proxy, so a port without L7 rules never gains one for the probes.
* A kubelet gRPC probe calls ``grpc.health.v1.Health/Check``: ``POST
  /grpc.health.v1.Health/Check`` (https://kubernetes.io/docs/tasks/configure-pod-container/
  configure-liveness-readiness-startup-probes/#define-a-grpc-liveness-probe).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trustmap.diagnostics import Span
from trustmap.dialects import Pods, Probe, compile_graph, render_graph
from trustmap.dialects.emit import dump
from trustmap.graph import graph_from_text
from trustmap.model import PortSpec, ServiceRef

TODAY = dt.date(2026, 11, 23)


def declarations(allow_localhost: str | None, environments: str = "") -> str:
    cilium = f"  cilium: {{allowLocalhost: {allow_localhost}}}\n" if allow_localhost else ""
    spec = cilium + environments
    return f"""\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {{name: acme}}
spec:{" {}" if not spec else ""}
{spec}---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {{name: shop}}
spec: {{owners: [a@example.com], namespaces: [shop]}}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {{name: web, namespace: shop}}
spec:
  team: shop
  workload: {{podLabels: {{app: web}}}}
  dependsOn:
    - {{service: shop/api, interface: http, methods: ["GET /items"], reason: lists items}}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {{name: api, namespace: shop}}
spec:
  team: shop
  workload: {{podLabels: {{app: api}}}}
  interfaces:
    - {{name: http, port: 8080, appProtocol: http, methods: ["GET /items"], consumers: [shop/web]}}
    - {{name: public, port: 8443, appProtocol: http, exposure: world, methods: ["GET /status"]}}
    - {{name: raw, port: 7000, consumers: [shop/web]}}
"""


API = ServiceRef("shop", "api")
WEB = ServiceRef("shop", "web")


def _probe(port: int, action: Any, path: str | None = None, **more: Any) -> Probe:
    return Probe(port, action, path, span=Span("k8s/api.yaml", 20 + port % 7, 5), **more)


PROBES = {
    API: Pods(
        ("Deployment shop/api",),
        (
            _probe(7000, "tcpSocket"),
            _probe(8080, "httpGet", "/healthz?full=1"),
            _probe(8080, "httpGet", "/ready", kind="readiness"),
            _probe(8443, "grpc", kind="startup"),
            _probe(9100, "httpGet", "/livez"),
        ),
        (PortSpec(7000), PortSpec(8080), PortSpec(8443), PortSpec(9100)),
    ),
    WEB: Pods(("Deployment shop/web",), (_probe(8000, "tcpSocket"),), (PortSpec(8000),)),
}


def compiled(
    allow_localhost: str | None, workloads: Any = PROBES, environments: str = ""
) -> tuple[list[Any], list[Any]]:
    """Objects and findings; the text writer must give the dict builder's bytes."""
    graph = graph_from_text(declarations(allow_localhost, environments), "shop.yaml", TODAY)
    assert [d for d in graph.diagnostics if d.severity == "error"] == []
    environment = "prod" if environments else None
    found = compile_graph(graph, "cilium", environment, workloads)
    written = render_graph(graph, "cilium", environment, workloads)
    assert [text for _, text in written.documents] == [dump(m) for _, m in found.objects]
    assert [str(d) for d in written.diagnostics] == [str(d) for d in found.diagnostics]
    return [m for _, m in found.objects], list(found.diagnostics)


def named(objects: list[Any], name: str) -> Any:
    return next(o for o in objects if o["metadata"]["name"] == name)


def host_rules(policy: Any) -> dict[str, Any]:
    """The host's rules of an ingress policy, by port."""
    found = {}
    for rule in policy["spec"]["ingress"]:
        if rule.get("fromEntities") == ["host"]:
            (port_rule,) = rule["toPorts"]
            (port,) = port_rule["ports"]
            assert port["protocol"] == "TCP"
            found[port["port"]] = port_rule.get("rules")
    return found


def test_under_policy_every_probed_port_gets_one_host_rule() -> None:
    objects, findings = compiled("policy")
    assert findings == []
    assert sorted(host_rules(named(objects, "api-ingress"))) == ["7000", "8080", "8443", "9100"]
    assert host_rules(named(objects, "web-ingress")) == {"8000": None}


def test_on_a_proxied_port_the_host_gets_http_rules_for_exactly_its_probe_requests() -> None:
    """8080 carries HTTP rules for shop/web: the host gets GET of each probe path, the query
    string cut off and any query allowed after it, and nothing else."""
    rules = host_rules(named(compiled("policy")[0], "api-ingress"))
    assert rules["8080"] == {
        "http": [
            {"method": "GET", "path": "/healthz(\\?.*)?"},
            {"method": "GET", "path": "/ready(\\?.*)?"},
        ]
    }


def test_a_grpc_probe_of_a_proxied_port_is_the_health_check_post() -> None:
    rules = host_rules(named(compiled("policy")[0], "api-ingress"))
    assert rules["8443"] == {
        "http": [{"method": "POST", "path": "/grpc\\.health\\.v1\\.Health/Check(\\?.*)?"}]
    }


def test_ports_without_l7_rules_get_an_l4_only_host_rule() -> None:
    """7000 is declared without methods, 9100 is no interface at all: neither gains L7 rules."""
    rules = host_rules(named(compiled("policy")[0], "api-ingress"))
    assert rules["7000"] is None
    assert rules["9100"] is None


def test_a_tcp_probe_on_a_proxied_port_keeps_the_host_rule_l4_only() -> None:
    """A connect has no method or path for HTTP rules to match."""
    pods = PROBES[API]
    workloads = {
        **PROBES,
        API: Pods(pods.workloads, (*pods.probes, _probe(8080, "tcpSocket")), pods.ports),
    }
    rules = host_rules(named(compiled("policy", workloads)[0], "api-ingress"))
    assert rules["8080"] is None


def test_a_probe_path_with_regex_characters_is_matched_literally() -> None:
    pods = Pods(("Deployment shop/api",), (_probe(8080, "httpGet", "/health*.json"),), ())
    rules = host_rules(named(compiled("policy", {API: pods})[0], "api-ingress"))
    assert rules["8080"] == {"http": [{"method": "GET", "path": "/health\\*\\.json(\\?.*)?"}]}


def test_the_host_rules_follow_the_declared_rules_which_stay_as_they_were() -> None:
    with_host = named(compiled("policy")[0], "api-ingress")["spec"]["ingress"]
    without = named(compiled("auto")[0], "api-ingress")["spec"]["ingress"]
    assert with_host[: len(without)] == without
    assert all(r.get("fromEntities") == ["host"] for r in with_host[len(without) :])


def test_the_host_rules_are_traced_to_the_probes_manifest_lines() -> None:
    meta = named(compiled("policy")[0], "web-ingress")["metadata"]
    assert meta["annotations"]["trustmap.dev/declared-at"] == "k8s/api.yaml:26"
    assert meta["annotations"]["trustmap.dev/reason"] == "kubelet probe"
    notes = named(compiled("policy")[0], "api-ingress")["metadata"]["annotations"]
    assert "k8s/api.yaml:22" in notes["trustmap.dev/declared-at"]
    assert (
        "kubelet readiness probe of shop/api: /ready on port 8080" in notes["trustmap.dev/reason"]
    )


def test_a_service_nobody_calls_gets_an_ingress_policy_for_its_probes_alone() -> None:
    """shop/web has no callers: under always it has no ingress policy, under policy one with the
    host rule only (default deny would otherwise refuse its probe)."""
    assert "web-ingress" not in {o["metadata"]["name"] for o in compiled("always")[0]}
    policy = named(compiled("policy")[0], "web-ingress")
    assert policy["spec"]["ingress"] == [
        {"fromEntities": ["host"], "toPorts": [{"ports": [{"port": "8000", "protocol": "TCP"}]}]}
    ]


def test_auto_always_and_no_setting_write_the_same_objects_without_host_rules() -> None:
    """Compared by spec: the declarations' line numbers move with the added setting."""
    default, _ = compiled(None)
    assert [o["spec"] for o in compiled("auto")[0]] == [o["spec"] for o in default]
    assert [o["spec"] for o in compiled("always")[0]] == [o["spec"] for o in default]
    assert not any(host_rules(o) for o in default if o["spec"].get("ingress"))


def test_without_manifests_policy_is_a_tm307_finding_and_auto_is_not() -> None:
    _, findings = compiled("policy", None)
    assert [d.code for d in findings] == ["TM307"]
    assert "cilium objects can block kubelet probes" in findings[0].message
    assert compiled("auto", None)[1] == []


def test_an_audit_namespace_still_gets_no_cilium_objects_and_so_holds_no_probe() -> None:
    """Audit: nothing is written (TM312), so nothing holds the host there either."""
    audit = "  environments:\n    - {name: prod, mode: audit, namespaces: [shop]}\n"
    objects, findings = compiled("policy", PROBES, audit)
    assert objects == []
    assert {d.code for d in findings} == {"TM312"}


def test_the_output_is_deterministic() -> None:
    assert compiled("policy")[0] == compiled("policy")[0]


_PROBES = st.builds(
    Probe,
    port=st.sampled_from([7000, 8080, 8443, 9100]),
    action=st.sampled_from(["httpGet", "grpc", "tcpSocket"]),
    path=st.sampled_from(["/", "/healthz", "/ready?x=1", "/a.b"]),
    scheme=st.sampled_from(["HTTP", "HTTP", "HTTPS"]),
    kind=st.sampled_from(["liveness", "readiness", "startup"]),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_PROBES, min_size=1, max_size=6))
def test_any_probes_give_one_host_rule_per_port_and_l7_only_where_the_port_has_it(
    probes: list[Probe],
) -> None:
    workloads = {API: Pods(("Deployment shop/api",), tuple(sorted(set(probes))), ())}
    rules = host_rules(named(compiled("policy", workloads)[0], "api-ingress"))
    assert sorted(rules) == sorted({str(p.port) for p in probes})
    for port in ("7000", "9100"):
        assert rules.get(port) is None

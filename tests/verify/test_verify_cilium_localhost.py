"""``trustmap verify --target cilium`` for a cluster whose agent runs ``--allow-localhost=policy``.

Under ``policy`` the node (Cilium's ``host`` identity, where kubelet probes come from) gets no
automatic allow: no L3-only entry in the endpoint's policy map and no wildcard L7 rule on proxied
ports (cilium/cilium ``pkg/policy/mapstate.go`` ``determineAllowLocalhostIngress``,
``pkg/policy/l4.go`` ``createL4IngressFilter``; agent flag reference
https://docs.cilium.io/en/stable/cmdref/cilium-agent/). Default deny then refuses every probe that no
rule selecting the host allows, and a rule that selects it with HTTP rules admits only matching
requests. verify builds its evaluator from the Organization's ``spec.cilium.allowLocalhost``, so
the compiled output (host rules for the probes) is an exact match, dropping those rules is a blocked
probe (TM409) per probe, and the same organisation under ``auto`` needs no host rule at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from verify_helpers import invoke, verify_cilium

from trustmap.analysis.cilium import CiliumEvaluator, cilium_localhost
from trustmap.analysis.inventory import build_inventory, make_obj
from trustmap.analysis.platform import KUBELET, Request
from trustmap.graph import graph_from_text

DECLARATIONS = """\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec:
  cilium: {allowLocalhost: policy}
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: shop}
spec: {owners: [alice@example.com], namespaces: [shop]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: web, podLabels: {app: web}}
  dependsOn:
    - {service: shop/api, interface: http, methods: ["GET /items"], reason: lists the items}
    - {service: shop/api, interface: grpc, reason: asks}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: api, podLabels: {app: api}}
  interfaces:
    - {name: http, port: 8080, appProtocol: http, methods: ["GET /items"], consumers: [shop/web]}
    - {name: grpc, port: 9090, appProtocol: grpc, methods: [shop.Api/Get], consumers: [shop/web]}
"""

MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers:
        - name: web
          image: web
          livenessProbe: {tcpSocket: {port: 8000}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      serviceAccountName: api
      containers:
        - name: api
          image: api
          ports: [{name: http, containerPort: 8080}, {containerPort: 9090}, {containerPort: 9100}]
          readinessProbe: {httpGet: {path: "/healthz?full=1", port: http}}
          livenessProbe: {grpc: {port: 9090}}
          startupProbe: {httpGet: {path: /started, port: 9100}}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 8080}, {name: grpc, port: 9090}]
"""


def write(tmp: Path, allow_localhost: str = "policy") -> tuple[Path, Path]:
    decl, k8s = tmp / "decl", tmp / "k8s"
    decl.mkdir(exist_ok=True)
    k8s.mkdir(exist_ok=True)
    text = DECLARATIONS.replace("allowLocalhost: policy", f"allowLocalhost: {allow_localhost}")
    (decl / "shop.yaml").write_text(text)
    (k8s / "shop.yaml").write_text(MANIFESTS)
    return decl, k8s


def compiled(tmp: Path, allow_localhost: str = "policy") -> list[dict[str, Any]]:
    decl, k8s = write(tmp, allow_localhost)
    out = tmp / f"out-{allow_localhost}"
    code, text = invoke("compile", str(decl), "-t", "cilium", "-m", str(k8s), "-o", str(out))
    assert code == 0, text
    return list(yaml.safe_load_all((out / "shop.yaml").read_text()))


def without_host_rules(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = []
    for obj in objects:
        rules = obj["spec"].get("ingress")
        if rules is not None:
            rules = [r for r in rules if r.get("fromEntities") != ["host"]] or [{}]
            obj = {**obj, "spec": {**obj["spec"], "ingress": rules}}
        kept.append(obj)
    return kept


def test_compiled_output_under_policy_is_an_exact_match_probes_included(tmp_path: Path) -> None:
    objects = compiled(tmp_path)
    assert (
        sum(
            r.get("fromEntities") == ["host"] for o in objects for r in o["spec"].get("ingress", [])
        )
        == 4
    )
    code, findings = verify_cilium(tmp_path, objects)
    assert (code, findings) == (0, [])


def test_verify_without_policies_compiles_with_the_setting_and_matches(tmp_path: Path) -> None:
    decl, k8s = write(tmp_path)
    code, out = invoke("verify", str(decl), "-t", "cilium", "-m", str(k8s))
    assert code == 0, out
    assert "exact match" in out


def test_dropping_the_host_rules_blocks_every_probe_and_each_is_tm409(tmp_path: Path) -> None:
    """Mutation: the same objects without ``fromEntities: [host]`` — default deny holds the host."""
    code, findings = verify_cilium(tmp_path, without_host_rules(compiled(tmp_path)))
    blocked = sorted(f["message"] for f in findings if f["code"] == "TM409")
    assert code == 1
    assert [f["code"] for f in findings] == ["TM409"] * 4
    assert (
        "kubelet probe of shop/api[Deployment] on 8080/TCP (httpGet /healthz?full=1)" in blocked[0]
    )
    assert "on 9090/TCP (grpc /grpc.health.v1.Health/Check)" in blocked[1]
    assert "on 9100/TCP (httpGet /started)" in blocked[2]
    assert "kubelet probe of shop/web[Deployment] on 8000/TCP (tcpSocket)" in blocked[3]
    assert all("default deny at ingress" in m for m in blocked)
    assert all("allow fromEntities [host] on each probed port" in f["hint"] for f in findings)
    assert all(f["file"].endswith("k8s/shop.yaml") for f in findings)  # at each probe
    assert sorted(f["line"] for f in findings) == [13, 28, 29, 30]


def test_dropping_one_probe_route_blocks_only_that_probe(tmp_path: Path) -> None:
    """The host's HTTP rules on a proxied port are all it may send there: without the gRPC health
    check route the gRPC probe is refused by the proxy, the others still pass."""
    objects = compiled(tmp_path)
    api = next(o for o in objects if o["metadata"]["name"] == "api-ingress")
    for rule in api["spec"]["ingress"]:
        if (
            rule.get("fromEntities") == ["host"]
            and rule["toPorts"][0]["ports"][0]["port"] == "9090"
        ):
            rule["toPorts"][0]["rules"]["http"] = [{"method": "GET", "path": "/other"}]
    code, findings = verify_cilium(tmp_path, objects)
    assert code == 1
    assert [f["code"] for f in findings] == ["TM409"]
    assert "on 9090/TCP (grpc /grpc.health.v1.Health/Check)" in findings[0]["message"]


def test_under_auto_the_same_organisation_needs_no_host_rule(tmp_path: Path) -> None:
    """``auto`` is ``always`` on Kubernetes: compile writes no host rule and every probe passes."""
    objects = compiled(tmp_path, "auto")
    assert not any(
        r.get("fromEntities") == ["host"] for o in objects for r in o["spec"].get("ingress", [])
    )
    code, findings = verify_cilium(tmp_path, objects)
    assert (code, findings) == (0, [])


def test_the_host_may_send_only_its_probe_requests_on_a_proxied_port(tmp_path: Path) -> None:
    """Asked directly, verify's evaluator (built with the Organization's setting) refuses the host
    a declared route it has no probe for on the proxied port, and lets it open the L4-only one."""
    graph = graph_from_text(DECLARATIONS, "shop.yaml")
    assert cilium_localhost(graph) == "policy"
    objects = [make_obj(o, "<compiled>", i) for i, o in enumerate(compiled(tmp_path))]
    manifests = [make_obj(o, "k8s.yaml", i) for i, o in enumerate(yaml.safe_load_all(MANIFESTS))]
    inventory = build_inventory([*manifests, *objects])
    evaluator = CiliumEvaluator(inventory.objects, inventory.peers, allow_localhost="policy")
    api = next(p for p in inventory.peers if p.id == "shop/api[Deployment]")

    def allowed(port: int, method: str | None, path: str | None) -> bool:
        return evaluator.decide(Request(KUBELET, api, port, "TCP", method, path)).allowed

    assert allowed(8080, "GET", "/healthz?full=1")
    assert not allowed(8080, "GET", "/items")
    assert not allowed(8080, "DELETE", "/healthz")
    assert allowed(9100, "GET", "/anything")
    assert not allowed(7777, None, None)

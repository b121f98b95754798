"""``trustmap verify --target cilium`` on kubelet probes of a port the world reaches under HTTP rules.

The compiled output for an ``exposure: world`` interface with methods is ``fromEntities: [all]``
with ``rules.http``: the host (the kubelet) is among ``all``, so its probes go through Cilium's
proxy, where Cilium gives the host no L7 rules while ``allow-localhost`` is ``always``, what the
default ``auto`` is on Kubernetes (cilium/cilium ``pkg/policy/l4.go`` ``createL4IngressFilter``,
``L4Filter.attach`` in the newest code, ``TestL7WithLocalHostWildcard`` in ``pkg/policy/resolve_test.go``;
``daemon/cmd/daemon_main.go`` for ``auto``). No host rule is compiled, and every probe passes; an
``ingressDeny`` that selects the host on the port wins over that allow
(``bpf/lib/policy.h`` ``__policy_can_access``) and is reported as a blocked probe (TM409).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from verify_helpers import invoke, verify_cilium

DECLARATIONS = """
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec:
  trustDomain: cluster.local
  rules: {requireReason: true, requireProviderConsent: true, maxExpiryDays: 365}
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: shop}
spec: {owners: [shop-lead@example.com], namespaces: [shop]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: status, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: status, podLabels: {app: status}}
  interfaces:
    - {name: http, port: 8080, appProtocol: http, exposure: world, methods: ["GET /status"]}
"""

MANIFESTS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: status, namespace: shop}
spec:
  selector: {matchLabels: {app: status}}
  template:
    metadata: {labels: {app: status}}
    spec:
      serviceAccountName: status
      containers:
        - name: status
          image: example/status:1
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {httpGet: {path: /healthz, port: http}}
          livenessProbe: {grpc: {port: 8080}}
"""


def write(tmp: Path) -> tuple[Path, Path]:
    (tmp / "decl").mkdir()
    (tmp / "k8s").mkdir()
    (tmp / "decl" / "shop.yaml").write_text(DECLARATIONS)
    (tmp / "k8s" / "status.yaml").write_text(MANIFESTS)
    return tmp / "decl", tmp / "k8s"


def compiled(tmp: Path) -> list[dict[str, Any]]:
    decl, k8s = write(tmp)
    code, out = invoke("compile", str(decl), "-t", "cilium", "-m", str(k8s), "-o", str(tmp / "out"))
    assert code == 0, out
    return list(yaml.safe_load_all((tmp / "out" / "shop.yaml").read_text()))


def status_ingress(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in objects if o["metadata"]["name"] == "status-ingress")


def test_the_world_port_is_compiled_with_http_rules_for_all_and_no_host_rule(
    tmp_path: Path,
) -> None:
    rules = status_ingress(compiled(tmp_path))["spec"]["ingress"]
    assert [r.get("fromEntities") for r in rules] == [["all"]]
    assert rules[0]["toPorts"][0]["rules"]["http"] == [{"method": "GET", "path": "/status(\\?.*)?"}]


def test_compiled_output_lets_the_kubelet_probe_the_world_port_and_matches_exactly(
    tmp_path: Path,
) -> None:
    """The probe paths (/healthz, gRPC Health/Check) are no declared method; the host passes the
    proxy without L7 rules, so verify finds no blocked probe (TM409) and nothing else."""
    code, findings = verify_cilium(tmp_path, compiled(tmp_path))
    assert code == 0, findings
    assert findings == []


def test_a_deny_of_the_host_on_the_probed_port_is_reported_per_probe(tmp_path: Path) -> None:
    """Mutation: an ingressDeny selecting the host on 8080 beats allow-localhost (deny entries
    win in __policy_can_access): both probes are TM409, named with their port and request."""
    objects = compiled(tmp_path)
    status_ingress(objects)["spec"]["ingressDeny"] = [
        {"fromEntities": ["host"], "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}
    ]
    code, findings = verify_cilium(tmp_path, objects)
    blocked = sorted(f["message"] for f in findings if f["code"] == "TM409")
    assert code == 1
    assert len(blocked) == 2
    assert "kubelet probe of shop/status[Deployment] on 8080/TCP (grpc " in blocked[0]
    assert "kubelet probe of shop/status[Deployment] on 8080/TCP (httpGet /healthz)" in blocked[1]
    assert all("ingressDeny" in m for m in blocked)


def test_an_undeclared_pod_of_a_managed_namespace_is_not_promised_the_world_port(
    tmp_path: Path,
) -> None:
    """The declarations give an undeclared pod of a namespace under default deny no egress, even
    to an `exposure: world` interface: without the compiled default deny its call is wider."""
    objects = [o for o in compiled(tmp_path) if o["metadata"]["name"] != "trustmap-default-deny"]
    code, findings = verify_cilium(tmp_path, objects)
    wider = [f["message"] for f in findings if f["code"] == "TM405"]
    assert code == 1
    assert any(
        "allows any pod of namespace shop → shop/status[Deployment] on 8080" in m for m in wider
    )


CONTROLLER = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingress, namespace: shop}
spec:
  selector: {matchLabels: {app: ingress}}
  template:
    metadata: {labels: {app: ingress}}
    spec: {serviceAccountName: ingress, containers: [{name: c, image: example/ingress:1}]}
"""


def test_a_flow_declared_for_an_undeclared_pod_is_still_expected(tmp_path: Path) -> None:
    """Only what is open to anyone is withheld from a pod whose egress is closed: an ingress
    controller running in a managed namespace keeps its declared flow, and the namespace's default
    deny of its egress is still reported as narrower (TM406)."""
    decl, k8s = write(tmp_path)
    text = DECLARATIONS.replace(
        "  trustDomain: cluster.local\n",
        "  trustDomain: cluster.local\n"
        "  ingressControllers: [{namespace: shop, podLabels: {app: ingress},"
        " serviceAccount: ingress}]\n",
    ).replace("exposure: world, methods", "exposure: ingress, methods")
    (decl / "shop.yaml").write_text(text)
    (k8s / "ingress.yaml").write_text(CONTROLLER)
    code, out = invoke(
        "compile", str(decl), "-t", "cilium", "-m", str(k8s), "-o", str(tmp_path / "out")
    )
    assert code == 0, out
    objects = list(yaml.safe_load_all((tmp_path / "out" / "shop.yaml").read_text()))
    code, findings = verify_cilium(tmp_path, objects)
    narrower = [f["message"] for f in findings if f["code"] == "TM406"]
    assert code == 1
    assert any(
        "shop/ingress[Deployment] → shop/status[Deployment] on 8080/TCP" in m for m in narrower
    )

"""Istio output on a mesh installed without the probe rewrite, and for ports the sidecar skips.

* The injector rewrites a pod's probes as its ``sidecar.istio.io/rewriteAppHTTPProbers``
  annotation says when ``strconv.ParseBool`` reads it, else as the install says
  (``values.sidecarInjectorWebhook.rewriteAppHTTPProbe``, default true): istio/istio
  ``pkg/kube/inject/app_probe.go`` ``ShouldRewriteAppHTTPProbers`` and
  ``manifests/charts/istio-control/istio-discovery/values.yaml``. trustmap reads the install from
  ``spec.istio.rewriteAppProbers``; a workload whose effective rewrite is off gets the probe
  treatment of :mod:`trustmap.dialects.istio_probes`.
* istio-iptables redirects inbound TCP to the sidecar on every port but ``excludeInboundPorts``
  when ``includeInboundPorts`` is ``*`` (the default), on the listed ports only otherwise
  (istio/istio ``tools/istio-iptables/pkg/capture/run.go`` ``handleInboundPortsInclude``; the
  injection template passes the ``traffic.sidecar.istio.io/*InboundPorts`` annotations): a probe
  on an uncaptured port meets no mTLS and no policy, so it needs nothing.

Every compile here also checks that the text writer gives the dict builder's bytes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from trustmap.dialects import compile_graph, render_graph
from trustmap.dialects.emit import dump
from trustmap.dialects.workloads import read_workloads
from trustmap.graph import graph_from_text

TODAY = dt.date(2026, 11, 23)
MESH_OFF = "spec:\n  istio: {rewriteAppProbers: false}\n"
DECLARATIONS = """\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: acme}
SPEC---
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
  interfaces: [{name: http, port: 8080}]
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: api, podLabels: {app: api}}
  interfaces: [{name: http, port: 8080}]
"""


def deployment(name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """Deployment shop/<name>: readiness GET /ready on 8080, liveness gRPC on 9090."""
    probes = {
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
        "livenessProbe": {"grpc": {"port": 9090}},
    }
    container = {"name": name, "image": name, "ports": [{"containerPort": 8080}], **probes}
    metadata: dict[str, Any] = {"labels": {"app": name}}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": metadata,
                "spec": {"serviceAccountName": name, "containers": [container]},
            },
        },
    }


def compiled(
    tmp_path: Path, spec: str, *deployments: dict[str, Any]
) -> tuple[dict[tuple[str, str], Any], list[Any]]:
    """Istio objects by (kind, name) and the findings; text writer == dict builder."""
    graph = graph_from_text(DECLARATIONS.replace("SPEC", spec), "decl.yaml", TODAY)
    assert [d for d in graph.diagnostics if d.severity == "error"] == []
    (tmp_path / "web.yaml").write_text(yaml.safe_dump_all(deployments))
    workloads, _ = read_workloads(graph, [tmp_path / "web.yaml"])
    found = compile_graph(graph, "istio", None, workloads)
    written = render_graph(graph, "istio", None, workloads)
    assert [text for _, text in written.documents] == [dump(m) for _, m in found.objects]
    assert [str(d) for d in written.diagnostics] == [str(d) for d in found.diagnostics]
    objects = {(m["kind"], m["metadata"]["name"]): m for _, m in found.objects}
    return objects, list(found.diagnostics)


PROBE_RULES = [
    {"to": [{"operation": {"ports": ["8080"], "methods": ["GET"], "paths": ["/ready"]}}]},
    {
        "to": [
            {
                "operation": {
                    "ports": ["9090"],
                    "methods": ["POST"],
                    "paths": ["/grpc.health.v1.Health/Check"],
                }
            }
        ]
    },
]


def test_on_a_mesh_without_the_rewrite_every_probed_workload_gets_its_probe_rules(
    tmp_path: Path,
) -> None:
    objects, diagnostics = compiled(tmp_path, MESH_OFF, deployment("web"), deployment("api"))
    for name in ("web", "api"):
        assert objects[("AuthorizationPolicy", name)]["spec"]["rules"][-2:] == PROBE_RULES
        assert objects[("PeerAuthentication", f"{name}-plaintext")]["spec"]["portLevelMtls"] == {
            "8080": {"mode": "PERMISSIVE"},
            "9090": {"mode": "PERMISSIVE"},
        }
    opened = [d for d in diagnostics if d.code == "TM326"]
    assert len(opened) == 2
    assert all("spec.istio.rewriteAppProbers: false" in d.message for d in opened)
    assert all('rewriteAppHTTPProbers: "true"' in d.hint for d in opened)


def test_the_same_workloads_need_nothing_on_a_mesh_with_the_default_install(
    tmp_path: Path,
) -> None:
    for spec in ("", "spec:\n  istio: {rewriteAppProbers: true}\n"):
        objects, diagnostics = compiled(tmp_path, spec, deployment("web"), deployment("api"))
        assert not [k for k in objects if k[1].endswith("-plaintext")]
        assert not {"TM326", "TM327"} & {d.code for d in diagnostics}


def test_a_pod_annotating_the_rewrite_on_overrides_the_install(tmp_path: Path) -> None:
    """``"True"`` is true to ``strconv.ParseBool``; an unparseable value keeps the install's."""
    on = deployment("web", {"sidecar.istio.io/rewriteAppHTTPProbers": "True"})
    unreadable = deployment("api", {"sidecar.istio.io/rewriteAppHTTPProbers": "yes"})
    objects, _ = compiled(tmp_path, MESH_OFF, on, unreadable)
    assert ("PeerAuthentication", "web-plaintext") not in objects
    assert ("PeerAuthentication", "api-plaintext") in objects


def test_a_probe_on_a_port_the_sidecar_does_not_capture_needs_nothing(tmp_path: Path) -> None:
    """Neither PERMISSIVE nor a rule for 9090 (excluded), nor for 8080 (not included)."""
    excluded = deployment("web", {"traffic.sidecar.istio.io/excludeInboundPorts": "9090"})
    included = deployment("api", {"traffic.sidecar.istio.io/includeInboundPorts": "9090"})
    objects, _ = compiled(tmp_path, MESH_OFF, excluded, included)
    assert objects[("AuthorizationPolicy", "web")]["spec"]["rules"][-1:] == PROBE_RULES[:1]
    assert objects[("PeerAuthentication", "web-plaintext")]["spec"]["portLevelMtls"] == {
        "8080": {"mode": "PERMISSIVE"}
    }
    assert objects[("AuthorizationPolicy", "api")]["spec"]["rules"][-1:] == PROBE_RULES[1:]
    assert objects[("PeerAuthentication", "api-plaintext")]["spec"]["portLevelMtls"] == {
        "9090": {"mode": "PERMISSIVE"}
    }


def test_an_interface_on_a_port_the_sidecar_does_not_capture_is_reported(tmp_path: Path) -> None:
    """Nothing the output writes for an uncaptured port is enforced, so compile says so (TM328,
    at the workload, naming the interface and the annotations); a captured port says nothing."""
    excluded = deployment("web", {"traffic.sidecar.istio.io/excludeInboundPorts": "8080"})
    captured = deployment("api", {"traffic.sidecar.istio.io/excludeInboundPorts": "9090"})
    _, diagnostics = compiled(tmp_path, "", excluded, captured)
    (bypassed,) = [d for d in diagnostics if d.code == "TM328"]
    assert bypassed.message.startswith(
        "the pods of shop/web (Deployment shop/web) keep interface http (8080)"
    )
    assert "traffic.sidecar.istio.io/excludeInboundPorts" in bypassed.message
    assert bypassed.span is not None
    assert bypassed.span.file.endswith("web.yaml")

"""The lab on a real Envoy for a mesh installed without the probe rewrite.

An Organization declaring ``spec.istio.rewriteAppProbers: false`` says the install's
``values.sidecarInjectorWebhook.rewriteAppHTTPProbe`` is false, so the injector leaves every
pod's probes as written unless the pod annotates ``sidecar.istio.io/rewriteAppHTTPProbers``
``"true"`` (istio/istio ``pkg/kube/inject/app_probe.go`` ``ShouldRewriteAppHTTPProbers``). The
kubelet's plain-text probe then reaches the inbound listener, where STRICT mTLS refuses it unless
the output leaves the port PERMISSIVE and allows the probe request
(https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/). The lab reads the
effective rewrite from the workloads (:class:`trustmap.dialects.Pods`) and sends such probes
through the inbound listener, not the agent. One Envoy per run, started on 127.0.0.1.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest

import trustmap
from shop_org import shop_declarations, shop_manifests
from trustmap.dialects import compile_graph
from trustmap.lab import KUBELET, run_lab

pytestmark = pytest.mark.usefixtures("envoy")

TODAY = dt.date(2026, 11, 1)
DECLARATIONS = shop_declarations(
    '{name: http, port: 8080, appProtocol: http, methods: ["GET /items"], consumers: [shop/web]}',
    "  istio: {rewriteAppProbers: false}\n",
)
MANIFESTS = shop_manifests(
    """\
    metadata: {labels: {app: api}}
    spec:
      serviceAccountName: api
      containers:
        - name: api
          image: api
          ports: [{containerPort: 8080}]
          readinessProbe: {httpGet: {path: /ready, port: 8080}}
          livenessProbe: {httpGet: {path: /live, port: 8080}}
"""
)


def test_on_a_mesh_without_the_rewrite_probes_cross_the_inbound_listener_and_pass(
    tmp_path: Path,
) -> None:
    """Compiled with the manifests, the probes pass the listener (never the agent), every other
    request does what is declared, and the proxy and verify's evaluator agree; compiled without
    them, STRICT mTLS refuses the probes, on both sides alike."""
    (tmp_path / "decl.yaml").write_text(DECLARATIONS)
    (tmp_path / "shop.yaml").write_text(MANIFESTS)
    graph = trustmap.load_graph([str(tmp_path / "decl.yaml")], TODAY)
    workloads, problems = trustmap.read_workloads(graph, [str(tmp_path / "shop.yaml")])
    assert [p.code for p in problems if p.severity == "error"] == []
    report = run_lab(graph, "istio", workloads=workloads)
    probes = [r for r in report.results if r.request.caller == KUBELET]
    assert {r.request.path for r in probes} == {"/ready", "/live"}
    assert all(r.observed.allowed and "sidecar agent" not in r.observed.detail for r in probes)
    assert report.differences == ()
    assert all(r.judged == r.observed.allowed for r in report.results)
    bare = [copy.deepcopy(dict(o)) for _, o in compile_graph(graph, "istio", None).objects]
    refused = run_lab(graph, "istio", environment=None, objects=bare, workloads=workloads)
    blocked = [r for r in refused.results if r.request.caller == KUBELET]
    assert len(blocked) == len(probes)
    assert all(not r.observed.allowed and r.judged is False for r in blocked)


def test_a_port_the_sidecar_does_not_capture_takes_every_request_past_the_proxy(
    tmp_path: Path,
) -> None:
    """``traffic.sidecar.istio.io/excludeInboundPorts`` keeps 8080 out of the sidecar's iptables
    capture (istio/istio ``tools/istio-iptables/pkg/capture/run.go``
    ``handleInboundPortsInclude``): the lab sends every request there straight to the app, so
    undeclared callers get through too; verify's evaluator, told the same through the peer's
    annotations, agrees on every request, and the only differences are those wider callers."""
    (tmp_path / "decl.yaml").write_text(DECLARATIONS)
    excluded = MANIFESTS.replace(
        "metadata: {labels: {app: api}}",
        'metadata: {labels: {app: api}, annotations: {traffic.sidecar.istio.io/excludeInboundPorts: "8080"}}',
    )
    (tmp_path / "shop.yaml").write_text(excluded)
    graph = trustmap.load_graph([str(tmp_path / "decl.yaml")], TODAY)
    workloads, _ = trustmap.read_workloads(graph, [str(tmp_path / "shop.yaml")])
    report = run_lab(graph, "istio", workloads=workloads)
    assert all(r.observed.allowed for r in report.results)
    assert all("port not captured by the sidecar" in r.observed.detail for r in report.results)
    assert all(r.judged is True for r in report.results)
    assert report.differences
    assert all(not r.request.expected for r in report.differences)

"""The Istio evaluator on an install without the probe rewrite and on ports the sidecar skips.

* Probe rewrite: the pod's ``sidecar.istio.io/rewriteAppHTTPProbers`` annotation when Go's
  ``strconv.ParseBool`` reads it, else the install's
  ``values.sidecarInjectorWebhook.rewriteAppHTTPProbe`` (true by default) (istio/istio
  ``pkg/kube/inject/app_probe.go`` ``ShouldRewriteAppHTTPProbers``;
  ``manifests/charts/istio-control/istio-discovery/values.yaml``). The evaluator takes the
  install's value as ``rewrite_app_probers``.
* Inbound capture: istio-iptables redirects inbound TCP to the sidecar on every port but
  ``excludeInboundPorts`` when ``includeInboundPorts`` is ``*`` (the template's default), on the
  listed ports only otherwise, on none when it is empty (istio/istio
  ``tools/istio-iptables/pkg/capture/run.go`` ``handleInboundPortsInclude``; the injection
  template passes the pod annotations ``traffic.sidecar.istio.io/includeInboundPorts`` and
  ``traffic.sidecar.istio.io/excludeInboundPorts``). An uncaptured port meets no mTLS and no
  AuthorizationPolicy.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from platform_helpers import objs, pod, req

from trustmap.analysis.istio import IstioEvaluator, probes_rewritten, uncaptured
from trustmap.analysis.platform import KUBELET, Peer

WEB, API = pod("web"), pod("api")
LOCKED = """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: shop}
spec: {}
"""
EXCLUDE = "traffic.sidecar.istio.io/excludeInboundPorts"
INCLUDE = "traffic.sidecar.istio.io/includeInboundPorts"
REWRITE = "sidecar.istio.io/rewriteAppHTTPProbers"


def annotated(peer: Peer, **notes: str) -> Peer:
    return replace(peer, annotations=tuple(sorted(notes.items())))


@pytest.mark.parametrize(
    ("value", "mesh", "rewritten"),
    [
        (None, True, True),
        (None, False, False),
        ("true", False, True),
        ("T", False, True),
        ("1", False, True),
        ("false", True, False),
        ("yes", False, False),
        ("yes", True, True),
    ],
)
def test_the_pod_annotation_wins_when_parseable_else_the_install_decides(
    value: str | None, mesh: bool, rewritten: bool
) -> None:
    peer = annotated(API, **({REWRITE: value} if value is not None else {}))
    assert probes_rewritten(peer, mesh) is rewritten


def test_on_an_install_without_the_rewrite_strict_mtls_refuses_an_unannotated_pods_probe() -> None:
    off = IstioEvaluator(objs(LOCKED), [WEB, API], rewrite_app_probers=False)
    decision = off.decide(req(KUBELET, API, 9090, "GET", "/ready"))
    assert not decision.allowed
    assert decision.why == "STRICT mTLS rejects plaintext"
    default = IstioEvaluator(objs(LOCKED), [WEB, API])
    assert default.decide(req(KUBELET, API, 9090, "GET", "/ready")).allowed


def test_a_pod_annotating_the_rewrite_on_keeps_its_probes_with_the_agent_on_such_an_install() -> (
    None
):
    api = annotated(API, **{REWRITE: "true"})
    off = IstioEvaluator(objs(LOCKED), [WEB, api], rewrite_app_probers=False)
    decision = off.decide(req(KUBELET, api, 9090, "GET", "/ready"))
    assert decision.allowed
    assert "sidecar agent" in decision.why


@pytest.mark.parametrize(
    ("notes", "port", "bypass"),
    [
        ({}, 8080, None),
        ({EXCLUDE: "9090, 8080"}, 8080, f'{EXCLUDE}: "9090, 8080"'),
        ({EXCLUDE: "9090"}, 8080, None),
        ({INCLUDE: "9090"}, 8080, f'{INCLUDE}: "9090"'),
        ({INCLUDE: "9090"}, 9090, None),
        ({INCLUDE: ""}, 8080, f'{INCLUDE}: ""'),
        ({INCLUDE: "*", EXCLUDE: "8080"}, 8080, f'{EXCLUDE}: "8080"'),
    ],
)
def test_which_ports_the_sidecar_does_not_capture(
    notes: dict[str, str], port: int, bypass: str | None
) -> None:
    assert uncaptured(annotated(API, **notes), port) == bypass


def test_an_uncaptured_port_admits_every_caller_past_strict_mtls_and_allow_nothing() -> None:
    """Meshed pods, plain-text clients and the kubelet alike reach the app directly; the
    decision names the annotation, and captured ports stay locked."""
    api = annotated(API, **{EXCLUDE: "8080"})
    ev = IstioEvaluator(objs(LOCKED), [WEB, api], rewrite_app_probers=False)
    stranger = replace(pod("stranger", "other"), meshed=False)
    for source in (WEB, stranger, KUBELET):
        decision = ev.decide(req(source, api, 8080, "GET", "/items"))
        assert decision.allowed
        assert decision.by == ()
        assert f'does not capture inbound port 8080 ({EXCLUDE}: "8080")' in decision.why
    assert not ev.decide(req(WEB, api, 9090, "GET", "/items")).allowed
    assert not ev.decide(req(KUBELET, api, 9090, "GET", "/ready")).allowed

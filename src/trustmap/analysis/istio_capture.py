"""Istio: what reaches the sidecar's inbound policies at all, as the injector and iptables decide.

Two pod-level facts, both decided when the pod is injected, keep traffic away from mTLS and
AuthorizationPolicy:

* The probe rewrite. The injector rewrites a pod's kubelet probes to the pilot-agent (which calls
  the app from 127.0.0.6, past the inbound redirect) when its ``sidecar.istio.io/rewriteAppHTTPProbers``
  annotation says so as Go's ``strconv.ParseBool`` reads it, and otherwise as the install says:
  ``values.sidecarInjectorWebhook.rewriteAppHTTPProbe``, true by default (istio/istio
  ``pkg/kube/inject/app_probe.go`` ``ShouldRewriteAppHTTPProbers``;
  ``manifests/charts/istio-control/istio-discovery/values.yaml``). The Organization declares the
  install as ``spec.istio.rewriteAppProbers`` (:func:`istio_rewrites`).
* Inbound capture. The injection template passes ``traffic.sidecar.istio.io/includeInboundPorts``
  (default ``*``) and ``traffic.sidecar.istio.io/excludeInboundPorts`` to istio-iptables, which
  redirects every inbound port but the excluded ones to the sidecar, only the listed ones when
  the include list is not ``*``, and none when it is empty (istio/istio
  ``tools/istio-iptables/pkg/capture/run.go`` ``handleInboundPortsInclude``).

This module reads both from a peer's pod annotations, independently of the compiler
(``trustmap.dialects.pods`` reads the same annotations for the output).
"""

from __future__ import annotations

from trustmap.analysis.platform import Decision, Peer, Request
from trustmap.model import Graph

__all__ = ["istio_rewrites", "kubelet_probe", "probes_rewritten", "uncaptured"]

REWRITE_PROBES = "sidecar.istio.io/rewriteAppHTTPProbers"
EXCLUDE_INBOUND = "traffic.sidecar.istio.io/excludeInboundPorts"
INCLUDE_INBOUND = "traffic.sidecar.istio.io/includeInboundPorts"
_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})
"""What Go's ``strconv.ParseBool`` reads as true and false; anything it cannot parse keeps the
mesh's default."""


def istio_rewrites(graph: Graph) -> bool:
    """The mesh's default probe rewrite, as the Organization declares the install
    (``spec.istio.rewriteAppProbers``; Istio's own default is on)."""
    org = graph.organization
    return org is None or org.istio.rewrite_app_probers


def probes_rewritten(peer: Peer, mesh_default: bool = True) -> bool:
    """Whether the injector rewrites ``peer``'s probes to the agent: its annotation when
    ``strconv.ParseBool`` reads it, else the install's default (``mesh_default``)."""
    value = dict(peer.annotations).get(REWRITE_PROBES)
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    return mesh_default


def uncaptured(peer: Peer, port: int) -> str | None:
    """The annotation that keeps inbound TCP to ``port`` out of ``peer``'s sidecar, or None when
    the sidecar's iptables capture it (``includeInboundPorts`` ``*`` less ``excludeInboundPorts``,
    or only the listed ports)."""
    notes = dict(peer.annotations)
    include = notes.get(INCLUDE_INBOUND, "*").strip()
    if include != "*":
        return None if str(port) in _ports(include) else f'{INCLUDE_INBOUND}: "{include}"'
    exclude = notes.get(EXCLUDE_INBOUND, "")
    return f'{EXCLUDE_INBOUND}: "{exclude}"' if str(port) in _ports(exclude) else None


def _ports(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def kubelet_probe(request: Request, mesh_default: bool) -> Decision | None:
    """The decision on a kubelet probe that never meets the proxy's policies, or None when the
    probe goes through the inbound listener like any plain-text request."""
    if probes_rewritten(request.target, mesh_default):
        return Decision(True, why="probes are rewritten to the sidecar agent")
    if request.method is None and not request.tls:
        return Decision(True, why="a TCP probe only connects, which the sidecar always accepts")
    return None

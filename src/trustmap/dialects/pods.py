"""What the workloads' manifests say about a declared service's pods: probes and container ports.

Declarations say who may call whom; they do not say how the kubelet checks a pod. A target whose
objects can stand in the way of kubelet probes (Linkerd: once a Server has routes, its automatic
probe authorisations are gone; gRPC probes never get one) needs the probes of every declared
workload, so ``trustmap compile --manifests DIR`` reads them (:mod:`trustmap.dialects.workloads`)
and hands the compilers one :class:`Pods` per declared service. The graph never depends on
Kubernetes manifests: these values live beside it, as an optional compile input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from trustmap.diagnostics import Span
from trustmap.dialects.routes import Route
from trustmap.model import NO_SPAN, PortSpec, ServiceRef

__all__ = [
    "EXCLUDE_INBOUND",
    "GRPC_HEALTH_CHECK",
    "INCLUDE_INBOUND",
    "REWRITE_ANNOTATION",
    "Pods",
    "Probe",
    "ProbeAction",
    "Workloads",
    "captured_inbound",
    "probe_route",
    "rewrites_probes",
]

ProbeAction = Literal["httpGet", "grpc", "tcpSocket"]

GRPC_HEALTH_CHECK = "/grpc.health.v1.Health/Check"
"""What a kubelet gRPC probe calls: ``grpc.health.v1.Health/Check``, an HTTP/2 ``POST`` to this
path whatever ``grpc.service`` names (the service name travels in the request body)."""


@dataclass(frozen=True, slots=True, order=True)
class Probe:
    """One kubelet probe that reaches the pod over the network (``exec`` probes never do)."""

    port: int
    """Container port the kubelet connects to (named ports already resolved)."""
    action: ProbeAction
    """How it checks: an HTTP GET, a gRPC health check, or a TCP connect."""
    path: str | None = None
    """``httpGet`` path as written (default ``/``); ``None`` for other actions."""
    scheme: str = "HTTP"
    """``httpGet`` scheme: ``HTTP`` or ``HTTPS``."""
    grpc_service: str | None = None
    """``grpc.service``, when set."""
    kind: str = "liveness"
    """liveness, readiness or startup."""
    span: Span = field(default=NO_SPAN, compare=False)
    """Where the probe is written in the manifests."""

    @property
    def speaks_http(self) -> bool:
        """Whether a proxy sees a method and a path (plain-text HTTP GET or gRPC)."""
        return self.action == "grpc" or (self.action == "httpGet" and self.scheme == "HTTP")


def probe_route(probe: Probe) -> Route | None:
    """The request a probe sends, as a route (``None`` for TCP connects and HTTPS probes).

    The kubelet sends the ``httpGet`` path as written, query string included; routes match the
    path alone, so the query is cut off here.
    """
    if probe.action == "grpc":
        return Route(GRPC_HEALTH_CHECK, "POST", grpc=True)
    if probe.action != "httpGet" or probe.scheme != "HTTP":
        return None
    path = (probe.path or "/").split("?", 1)[0] or "/"
    return Route(path if path.startswith("/") else "/" + path, "GET", grpc=False)


@dataclass(frozen=True, slots=True)
class Pods:
    """The pods of one declared service, as its workloads' manifests describe them."""

    workloads: tuple[str, ...]
    """The workloads found, as ``Kind namespace/name``, sorted."""
    probes: tuple[Probe, ...]
    """Network probes of every container, distinct and sorted by port."""
    ports: tuple[PortSpec, ...]
    """Container ports, distinct and sorted."""
    span: Span = NO_SPAN
    """Where the first workload is written."""
    probe_rewrite_off: tuple[str, ...] = ()
    """Workloads whose pods run with Istio's probe rewrite off, as ``Kind namespace/name``: their
    ``sidecar.istio.io/rewriteAppHTTPProbers`` annotation when the injector can parse it, else the
    mesh's default (``spec.istio.rewriteAppProbers``); see :func:`rewrites_probes`."""
    mesh_rewrites: bool = True
    """The mesh default the workloads were read with (``spec.istio.rewriteAppProbers``)."""
    uncaptured_ports: tuple[int, ...] = ()
    """Container ports no workload's sidecar captures inbound
    (``traffic.sidecar.istio.io/excludeInboundPorts``/``includeInboundPorts``): traffic there,
    probes included, never meets mTLS or authorization."""


_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})
"""What Go's ``strconv.ParseBool`` reads as true and false; the injector parses the annotation so
(istio/istio ``pkg/kube/inject/app_probe.go`` ``ShouldRewriteAppHTTPProbers``)."""

REWRITE_ANNOTATION = "sidecar.istio.io/rewriteAppHTTPProbers"
EXCLUDE_INBOUND = "traffic.sidecar.istio.io/excludeInboundPorts"
INCLUDE_INBOUND = "traffic.sidecar.istio.io/includeInboundPorts"


def rewrites_probes(annotations: Mapping[str, str], mesh_default: bool = True) -> bool:
    """Whether Istio's injector rewrites the probes of a pod with ``annotations``: the annotation
    when ``strconv.ParseBool`` reads it, else the install's default
    (``values.sidecarInjectorWebhook.rewriteAppHTTPProbe``, true unless installed otherwise)."""
    value = annotations.get(REWRITE_ANNOTATION)
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return mesh_default


def captured_inbound(annotations: Mapping[str, str], port: int) -> bool:
    """Whether the sidecar's iptables send inbound TCP to ``port`` into the proxy.

    The injection template passes ``includeInboundPorts`` (default ``*``) and ``excludeInboundPorts``
    to istio-iptables; with ``*`` every port but the excluded ones is redirected, with a list only
    the listed ones, with an empty value none (istio/istio ``tools/istio-iptables/pkg/capture/run.go``
    ``handleInboundPortsInclude``).
    """
    include = annotations.get(INCLUDE_INBOUND, "*").strip()
    if include != "*":
        return str(port) in _port_list(include)
    return str(port) not in _port_list(annotations.get(EXCLUDE_INBOUND, ""))


def _port_list(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


Workloads = Mapping[ServiceRef, Pods]
"""What the manifests say per declared service; a service the manifests do not run is absent."""

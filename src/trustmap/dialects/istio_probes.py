"""Istio: kubelet probes of workloads that run with the injector's probe rewrite off.

By default the sidecar injector rewrites ``httpGet``, ``tcpSocket`` and ``grpc`` probes to the
pilot-agent's status port 15020; the agent calls the app itself from 127.0.0.6, which the
sidecar's iptables return before the inbound redirect, so probes never meet mTLS or
AuthorizationPolicy (https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/;
istio/istio ``pilot/cmd/pilot-agent/status/server.go`` ``UpstreamLocalAddressIPv4``,
``tools/istio-iptables/pkg/capture/run.go``). A pod annotated
``sidecar.istio.io/rewriteAppHTTPProbers: "false"`` keeps its probes as written: the kubelet
sends them in plain text, without a mesh identity, to the app port, where the inbound listener
captures them. STRICT mTLS on that port refuses them; PERMISSIVE admits them without a principal,
and the AuthorizationPolicy then decides with no principal or namespace.

So for such a workload the output leaves each port of a plain-text HTTP or gRPC probe PERMISSIVE
(``portLevelMtls``) and adds one ALLOW rule per port, without ``from``, naming exactly the probe
requests (``GET <path>``, gRPC ``POST /grpc.health.v1.Health/Check``). ``portLevelMtls`` names the
container port and applies whether or not a Service exposes it (on the passthrough filter chains
too since istio/istio pull 28601, Istio 1.9). A proxy cannot tell the
kubelet from any other plain-text client, so those requests are open to every caller: the same
trade Linkerd's probe routes make, reported as TM326.

Which pods run with the rewrite off is :class:`~trustmap.dialects.pods.Pods`' to say: their
annotation when ``strconv.ParseBool`` reads it, else the install's default
(``values.sidecarInjectorWebhook.rewriteAppHTTPProbe``, declared as
``spec.istio.rewriteAppProbers``; istio/istio ``pkg/kube/inject/app_probe.go``
``ShouldRewriteAppHTTPProbers``), so on a mesh installed without it every probed workload gets
these rules. A probe on a port the pods' sidecar does not capture inbound
(``traffic.sidecar.istio.io/excludeInboundPorts``/``includeInboundPorts``; istio/istio
``tools/istio-iptables/pkg/capture/run.go``) reaches the app past mTLS and authorization and
needs nothing here.

A TCP probe only connects: the kernel completes the handshake on the sidecar's listening socket
before Envoy reads a byte, so it succeeds whatever the policies say (which is why the injector
rewrites TCP probes too) and needs nothing. An HTTPS probe is one-way TLS without an Istio ALPN:
under PERMISSIVE the inbound listener treats it as opaque TCP (istio/istio
``pilot/pkg/networking/core/filterchain_options.go``, the TLS chain without ALPN), where an ALLOW
rule with methods or paths never matches, and STRICT refuses it; only a rule opening the whole
port to every plain-text client would admit it, so nothing is opened and TM327 says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trustmap.dialects.pods import (
    EXCLUDE_INBOUND,
    GRPC_HEALTH_CHECK,
    INCLUDE_INBOUND,
    Pods,
    Probe,
    probe_route,
)
from trustmap.dialects.provenance import Source, source
from trustmap.manifests import IstioOperation, IstioRule, IstioTo
from trustmap.model import Interface, Service

__all__ = ["ProbeRules", "bypassed", "opened", "probe_rules", "refused"]

_OFF = 'sidecar.istio.io/rewriteAppHTTPProbers: "false"'
_ON = 'sidecar.istio.io/rewriteAppHTTPProbers: "true"'


@dataclass(frozen=True, slots=True)
class ProbeRules:
    """What the Istio output opens for the plain-text probes of one service's pods."""

    ports: tuple[int, ...]
    """Container ports of plain-text HTTP/gRPC probes: left PERMISSIVE in enforce namespaces."""
    rules: tuple[IstioRule, ...]
    """One ALLOW rule per port, without ``from``: exactly the probe requests."""
    sources: tuple[Source, ...]
    """One per probe: where it is written and why the rule exists."""
    https: tuple[Probe, ...]
    """HTTPS probes: no rule can admit them safely (TM327)."""
    routes: tuple[str, ...]
    """``METHOD path on port`` of every opened route, for the message."""


def probe_rules(
    service: Service, pods: Pods | None, normalise: Callable[[str], str]
) -> ProbeRules | None:
    """The probe rules of ``service``, or None when its pods keep the rewrite on (or no probe
    needs the network). ``normalise`` gives a path the form Istio matches requests in."""
    if pods is None or not pods.probe_rewrite_off:
        return None
    wanted: dict[int, dict[str, set[str]]] = {}
    sources: list[Source] = []
    for probe in pods.probes:
        route = probe_route(probe)
        if route is None or route.method is None or probe.port in pods.uncaptured_ports:
            continue
        path = route.path if route.path == GRPC_HEALTH_CHECK else normalise(route.path)
        wanted.setdefault(probe.port, {}).setdefault(route.method, set()).add(path)
        sources.append(_source(service, pods, probe, f"{route.method} {path}"))
    https = tuple(
        p
        for p in pods.probes
        if p.action == "httpGet" and not p.speaks_http and p.port not in pods.uncaptured_ports
    )
    if not wanted and not https:
        return None
    ports = tuple(sorted(wanted))
    rules = tuple(_rule(port, wanted[port]) for port in ports)
    routes = tuple(
        f"{method} {path} on {port}"
        for port in ports
        for method in sorted(wanted[port])
        for path in sorted(wanted[port][method])
    )
    return ProbeRules(ports, rules, tuple(sorted(set(sources))), https, routes)


def _rule(port: int, methods: dict[str, set[str]]) -> IstioRule:
    found: list[IstioTo] = []
    for method in sorted(methods):
        operation: IstioOperation = {
            "ports": [str(port)],
            "methods": [method],
            "paths": sorted(methods[method]),
        }
        found.append({"operation": operation})
    return {"to": found}


def _source(service: Service, pods: Pods, probe: Probe, request: str) -> Source:
    reason = (
        f"kubelet {probe.kind} probe ({request}): the pods run with Istio's probe rewrite off, "
        "so it reaches the app port in plain text"
    )
    return source(
        probe.span if probe.span.file else pods.span, f"kubelet -> {service.ref}: {reason}", reason
    )


def opened(service: Service, pods: Pods, found: ProbeRules) -> tuple[str, str]:
    """TM326's message and hint: which probe routes on which ports are open, and why."""
    ports = ", ".join(map(str, found.ports))
    ports = f"ports {ports} are" if len(found.ports) > 1 else f"port {ports} is"
    message = (
        f"{', '.join(pods.probe_rewrite_off)} of {service.ref} {_why_off(pods)}: the kubelet probes the app port without a mesh identity, so {ports} left "
        "PERMISSIVE and an ALLOW rule without 'from' admits the probe requests "
        f"({'; '.join(found.routes)}) from any plain-text caller"
    )
    hint = (
        f"{_turn_on(pods)}: the rewrite sends probes to the pilot-agent's port 15020, outside "
        "mTLS and authorization, and nothing is opened"
    )
    return message, hint


def refused(service: Service, pods: Pods, probe: Probe) -> tuple[str, str]:
    """TM327's message and hint: an HTTPS probe no rule can admit safely."""
    message = (
        f"{', '.join(pods.probe_rewrite_off)} of {service.ref} {_why_off(pods)}: its HTTPS {probe.kind} probe on port {probe.port} is one-way TLS that the "
        "sidecar refuses under STRICT mTLS and sees as opaque TCP otherwise, which no rule on "
        "methods or paths admits; it is refused"
    )
    hint = (
        f"{_turn_on(pods)} (the pilot-agent then probes the app over HTTPS itself), or probe "
        "over plain HTTP or with exec"
    )
    return message, hint


def _why_off(pods: Pods) -> str:
    """Why the rewrite is off: the pods' annotation, or the mesh installed without it."""
    if pods.mesh_rewrites:
        return f"turns Istio's probe rewrite off ({_OFF})"
    return (
        "runs with Istio's probe rewrite off: the mesh is installed without it "
        "(spec.istio.rewriteAppProbers: false) and the pods do not annotate it on"
    )


def _turn_on(pods: Pods) -> str:
    if pods.mesh_rewrites:
        return "remove the annotation"
    return f"annotate the pod template {_ON}"


def bypassed(service: Service, pods: Pods, interfaces: Sequence[Interface]) -> tuple[str, str]:
    """TM328's message and hint: declared interfaces on ports the pods' sidecar never sees."""
    ports = ", ".join(f"{i.name} ({i.port})" for i in interfaces)
    message = (
        f"the pods of {service.ref} ({', '.join(pods.workloads)}) keep interface {ports} out of the sidecar "
        f"({EXCLUDE_INBOUND} or {INCLUDE_INBOUND}): iptables hand that traffic straight to the "
        "app, so no mTLS or AuthorizationPolicy applies and any caller reaches it, whatever the "
        "declarations say"
    )
    hint = (
        f"remove the port from {EXCLUDE_INBOUND} (or add it to {INCLUDE_INBOUND}), or declare "
        "the interface's real exposure"
    )
    return message, hint

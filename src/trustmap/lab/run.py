"""A lab run: compile, start the echo servers and one Envoy, send every planned request, judge.

Everything listens on 127.0.0.1 on ports picked for the run; each caller sends from its own
address in 127.0.0.0/8 (Cilium identities) or with its own SPIFFE certificate (Istio). The run is
bounded: every request has a timeout and the whole run a deadline; Envoy and the echo servers are
stopped when it ends, however it ends.

Kubelet probes take the path the platform gives them:

- Istio rewrites HTTP and gRPC probes to the sidecar agent, which sends the probe's own request to
  the application from 127.0.0.6, an address the sidecar's iptables rules return before the inbound
  redirect (istio/istio ``pilot/cmd/pilot-agent/status/server.go`` ``UpstreamLocalAddressIPv4``;
  ``tools/istio-iptables``): the lab sends it from 127.0.0.6 straight to the application. A workload
  that turns the rewrite off (``sidecar.istio.io/rewriteAppHTTPProbers: "false"``) gets the
  kubelet's plain-text request through its inbound listener, where mTLS and the RBAC filters decide.
- Cilium sees the kubelet as the ``host`` identity, sent from its own address through the door's
  filters (:func:`trustmap.lab.cilium.cilium_door_config` models ``allow-localhost``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trustmap.analysis.cilium import cilium_localhost
from trustmap.dialects import Workloads, compile_graph
from trustmap.errors import InputError, UsageError
from trustmap.lab.cilium import Peer, cilium_door_config
from trustmap.lab.client import Answer, Sender, send
from trustmap.lab.envoy import EnvoyListener, EnvoyProcess, tls_context
from trustmap.lab.istio import istio_door_config
from trustmap.lab.judge import evaluator_judge, rewrite_off
from trustmap.lab.pki import CertificateAuthority, spiffe_id
from trustmap.lab.plan import KUBELET, Caller, Door, LabRequest, plan_probes, plan_requests
from trustmap.lab.upstream import EchoServers
from trustmap.model import Graph

__all__ = ["LAB_TARGETS", "Judge", "LabReport", "LabResult", "run_lab"]

ISTIO_AGENT_ADDRESS = "127.0.0.6"
"""Where Istio's sidecar agent sends rewritten probes from (bypassing the inbound listener)."""

LAB_TARGETS = ("istio", "cilium")
"""Targets whose L7 rules the lab can program into Envoy."""

Judge = Callable[[LabRequest], bool]
"""An evaluator's verdict on one request: would the platform allow it?"""


@dataclass(frozen=True, slots=True)
class LabResult:
    """One request: what the declarations expect, what the proxy did, what the evaluator says."""

    request: LabRequest
    """The request."""
    observed: Answer
    """The proxy's answer."""
    judged: bool | None
    """The evaluator's verdict, or None when no evaluator was given."""
    audit: bool = False
    """Whether the receiving namespace is in audit mode (a dry run: nothing may be refused)."""
    would_deny: bool | None = None
    """In audit mode: whether the proxy logged the request as one it would deny (shadow rules)."""

    @property
    def agrees(self) -> bool:
        """Whether declarations, proxy and evaluator all agree.

        In audit mode every request must pass, and the proxy's would-deny verdict must be the
        declarations' refusal; the evaluator judges what enforcement would do.
        """
        judged_ok = self.judged is None or self.judged == self.request.expected
        if self.audit:
            shadow_ok = self.would_deny is None or self.would_deny == (not self.request.expected)
            return self.observed.allowed and shadow_ok and judged_ok
        return self.observed.allowed == self.request.expected and judged_ok


@dataclass(frozen=True, slots=True)
class LabReport:
    """Everything one lab run sent and saw."""

    target: str
    """The target whose objects were programmed."""
    results: tuple[LabResult, ...]
    """Every request, in plan order."""
    seconds: float
    """Wall-clock time of the run."""

    @property
    def differences(self) -> tuple[LabResult, ...]:
        """Requests where declarations, proxy and evaluator do not all agree."""
        return tuple(r for r in self.results if not r.agrees)


def run_lab(
    graph: Graph,
    target: str,
    *,
    environment: str | None = None,
    objects: Sequence[Mapping[str, Any]] | None = None,
    judge: Judge | bool | None = True,
    deadline_seconds: float = 300.0,
    workloads: Workloads | None = None,
) -> LabReport:
    """Program ``target``'s objects into a real Envoy and send every planned request through it.

    Args:
        graph: the checked graph (what is declared).
        target: ``istio`` or ``cilium``.
        environment: the environment to compile for (audit namespaces give dry-run objects).
        objects: policies to program instead of compiling ``graph`` (hand-written ones, say).
        judge: an evaluator's verdict per request, compared with what the proxy did; ``True``
            (the default) asks verify's evaluator of ``target``, ``None`` or ``False`` asks none.
        deadline_seconds: the whole run's bound.
        workloads: the workloads' probes and annotations per service (``compile --manifests``):
            the objects are compiled with them and every HTTP and gRPC probe is sent too.

    Raises:
        UsageError: an unknown target, or a policy feature the lab does not model.
        InputError: Envoy is missing or did not start.
    """
    if target not in LAB_TARGETS:
        raise UsageError(f"the lab runs {' and '.join(LAB_TARGETS)}, not {target!r}")
    started = time.monotonic()
    workloads = workloads or {}
    if objects is None:
        compiled = compile_graph(graph, target, environment, workloads or None)
        objects = [obj for _, obj in compiled.objects]
    requests = [*plan_requests(graph), *plan_probes(graph, workloads)]
    if judge is True:
        callers = sorted({r.caller for r in requests})
        judge = evaluator_judge(graph, target, objects, callers, workloads)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="trustmap-lab-")))
        echo = stack.enter_context(EchoServers())
        wiring = _Wiring(graph, target, environment, objects, folder, echo, workloads)
        envoy = stack.enter_context(EnvoyProcess(folder, wiring.listeners(requests)))
        wiring.bound(envoy.ports)
        chosen = judge if callable(judge) else None
        results = tuple(_send_all(requests, wiring, envoy, chosen, started + deadline_seconds))
    return LabReport(target, results, time.monotonic() - started)


def _send_all(
    requests: Sequence[LabRequest],
    wiring: _Wiring,
    envoy: EnvoyProcess,
    judge: Judge | None,
    deadline: float,
) -> Iterator[LabResult]:
    shadow: int | None = None  # would-deny count after the previous request, if it was audited
    for request in requests:
        if time.monotonic() > deadline:
            raise InputError(
                "the lab run passed its deadline; fewer services or a longer --deadline"
            )
        audit = wiring.audit(request.door)
        if audit and shadow is None:
            shadow = _shadow_denials(envoy)
        route = wiring.route(request)
        answer = send(route.sender, route.port, route.wire, request.method, request.path)
        if route.note:
            answer = Answer(answer.allowed, f"{answer.detail} ({route.note})")
        would_deny = None
        if audit and shadow is not None:
            after = _shadow_denials(envoy)
            would_deny, shadow = after > shadow, after
        else:
            shadow = None
        judged = None if judge is None else judge(request)
        yield LabResult(request, answer, judged, audit, would_deny)


def _shadow_denials(envoy: EnvoyProcess) -> int:
    """Requests the proxy's shadow (dry-run) rules would have denied, so far."""
    return sum(v for k, v in envoy.stats("http.").items() if k.endswith("shadow_denied"))


@dataclass(frozen=True, slots=True)
class _Route:
    """How one request is sent."""

    sender: Sender
    port: int
    wire: str
    note: str = ""
    """Said after the proxy's answer when the request does not go through the door's listener."""


class _Wiring:
    """Ports, addresses and certificates of one run."""

    def __init__(
        self,
        graph: Graph,
        target: str,
        environment: str | None,
        objects: Sequence[Mapping[str, Any]],
        folder: Path,
        echo: EchoServers,
        workloads: Workloads,
    ) -> None:
        self.graph, self.target, self.environment = graph, target, environment
        self.objects, self.echo, self.workloads = objects, echo, workloads
        self.ca = CertificateAuthority(folder) if target == "istio" else None
        self.ports: dict[Door, int] = {}
        self._names: dict[Door, str] = {}
        self._addresses: dict[Caller, str] = {}
        self._senders: dict[Caller, Sender] = {}
        self._server = self.ca.issue("server", "spiffe://lab/server") if self.ca else None

    def listeners(self, requests: Sequence[LabRequest]) -> list[EnvoyListener]:
        callers = sorted({r.caller for r in requests})
        for index, caller in enumerate(callers):
            self._addresses[caller] = f"127.0.{10 + index // 250}.{1 + index % 250}"
        return [self._listener(door, callers) for door in sorted({r.door for r in requests})]

    def bound(self, listening: dict[str, int]) -> None:
        """Take the ports Envoy's listeners got from the kernel (they bind port 0: no race)."""
        self.ports = {door: listening[name] for door, name in self._names.items()}

    def audit(self, door: Door) -> bool:
        """Whether ``door``'s namespace is in audit mode in the chosen environment."""
        org = self.graph.organization
        return org is not None and org.mode(self.environment, door.service.namespace) == "audit"

    def route(self, request: LabRequest) -> _Route:
        """How ``request`` travels: to the door's listener; for a probe Istio rewrites to its agent,
        to the application itself from the agent's address; to a port Istio's iptables keep from
        the sidecar, to the application itself in plain text, and as HTTP/1.1 (the lab's HTTP
        application speaks only that; Envoy translates in front of it), same method and path."""
        upstream = self.echo.grpc_port if request.door.grpc else self.echo.http_port
        if self._via_agent(request):
            return _Route(
                Sender(ISTIO_AGENT_ADDRESS), upstream, request.wire, "via the sidecar agent"
            )
        if self._uncaptured(request):
            wire = "http1" if request.wire == "http2" else request.wire
            sender = Sender(self._addresses[request.caller])
            return _Route(sender, upstream, wire, "port not captured by the sidecar")
        return _Route(self.sender(request.caller), self.ports[request.door], request.wire)

    def _uncaptured(self, request: LabRequest) -> bool:
        pods = self.workloads.get(request.door.service)
        return (
            self.ca is not None and pods is not None and request.door.port in pods.uncaptured_ports
        )

    def _via_agent(self, request: LabRequest) -> bool:
        if request.caller != KUBELET or self.ca is None:
            return False
        return not rewrite_off(self.workloads.get(request.door.service))

    def sender(self, caller: Caller) -> Sender:
        if caller not in self._senders:
            self._senders[caller] = self._make_sender(caller)
        return self._senders[caller]

    def _make_sender(self, caller: Caller) -> Sender:
        address = self._addresses[caller]
        if self.ca is None or caller == KUBELET:
            return Sender(address)  # Cilium: the address is the identity; the kubelet has no cert
        trust = self.graph.organization.trust_domain if self.graph.organization else "cluster.local"
        uri = spiffe_id(trust, caller.namespace, caller.service_account)
        pair = self.ca.issue(f"client-{len(self._senders)}", uri)
        return Sender(address, pair.cert, pair.key, self.ca.root)

    def _listener(self, door: Door, callers: Sequence[Caller]) -> EnvoyListener:
        service = self.graph.services[door.service]
        labels = dict(service.workload.pod_labels)
        port, upstream = 0, self.echo.grpc_port if door.grpc else self.echo.http_port
        name = f"{door.service.namespace}/{door.service.name}:{door.interface}"
        self._names[door] = name
        if self.ca is None:
            peers = [_cilium_peer(self._addresses[c], c) for c in callers]
            cfg = cilium_door_config(
                self.objects,
                door.service.namespace,
                labels,
                door.port,
                peers,
                allow_localhost=cilium_localhost(self.graph) == "always",
            )
            return EnvoyListener(
                name,
                cfg.network_filters,
                cfg.http_filters,
                port,
                upstream,
                door.grpc,
                normalize_path=True,
                merge_slashes=True,
            )
        config = istio_door_config(self.objects, door.service.namespace, labels, door.port)
        assert self._server is not None
        tls = tls_context(self._server.cert, self._server.key, self.ca.root, require_client=True)
        return EnvoyListener(
            name,
            (),
            config.http_filters,
            port,
            upstream,
            door.grpc,
            tls=tls,
            plaintext_too=config.mtls != "STRICT",
            normalize_path=True,
        )


def _cilium_peer(address: str, caller: Caller) -> Peer:
    """The lab caller as Cilium sees it: a pod's labels, or the ``host`` entity for the kubelet."""
    if caller == KUBELET:
        return Peer(address, "", {}, entity="host")
    return Peer(address, caller.namespace, dict(caller.labels))

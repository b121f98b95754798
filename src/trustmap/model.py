"""The organisation as immutable values: declarations, effective edges and the merged graph.

Everything here is a frozen, slotted dataclass built once by :mod:`trustmap.graph` and then only
read. Declarations keep the :class:`~trustmap.diagnostics.Span` they came from, so every compiled
object, query answer and finding can point back at a file and line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, NamedTuple

from trustmap.diagnostics import Diagnostic, Span

__all__ = [
    "AllowLocalhost",
    "ApiServer",
    "CiliumAgent",
    "Dependency",
    "DnsResolver",
    "Edge",
    "EdgeKind",
    "Egress",
    "Endpoint",
    "Environment",
    "ExternalEdge",
    "Graph",
    "IngressController",
    "Interface",
    "IstioMesh",
    "Labels",
    "Organization",
    "PlatformConsumer",
    "PortSpec",
    "Protocol",
    "RejectedDependency",
    "Rules",
    "Service",
    "ServiceRef",
    "Team",
    "Workload",
    "new_edge",
]

Protocol = Literal["TCP", "UDP", "SCTP"]
Exposure = Literal["internal", "ingress", "world"]
Mode = Literal["enforce", "audit"]
Labels = tuple[tuple[str, str], ...]
"""Pod labels as sorted ``(key, value)`` pairs, hashable and deterministic."""

NO_SPAN = Span("")


def labels_of(mapping: Mapping[str, str]) -> Labels:
    """Sorted, hashable labels from a mapping."""
    return tuple(sorted(mapping.items()))


class ServiceRef(NamedTuple):
    """Identity of a declared service: ``[cluster:]namespace/name``.

    A named tuple rather than a dataclass: it is the key of every index, and tuples hash and
    compare in C.
    """

    namespace: str
    """Kubernetes namespace of the service."""
    name: str
    """Service name (DNS-1123 label)."""
    cluster: str | None = None
    """Cluster name once several clusters are declared; ``None`` for the only cluster."""

    def __str__(self) -> str:
        base = f"{self.namespace}/{self.name}"
        return f"{self.cluster}:{base}" if self.cluster else base


@dataclass(frozen=True, slots=True)
class PortSpec:
    """A port and its transport protocol."""

    port: int
    """Port number, 1-65535."""
    protocol: Protocol = "TCP"
    """Transport protocol."""


@dataclass(frozen=True, slots=True)
class Workload:
    """How a service's pods are recognised at run time."""

    service_account: str | None
    """Kubernetes service account; the SPIFFE identity for meshes."""
    pod_labels: Labels
    """Labels every pod of the service carries (selector for NetworkPolicy)."""


@dataclass(frozen=True, slots=True)
class Interface:
    """Something a service offers: a port with a protocol, an exposure and its consumers."""

    name: str
    """Interface name, unique within the service."""
    port: int
    """Container port; what enforcement names."""
    service_port: int
    """Port clients dial on the Kubernetes Service (defaults to ``port``)."""
    protocol: Protocol
    """Transport protocol."""
    app_protocol: str | None
    """Application protocol: grpc, http, http2, tcp, kafka, ..."""
    exposure: Exposure
    """internal (declared consumers only), ingress (also ingress controllers), world."""
    consumers: tuple[str, ...]
    """Provider consent: ``ns/name`` services, ``team:<t>``, ``namespace:<ns>`` or ``*``."""
    methods: tuple[str, ...]
    """gRPC methods (``pkg.Service/Method``) or HTTP routes (``GET /api/*``); empty = any."""
    span: Span = NO_SPAN
    """Where the interface is declared."""
    consumers_span: Span | None = None
    """Where ``consumers`` is declared, if it is."""


@dataclass(frozen=True, slots=True)
class Dependency:
    """A declared need of one service to call another's interface."""

    service: str
    """Target reference as written (``namespace/name``)."""
    interface: str | None
    """Target interface name; ``None`` when the target has exactly one."""
    methods: tuple[str, ...]
    """Methods asked for; empty = everything the interface offers."""
    reason: str | None
    """Why the call is needed (required by ``rules.requireReason``)."""
    expires: dt.date | None
    """Last day the dependency is valid."""
    approved_by: str | None
    """Who approved it (filled by the registry from an approval)."""
    span: Span = NO_SPAN
    """Where the dependency entry starts."""
    field_spans: Mapping[str, Span] = field(default_factory=dict)
    """Spans of individual fields by YAML key (``service``, ``expires``...)."""

    def at(self, key: str) -> Span:
        """Span of field ``key``, falling back to the entry."""
        return self.field_spans.get(key, self.span)


@dataclass(frozen=True, slots=True)
class Egress:
    """A declared call out of the cluster: exactly one of host, cidr, api_server."""

    host: str | None
    """External DNS name (FQDN, may start with ``*.``)."""
    cidr: str | None
    """External IP range."""
    api_server: bool
    """Traffic to the Kubernetes API server."""
    ports: tuple[PortSpec, ...]
    """Allowed ports; empty = all ports (``apiServer`` defaults to 443 and 6443)."""
    reason: str | None
    """Why the call is needed."""
    span: Span = NO_SPAN
    """Where the entry is declared."""

    @property
    def destination(self) -> str:
        """Human-readable destination."""
        if self.api_server:
            return "kube-apiserver"
        return self.host or self.cidr or "?"


@dataclass(frozen=True, slots=True)
class Service:
    """A declared service with its workload identity, interfaces and needs."""

    ref: ServiceRef
    """namespace/name."""
    team: str
    """Owning team's name."""
    workload: Workload
    """How its pods are recognised."""
    interfaces: tuple[Interface, ...]
    """Offered interfaces, in declaration order."""
    depends_on: tuple[Dependency, ...]
    """Declared dependencies, in declaration order."""
    egress: tuple[Egress, ...]
    """Declared calls out of the cluster."""
    span: Span = NO_SPAN
    """Where the Service document starts."""
    field_spans: Mapping[str, Span] = field(default_factory=dict)
    """Spans of ``team``, ``namespace``, ``podLabels``, ``serviceAccount`` when declared."""

    def at(self, key: str) -> Span:
        """Span of field ``key``, falling back to the document."""
        return self.field_spans.get(key, self.span)

    def interface(self, name: str) -> Interface | None:
        """The interface called ``name``, if declared."""
        for interface in self.interfaces:
            if interface.name == name:
                return interface
        return None


@dataclass(frozen=True, slots=True)
class Team:
    """A team: who owns it and where it may declare services."""

    name: str
    """Team name."""
    owners: tuple[str, ...]
    """People or groups (``group:x``) who approve consumers of the team's interfaces."""
    namespaces: tuple[str, ...]
    """Namespaces the team may declare services in."""
    span: Span = NO_SPAN
    """Where the Team document starts."""
    github: str | None = None
    """GitHub handle of the team (``@org/team``) for CODEOWNERS, when declared."""
    gitlab: str | None = None
    """GitLab handle of the team (``@group/subgroup``) for CODEOWNERS, when declared."""

    @property
    def handles(self) -> tuple[str, ...]:
        """The declared VCS handles, GitHub first."""
        return tuple(h for h in (self.github, self.gitlab) if h)


@dataclass(frozen=True, slots=True)
class DnsResolver:
    """Where pods resolve names: a pod selector or IP ranges (node-local / link-local)."""

    namespace: str | None
    """Namespace of the resolver pods."""
    pod_labels: Labels
    """Labels of the resolver pods."""
    cidrs: tuple[str, ...]
    """IP ranges of a resolver outside the pod network."""
    ports: tuple[PortSpec, ...]
    """Ports of the resolver, e.g. 53/UDP and 53/TCP, or 5353 on OpenShift."""


@dataclass(frozen=True, slots=True)
class IngressController:
    """A pod group allowed to reach every ``exposure: ingress`` interface."""

    namespace: str
    """Namespace of the controller pods."""
    pod_labels: Labels
    """Labels of the controller pods."""
    service_account: str | None
    """Controller service account (for mesh targets)."""
    name: str = "ingress"
    """Display name."""
    span: Span = field(default=NO_SPAN, compare=False)
    """Where the Organization declares it (``spec.ingressControllers[i]``)."""


@dataclass(frozen=True, slots=True)
class PlatformConsumer:
    """Infrastructure allowed to call the named interfaces on every service."""

    name: str
    """Display name, e.g. prometheus."""
    namespace: str
    """Namespace of its pods."""
    pod_labels: Labels
    """Labels of its pods."""
    service_account: str | None
    """Its service account."""
    interfaces: tuple[str, ...]
    """Interface names it may call wherever they are declared."""
    span: Span = field(default=NO_SPAN, compare=False)
    """Where the Organization declares it (``spec.platformConsumers[i]``)."""


@dataclass(frozen=True, slots=True)
class ApiServer:
    """How to reach the Kubernetes API server."""

    cidrs: tuple[str, ...]
    """Its IP ranges (for ipBlock egress)."""
    ports: tuple[PortSpec, ...] = (PortSpec(443), PortSpec(6443))
    """Its ports."""


@dataclass(frozen=True, slots=True)
class Rules:
    """Organisation-wide rules."""

    require_reason: bool = True
    """Every dependency and egress entry needs a reason."""
    require_provider_consent: bool = True
    """A dependency needs the provider's ``consumers`` to name the caller."""
    max_expiry_days: int | None = None
    """Longest allowed time from today to ``expires``."""


@dataclass(frozen=True, slots=True)
class Environment:
    """One step of a progressive rollout: a mode for some namespaces of an environment."""

    name: str
    """Environment name, e.g. prod."""
    mode: Mode
    """enforce or audit."""
    namespaces: tuple[str, ...]
    """Namespaces (``*`` = all) this entry applies to; the first match wins."""


AllowLocalhost = Literal["auto", "always", "policy"]
"""Cilium's agent option ``--allow-localhost``: ``auto`` (the default; ``always`` on Kubernetes),
``always`` (the node reaches every pod) or ``policy`` (the node is a peer like any other)."""


@dataclass(frozen=True, slots=True)
class CiliumAgent:
    """How the cluster's Cilium agent runs, where that changes what Cilium output must allow."""

    allow_localhost: AllowLocalhost = "auto"
    """``--allow-localhost``; under ``policy`` the output itself allows the kubelet's probes."""
    span: Span | None = None
    """Where ``spec.cilium`` is declared, if it is."""

    @property
    def host_is_peer(self) -> bool:
        """Whether the node (Cilium's ``host`` identity) is held by policy like any other peer."""
        return self.allow_localhost == "policy"


@dataclass(frozen=True, slots=True)
class IstioMesh:
    """How the cluster's Istio is installed, where that changes what Istio output must allow."""

    rewrite_app_probers: bool = True
    """The injector's default probe rewrite (``values.sidecarInjectorWebhook.rewriteAppHTTPProbe``);
    a pod's ``sidecar.istio.io/rewriteAppHTTPProbers`` annotation, when parseable, overrides it."""
    span: Span | None = None
    """Where ``spec.istio`` is declared, if it is."""


@dataclass(frozen=True, slots=True)
class Organization:
    """Organisation-wide settings owned by the platform team."""

    name: str
    """Organisation name."""
    trust_domain: str = "cluster.local"
    """SPIFFE trust domain."""
    dns: DnsResolver | None = None
    """Cluster DNS resolver; ``None`` = no DNS egress is generated."""
    ingress_controllers: tuple[IngressController, ...] = ()
    """Callers of ``exposure: ingress`` interfaces."""
    platform_consumers: tuple[PlatformConsumer, ...] = ()
    """Infrastructure callers of named interfaces."""
    api_server: ApiServer | None = None
    """API server address for ``apiServer: true`` egress."""
    rules: Rules = Rules()
    """Organisation rules."""
    environments: tuple[Environment, ...] = ()
    """Rollout modes."""
    span: Span = NO_SPAN
    """Where the Organization document starts."""
    platforms: tuple[tuple[str, str], ...] = ()
    """Installed platform version per target (``("cilium", "1.15")``, sorted): compile for it."""
    platforms_span: Span | None = None
    """Where ``platforms`` is declared, if it is."""
    cilium: CiliumAgent = CiliumAgent()
    """The cluster's Cilium agent settings (``spec.cilium``)."""
    istio: IstioMesh = IstioMesh()
    """The cluster's Istio install settings (``spec.istio``)."""

    def platform(self, target: str) -> str | None:
        """The declared version of ``target``'s platform, if any."""
        return dict(self.platforms).get(target)

    def mode(self, environment: str | None, namespace: str) -> Mode:
        """Mode for ``namespace`` in ``environment``: first matching entry, else enforce."""
        for env in self.environments:
            if env.name == environment and (namespace in env.namespaces or "*" in env.namespaces):
                return env.mode
        return "enforce"


class EdgeKind(StrEnum):
    """Why an edge exists."""

    DEPENDENCY = "dependency"
    """A service's declared dependency."""
    INGRESS = "ingress"
    """An ingress controller reaching an ``exposure: ingress`` interface."""
    PLATFORM = "platform"
    """A platform consumer reaching a named interface."""
    WORLD = "world"
    """Anyone, including outside the cluster, reaching an ``exposure: world`` interface."""


@dataclass(frozen=True, slots=True, order=True)
class Endpoint:
    """The calling side of an edge: a declared service or an organisation-level peer."""

    namespace: str
    """Namespace of the caller's pods ('' for world)."""
    name: str
    """Service or peer name."""
    pod_labels: Labels
    """Caller's pod labels (empty for world)."""
    service_account: str | None
    """Caller's service account."""
    kind: Literal["service", "ingress-controller", "platform", "world"] = "service"
    """What the caller is."""

    @property
    def ref(self) -> ServiceRef | None:
        """The declared service, when the caller is one."""
        return ServiceRef(self.namespace, self.name) if self.kind == "service" else None

    def __str__(self) -> str:
        if self.kind == "world":
            return "world"
        prefix = "" if self.kind == "service" else f"{self.kind}:"
        return f"{prefix}{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True, order=True)
class Edge:
    """An allowed flow: caller → service interface, with where and why it was declared."""

    source: Endpoint
    """Who calls."""
    target: ServiceRef
    """Which service is called."""
    interface: str
    """Which interface."""
    port: int
    """Container port of the interface."""
    protocol: Protocol
    """Transport protocol."""
    methods: tuple[str, ...]
    """Allowed methods/routes; empty = all."""
    kind: EdgeKind
    """Why the edge exists."""
    reason: str | None
    """Declared reason (dependency) or a generated one (infrastructure)."""
    declared_at: Span
    """The dependency entry (or the Organization entry) that produced it."""
    offered_at: Span
    """The provider's interface declaration."""
    approved_by: str | None = None
    """Approver, when recorded."""
    expires: dt.date | None = None
    """Expiry, when declared."""


def new_edge(
    source: Endpoint,
    target: ServiceRef,
    interface: str,
    port: int,
    protocol: Protocol,
    methods: tuple[str, ...],
    kind: EdgeKind,
    reason: str | None,
    declared_at: Span,
    offered_at: Span,
    approved_by: str | None = None,
    expires: dt.date | None = None,
) -> Edge:
    """``Edge(...)`` in half the time, for the graph builder's tens of thousands of edges.

    A frozen dataclass's ``__init__`` stores each field with ``object.__setattr__``, which looks
    the field up on the class every time; this stores through the slot descriptors directly.
    The result is an ordinary, equal ``Edge``.
    """
    edge: Edge = _new(Edge)
    _set_source(edge, source)
    _set_target(edge, target)
    _set_interface(edge, interface)
    _set_port(edge, port)
    _set_protocol(edge, protocol)
    _set_methods(edge, methods)
    _set_kind(edge, kind)
    _set_reason(edge, reason)
    _set_declared_at(edge, declared_at)
    _set_offered_at(edge, offered_at)
    _set_approved_by(edge, approved_by)
    _set_expires(edge, expires)
    return edge


_new = object.__new__
(
    _set_source,
    _set_target,
    _set_interface,
    _set_port,
    _set_protocol,
    _set_methods,
    _set_kind,
    _set_reason,
    _set_declared_at,
    _set_offered_at,
    _set_approved_by,
    _set_expires,
) = (vars(Edge)[name].__set__ for name in Edge.__slots__)  # fails on import if fields change


@dataclass(frozen=True, slots=True, order=True)
class ExternalEdge:
    """An allowed call out of the cluster."""

    source: ServiceRef
    """Calling service."""
    egress: Egress
    """The declared egress entry."""


@dataclass(frozen=True, slots=True)
class RejectedDependency:
    """A dependency that is not an effective edge, and the conditions it failed."""

    source: ServiceRef
    """Declaring service."""
    dependency: Dependency
    """The declaration."""
    failed: tuple[str, ...]
    """Human-readable failed conditions, e.g. ``expired on 2025-01-31``."""
    codes: tuple[str, ...]
    """Diagnostic codes of the failures."""


@dataclass(frozen=True, slots=True)
class Graph:
    """The merged organisation: declarations, effective edges and findings.

    ``edges`` holds only effective edges (what compilers allow); ``rejected`` keeps the
    dependencies that failed a condition so ``explain`` can say why.
    """

    organization: Organization | None
    """The Organization, if declared."""
    teams: Mapping[str, Team]
    """Teams by name."""
    services: Mapping[ServiceRef, Service]
    """Services by reference, sorted."""
    edges: tuple[Edge, ...]
    """Effective edges, sorted."""
    external: tuple[ExternalEdge, ...]
    """Effective calls out of the cluster, sorted."""
    rejected: tuple[RejectedDependency, ...]
    """Dependencies left out, with why."""
    dns_clients: tuple[ServiceRef, ...]
    """Services allowed to reach the Organization's DNS resolver (all, when one is declared)."""
    diagnostics: tuple[Diagnostic, ...]
    """Every finding of load, schema and graph checks, sorted."""
    today: dt.date
    """The date expiry was judged against (``--now``)."""

    def service(self, ref: ServiceRef) -> Service | None:
        """The service with this reference, if declared."""
        return self.services.get(ref)

    def namespaces(self) -> tuple[str, ...]:
        """Namespaces that hold at least one declared service, sorted."""
        return tuple(sorted({ref.namespace for ref in self.services}))

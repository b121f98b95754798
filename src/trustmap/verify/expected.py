"""What the declarations allow, in workload terms: the flows a correct policy set must allow exactly.

* every effective edge from a service, ingress controller or platform consumer → the target's
  workloads on the interface's container port and protocol;
* every DNS client → the resolver's workloads on the resolver's ports, when the resolver is a
  pod selector; a resolver given as IP ranges is an external destination instead;
* ``exposure: world`` edges: any source at all (every workload and every external address);
* declared ``cidr:`` egress and ``apiServer: true`` egress (to the Organization's API server
  ranges): external destinations. ``host:`` egress names no address NetworkPolicy could see and
  is not checked.

Declarations whose workloads are missing from the manifests cannot be checked; they come back as
TM404 warnings.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from trustmap.analysis import ALL_CONNS, ConnSet
from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.model import Edge, ExternalEdge, Graph, PortSpec
from trustmap.verify.peers import Peers

__all__ = ["Expected", "External", "Want", "expected_flows"]


@dataclass(frozen=True, slots=True)
class Want:
    """One declared flow between two workloads."""

    source: str
    target: str
    conns: ConnSet
    what: str
    """What declares it, e.g. ``dependency default/frontend → default/cartservice grpc``."""
    span: Span


@dataclass(frozen=True, slots=True)
class External:
    """A declared flow between a workload and a range of external IPv4 addresses."""

    workload: str
    first: int
    last: int
    conns: ConnSet
    what: str
    span: Span


@dataclass(slots=True)
class Expected:
    """Every declared flow, indexed for the comparison."""

    pairs: dict[tuple[str, str], list[Want]] = field(default_factory=dict)
    world: dict[str, list[Want]] = field(default_factory=dict)
    """Target workload → ``exposure: world`` edges (``source`` is ``*``)."""
    egress: dict[str, list[External]] = field(default_factory=dict)
    """Source workload → declared external destinations."""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    """TM404: declarations without workloads."""

    def add(self, want: Want) -> None:
        """Record a workload-to-workload flow (a workload calling itself needs no rule)."""
        if want.source != want.target:
            self.pairs.setdefault((want.source, want.target), []).append(want)

    def conns(self, source: str, target: str) -> ConnSet:
        """Everything declared from ``source`` to ``target``, world exposure included."""
        total = ConnSet()
        for want in [*self.pairs.get((source, target), ()), *self.world.get(target, ())]:
            total = total | want.conns
        return total


def expected_flows(graph: Graph, peers: Peers) -> Expected:
    """The declared flows of ``graph`` between the workloads of ``peers``."""
    out = Expected()
    _missing_services(graph, peers, out)
    for edge in graph.edges:
        _edge(edge, peers, out)
    _dns(graph, peers, out)
    for ext in graph.external:
        _external(graph, ext, peers, out)
    return out


def _missing_services(graph: Graph, peers: Peers, out: Expected) -> None:
    for ref, service in graph.services.items():
        if peers.by_service.get(ref):
            continue
        labels = ", ".join(f"{k}={v}" for k, v in service.workload.pod_labels) or "any labels"
        out.diagnostics.append(
            diagnostic(
                "TM404",
                service.span,
                f"declared service {ref} has no workload in the manifests "
                f"(no pod in namespace {ref.namespace} with {labels}); its flows are not verified",
                "pass the manifests that deploy it with --manifests, or fix workload.podLabels",
            )
        )


def _edge(edge: Edge, peers: Peers, out: Expected) -> None:
    conns = ConnSet.of(edge.protocol, edge.port, edge.port)
    what = f"{edge.kind.value} {edge.source} → {edge.target} {edge.interface}"
    targets = peers.by_service.get(edge.target, ())
    if edge.source.kind == "world":
        for target in targets:
            out.world.setdefault(target, []).append(
                Want("*", target, conns, what, edge.declared_at)
            )
        return
    sources = peers.of_endpoint(edge.source)
    if not sources and edge.source.kind != "service":
        _missing_peer(str(edge.source), edge.declared_at, out)
    for source in sources:
        for target in targets:
            out.add(Want(source, target, conns, what, edge.declared_at))


def _missing_peer(name: str, span: Span, out: Expected) -> None:
    message = f"{name} has no workload in the manifests; its flows are not verified"
    if any(d.message == message for d in out.diagnostics):
        return
    out.diagnostics.append(
        diagnostic(
            "TM404",
            span,
            message,
            "pass its Deployment/DaemonSet manifests with --manifests, or fix its podLabels",
        )
    )


def _dns(graph: Graph, peers: Peers, out: Expected) -> None:
    org = graph.organization
    dns = org.dns if org else None
    if org is None or dns is None:
        return
    conns = _ports(dns.ports)
    if dns.namespace is None:
        for client in graph.dns_clients:
            for source in peers.by_service.get(client, ()):
                for cidr in dns.cidrs:
                    _add_external(source, cidr, conns, f"dns {client} → {cidr}", org.span, out)
        return
    resolvers = peers.select(dns.namespace, dns.pod_labels)
    if not resolvers:
        _missing_peer(f"the DNS resolver in namespace {dns.namespace}", org.span, out)
    for client in graph.dns_clients:
        what = f"dns {client} → resolver {dns.namespace}"
        for source in peers.by_service.get(client, ()):
            for resolver in resolvers:
                out.add(Want(source, resolver, conns, what, org.span))


def _external(graph: Graph, ext: ExternalEdge, peers: Peers, out: Expected) -> None:
    egress = ext.egress
    api = graph.organization.api_server if graph.organization else None
    ranges: tuple[str, ...]
    if egress.cidr is not None:
        ranges, ports = (egress.cidr,), egress.ports
    elif egress.api_server and api is not None:
        ranges, ports = api.cidrs, egress.ports or api.ports
    else:
        return  # host names: NetworkPolicy sees no name, nothing to check
    conns = _ports(ports)
    what = f"egress {ext.source} → {egress.destination}"
    for workload in peers.by_service.get(ext.source, ()):
        for block in ranges:
            _add_external(workload, block, conns, what, egress.span, out)


def _add_external(
    workload: str, cidr: str, conns: ConnSet, what: str, span: Span, out: Expected
) -> None:
    net = ipaddress.ip_network(cidr, strict=False)
    if net.version != 4:
        return  # the analysis models IPv4 only
    first, last = int(net.network_address), int(net.broadcast_address)
    out.egress.setdefault(workload, []).append(External(workload, first, last, conns, what, span))


def _ports(ports: tuple[PortSpec, ...]) -> ConnSet:
    """The ports as a connection set; no ports means every port."""
    if not ports:
        return ALL_CONNS
    total = ConnSet()
    for p in ports:
        total = total | ConnSet.of(p.protocol, p.port, p.port)
    return total

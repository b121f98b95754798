"""What the declarations allow, as requests between the manifests' workloads (for the platform targets).

The NetworkPolicy path compares connection sets; the platform evaluators answer single requests,
so here the declared graph becomes: which workloads stand for which declaration, the requests
each edge declares (one sample per declared method or route), and a predicate telling whether any
request is declared. Platform traffic (DNS to the declared resolver) is declared like an edge.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from trustmap.analysis.platform import Peer, glob_match
from trustmap.diagnostics import Span
from trustmap.dialects.routes import carries_requests
from trustmap.model import Edge, Egress, Endpoint, Graph, Labels, ServiceRef

__all__ = ["Declared", "Sample", "Want", "declared_requests", "route_sample"]

Sample = tuple[str | None, str | None]
"""(method, path) of an HTTP/gRPC request, or (None, None) for a plain connection."""


@dataclass(frozen=True, slots=True)
class Want:
    """One declared flow from a workload to a workload port, with its allowed routes."""

    source: str
    target: str
    port: int
    protocol: str
    methods: tuple[str, ...]
    """Declared methods/routes; empty = every request."""
    l7: bool
    what: str
    span: Span
    grpc: bool = False

    def samples(self) -> list[Sample]:
        """A request per declared method (an arbitrary one when every method is declared)."""
        if not self.l7:
            return [(None, None)]
        if not self.methods:
            return [("POST", "/trustmap.Any/Call")] if self.grpc else [("GET", "/")]
        return [route_sample(m, grpc=self.grpc) for m in self.methods]

    def allows(self, method: str | None, path: str | None) -> bool:
        """Whether this declaration covers the request."""
        if not self.methods or not self.l7:
            return True
        return any(_route_allows(m, method, path, self.grpc) for m in self.methods)


@dataclass(frozen=True, slots=True)
class External:
    """A declared call out of the cluster."""

    source: str
    egress: Egress
    what: str


@dataclass(slots=True)
class Declared:
    """The declared requests, indexed by target workload, and who stands for what."""

    peers: dict[str, Peer]
    owner: dict[str, ServiceRef]
    by_service: dict[ServiceRef, tuple[str, ...]]
    wants: dict[str, list[Want]] = field(default_factory=dict)
    """Target workload id → declared flows to it (``*`` source: anyone, world exposure)."""
    external: dict[str, list[External]] = field(default_factory=dict)
    missing: list[tuple[str, Span]] = field(default_factory=list)
    """Declarations without workloads: (what, where)."""
    pairs: dict[tuple[str, str], list[Want]] = field(default_factory=dict)
    """(source, target) → declared flows (source ``*``: anyone)."""

    def add(self, want: Want) -> None:
        """Record a declared flow."""
        self.wants.setdefault(want.target, []).append(want)
        self.pairs.setdefault((want.source, want.target), []).append(want)

    def between(self, source: str, target: str) -> list[Want]:
        """Declared flows from ``source`` (or anyone) to ``target``."""
        return [*self.pairs.get((source, target), ()), *self.pairs.get(("*", target), ())]

    def to(self, target: str) -> list[Want]:
        """Declared flows into ``target``."""
        return self.wants.get(target, [])

    def allows(
        self, source: Peer, target: str, port: int, method: str | None, path: str | None
    ) -> bool:
        """Whether the declarations allow this request."""
        return any(
            want.port == port and want.allows(method, path)
            for want in self.between(source.id, target)
        )

    def allows_external(
        self, source: str, host: str | None, address: str | None, port: int
    ) -> bool:
        """Whether ``source`` declares a call to this external host or address and port."""
        for item in self.external.get(source, ()):
            egress = item.egress
            if egress.ports and port not in {p.port for p in egress.ports}:
                continue
            if host and egress.host and glob_match(egress.host, host):
                return True
            if address and egress.cidr and _in(address, egress.cidr):
                return True
        return False


def declared_requests(graph: Graph, peers: Sequence[Peer]) -> Declared:
    """The declared flows of ``graph`` between ``peers``."""
    index = {p.id: p for p in peers}
    by_ns: dict[str, list[Peer]] = {}
    for peer in peers:
        by_ns.setdefault(peer.namespace, []).append(peer)
    out = Declared(index, {}, {})
    for ref, service in graph.services.items():
        found = _select(by_ns, ref.namespace, service.workload.pod_labels)
        out.by_service[ref] = found
        for wid in found:
            out.owner.setdefault(wid, ref)
        if not found:
            out.missing.append((f"declared service {ref}", service.span))
    for edge in graph.edges:
        _edge(graph, edge, by_ns, out)
    _dns(graph, by_ns, out)
    for ext in graph.external:
        for wid in out.by_service.get(ext.source, ()):
            out.external.setdefault(wid, []).append(
                External(wid, ext.egress, f"egress {ext.source} → {ext.egress.destination}")
            )
    return out


def _select(by_ns: dict[str, list[Peer]], namespace: str, labels: Labels) -> tuple[str, ...]:
    wanted = set(labels)
    return tuple(p.id for p in by_ns.get(namespace, ()) if wanted <= set(p.labels))


def _sources(endpoint: Endpoint, by_ns: dict[str, list[Peer]], out: Declared) -> tuple[str, ...]:
    if endpoint.kind == "world":
        return ("*",)
    if endpoint.ref is not None:
        return out.by_service.get(endpoint.ref, ())
    return _select(by_ns, endpoint.namespace, endpoint.pod_labels)


def _edge(graph: Graph, edge: Edge, by_ns: dict[str, list[Peer]], out: Declared) -> None:
    service = graph.services.get(edge.target)
    interface = service.interface(edge.interface) if service else None
    app = (interface.app_protocol or "").lower() if interface else ""
    l7 = interface is not None and carries_requests(interface.app_protocol, bool(interface.methods))
    what = f"{edge.kind.value} {edge.source} → {edge.target} {edge.interface}"
    sources = _sources(edge.source, by_ns, out)
    if not sources and edge.source.kind != "service":
        _note_missing(out, str(edge.source), edge.declared_at)
    for source in sources:
        for target in out.by_service.get(edge.target, ()):
            if source == target:
                continue
            want = Want(
                source,
                target,
                edge.port,
                edge.protocol,
                edge.methods,
                l7,
                what,
                edge.declared_at,
                app.startswith("grpc"),
            )
            out.add(want)


def _dns(graph: Graph, by_ns: dict[str, list[Peer]], out: Declared) -> None:
    org = graph.organization
    dns = org.dns if org else None
    if org is None or dns is None or dns.namespace is None:
        return
    resolvers = _select(by_ns, dns.namespace, dns.pod_labels)
    if not resolvers:
        _note_missing(out, f"the DNS resolver in namespace {dns.namespace}", org.span)
    for client in graph.dns_clients:
        for source in out.by_service.get(client, ()):
            for resolver in resolvers:
                for port in dns.ports:
                    what = f"dns {client} → resolver {dns.namespace}"
                    want = Want(
                        source, resolver, port.port, port.protocol, (), False, what, org.span
                    )
                    out.add(want)


def _note_missing(out: Declared, what: str, span: Span) -> None:
    if all(w != what for w, _ in out.missing):
        out.missing.append((what, span))


def route_sample(method: str, *, grpc: bool) -> Sample:
    """A request a declared method or route stands for: ``pkg.S/M`` → ``POST /pkg.S/M``;
    ``GET /api/*`` → ``GET /api/sample``; ``/healthz`` → ``GET /healthz``."""
    if grpc or (" " not in method and not method.startswith("/")):
        return "POST", "/" + method.replace("*", "Sample")
    verb, _, path = method.partition(" ") if " " in method else ("GET", "", method)
    return verb.upper(), path.replace("*", "sample")


def _route_allows(declared: str, method: str | None, path: str | None, grpc: bool) -> bool:
    if method is None and path is None:
        return False
    if grpc or (" " not in declared and not declared.startswith("/")):
        return method == "POST" and glob_match("/" + declared, path or "")
    if " " in declared:
        verb, _, pattern = declared.partition(" ")
        if verb.upper() != (method or "").upper():
            return False
    else:
        pattern = declared
    return glob_match(pattern, (path or "").split("?", 1)[0])


def _in(address: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def undeclared_samples(wants: Iterable[Want]) -> list[Sample]:
    """Requests no declaration should allow: another method on a declared path, an unknown path."""
    out: list[Sample] = [("GET", "/trustmap-undeclared"), ("POST", "/trustmap.Undeclared/Call")]
    for want in wants:
        for method, path in want.samples():
            if path is not None:
                out.append(("DELETE" if method != "DELETE" else "PUT", path))
    return out

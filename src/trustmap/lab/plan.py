"""What the lab sends, and what the declarations say should happen to each request.

For every effective edge onto an HTTP or gRPC interface the lab sends each declared method, and
then the requests that probe the edges of the declared meaning (docs/format.md, "How HTTP paths
match"): another method, an undeclared path, a query string, a trailing slash, a percent-encoded and
a mixed-case path, and the declared request from an identity the provider never consented to.
Each request carries the verdict the declarations give it and the declaration line behind it, so a
difference names what to fix.

With the workloads' manifests the lab also sends every plain-text HTTP and gRPC kubelet probe, as the
kubelet sends it (``GET`` of the ``httpGet`` path as written over HTTP/1.1; ``grpc.health.v1.Health/
Check`` over gRPC), from the kubelet: platform traffic that must pass whatever is declared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from trustmap.diagnostics import Span
from trustmap.dialects.pods import GRPC_HEALTH_CHECK, Probe, Workloads
from trustmap.dialects.routes import carries_requests, parse_route
from trustmap.model import Edge, Graph, Interface, Service, ServiceRef

__all__ = [
    "KUBELET",
    "Caller",
    "Door",
    "LabRequest",
    "Wire",
    "declared_allows",
    "plan_probes",
    "plan_requests",
]

Wire = Literal["http1", "http2", "grpc"]


@dataclass(frozen=True, slots=True, order=True)
class Caller:
    """Who sends a request: a declared service, a platform peer, or an identity nobody declared."""

    name: str
    """``namespace/name`` of a service, ``ingress:<ns>/<name>``, or ``intruder``."""
    namespace: str
    """Namespace of the caller's pods."""
    service_account: str
    """Service account the caller's identity names."""
    labels: tuple[tuple[str, str], ...] = ()
    """Pod labels of the caller's workload (what Cilium identities are made of)."""


@dataclass(frozen=True, slots=True, order=True)
class Door:
    """One interface of one service: what the lab puts a proxy listener in front of."""

    service: ServiceRef
    """Provider."""
    interface: str
    """Interface name."""
    port: int
    """Declared container port."""
    grpc: bool
    """Whether the interface speaks gRPC (the upstream is then a gRPC server)."""


@dataclass(frozen=True, slots=True)
class LabRequest:
    """One request to send, with the verdict the declarations give it."""

    caller: Caller
    """Sender."""
    door: Door
    """Receiving interface."""
    wire: Wire
    """HTTP/1.1, HTTP/2, or gRPC (over HTTP/2)."""
    method: str
    """HTTP method as sent."""
    path: str
    """Request target as sent, byte for byte (query string and encoding included)."""
    expected: bool
    """Whether the declarations allow it."""
    case: str
    """What the request probes, e.g. ``declared``, ``query string``, ``wrong identity``."""
    declared_at: Span | None
    """The declaration line that allows it (or that it is measured against)."""


INTRUDER = Caller("intruder", "trustmap-lab", "intruder", (("app", "trustmap-lab-intruder"),))
"""An identity that no declaration names."""

KUBELET = Caller("kubelet", "", "")
"""The node's kubelet: no pod labels, no service account, no mesh identity (Cilium: ``host``)."""


def plan_requests(graph: Graph) -> list[LabRequest]:
    """Every request the lab sends for ``graph``, in a stable order."""
    requests: list[LabRequest] = []
    public = _public(graph)
    for edge in graph.edges:
        service = graph.services[edge.target]
        interface = _interface(service, edge.interface)
        if interface is None or not _l7(interface) or edge.source.kind == "world":
            continue
        world = public.get((edge.target, edge.interface))
        requests.extend(_edge_requests(graph, edge, service, interface, world))
    return requests


def _public(graph: Graph) -> dict[tuple[ServiceRef, str], tuple[str, ...]]:
    """What anyone may send to each ``exposure: world`` interface (the world edge's methods)."""
    return {(e.target, e.interface): e.methods for e in graph.edges if e.source.kind == "world"}


def plan_probes(graph: Graph, workloads: Workloads) -> list[LabRequest]:
    """The kubelet probes of every declared service the manifests run, in a stable order.

    Only probes a proxy sees as requests are sent: plain-text ``httpGet`` and ``grpc``. A TCP
    connect is decided before any request (the lab's listener would accept it either way), and an
    HTTPS probe is the application's own TLS.
    """
    requests: list[LabRequest] = []
    for ref in sorted(workloads):
        service = graph.services.get(ref)
        if service is None:
            continue
        for probe in sorted({p for p in workloads[ref].probes if p.speaks_http}):
            requests.append(_probe_request(service, probe))
    return requests


def _probe_request(service: Service, probe: Probe) -> LabRequest:
    grpc = probe.action == "grpc"
    on_port = next(
        (i for i in service.interfaces if i.port == probe.port and i.protocol == "TCP"), None
    )
    name = on_port.name if on_port is not None else f"probe-{probe.port}"
    door = Door(service.ref, name, probe.port, grpc)
    path = GRPC_HEALTH_CHECK if grpc else (probe.path or "/")
    method = "POST" if grpc else "GET"
    wire: Wire = "grpc" if grpc else "http1"
    return LabRequest(KUBELET, door, wire, method, path, True, f"{probe.kind} probe", probe.span)


def door_of(service: Service, interface: Interface) -> Door:
    """The lab door for one declared interface."""
    grpc = (interface.app_protocol or "").lower() == "grpc" or any(
        parse_route(m).grpc for m in interface.methods
    )
    return Door(service.ref, interface.name, interface.port, grpc)


def caller_of(edge: Edge) -> Caller:
    """The lab caller for the source of ``edge``."""
    source = edge.source
    name = (
        str(source)
        if source.kind == "service"
        else f"{source.kind}:{source.namespace}/{source.name}"
    )
    return Caller(
        name, source.namespace, source.service_account or "default", tuple(source.pod_labels)
    )


def declared_allows(methods: tuple[str, ...], method: str, path: str) -> bool:
    """Whether ``method path`` is one of ``methods`` by the declared meaning of routes.

    An empty tuple allows every request. The query string is ignored, percent-encoded unreserved
    characters are decoded, and the path is otherwise compared as written: case and a trailing
    slash matter; ``*`` matches any run of characters (docs/format.md).
    """
    if not methods:
        return True
    clean = _normal_path(path)
    return any(_route_allows(m, method, clean) for m in methods)


def _route_allows(text: str, method: str, path: str) -> bool:
    route = parse_route(text)
    if route.method is not None and route.method != method:
        return False
    return _glob_match(route.path, path)


def _glob_match(glob: str, path: str) -> bool:
    parts = glob.split("*")
    if len(parts) == 1:
        return glob == path
    if not path.startswith(parts[0]) or not path.endswith(parts[-1]):
        return False
    position, end = len(parts[0]), len(path) - len(parts[-1])
    for middle in parts[1:-1]:
        found = path.find(middle, position, end)
        if found < 0:
            return False
        position = found + len(middle)
    return position <= end


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _normal_path(path: str) -> str:
    """Query string dropped; ``%XX`` of an unreserved character decoded (RFC 3986 §6.2.2.2)."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    out: list[str] = []
    i = 0
    while i < len(path):
        if path[i] == "%" and i + 2 < len(path) + 0 and _hex(path[i + 1 : i + 3]):
            char = unquote(path[i : i + 3])
            out.append(char if char in _UNRESERVED else path[i : i + 3].upper())
            i += 3
            continue
        out.append(path[i])
        i += 1
    return "".join(out)


def _hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


def _interface(service: Service, name: str) -> Interface | None:
    return next((i for i in service.interfaces if i.name == name), None)


def _l7(interface: Interface) -> bool:
    return interface.protocol == "TCP" and carries_requests(
        interface.app_protocol, bool(interface.methods)
    )


def _edge_requests(
    graph: Graph,
    edge: Edge,
    service: Service,
    interface: Interface,
    world: tuple[str, ...] | None,
) -> Iterator[LabRequest]:
    """The edge's requests; on a public interface (``world``: what anyone may send) a request the
    edge does not declare is still allowed when the world may send it."""
    door, caller = door_of(service, interface), caller_of(edge)
    allowed = edge.methods or interface.methods

    def expected(method: str, path: str, mine: tuple[str, ...] | None) -> bool:
        by_edge = mine is not None and declared_allows(mine, method, path)
        return by_edge or (world is not None and declared_allows(world, method, path))

    for method, path, case in _samples(allowed, door.grpc):
        for wire in _wires(door.grpc):
            ok = expected(method, path, edge.methods)
            yield LabRequest(caller, door, wire, method, path, ok, case, edge.declared_at)
    stranger = _stranger(graph, edge, door)
    method, path, _ = next(iter(_declared(allowed, door.grpc)))
    for wire in _wires(door.grpc):
        ok = expected(method, path, None)
        yield LabRequest(stranger, door, wire, method, path, ok, "wrong identity", edge.declared_at)


def _wires(grpc: bool) -> tuple[Wire, ...]:
    return ("grpc",) if grpc else ("http1", "http2")


def _samples(methods: tuple[str, ...], grpc: bool) -> Iterator[tuple[str, str, str]]:
    declared = list(_declared(methods, grpc))
    yield from declared
    method, path, _ = _representative(declared)
    if grpc:
        service = path.rsplit("/", 1)[0]
        yield "POST", f"{service}/TrustmapLabUndeclared", "undeclared method"
        return
    yield ("DELETE" if method != "DELETE" else "PATCH"), path, "undeclared method"
    yield "GET", "/trustmap-lab/undeclared", "undeclared path"
    yield method, f"{path}?trustmap=lab", "query string"
    if not path.endswith("/"):
        yield method, f"{path}/", "trailing slash"
    yield method, _encode_first_letter(path), "percent-encoded"
    if path.lower() != path.upper():
        yield method, _swap_case(path), "mixed case"


def _representative(declared: list[tuple[str, str, str]]) -> tuple[str, str, str]:
    """The declared request whose variants say most: a path with letters, no wildcard filled in."""
    for method, path, case in declared:
        if any(c.isalpha() for c in path) and "lab" not in path:
            return method, path, case
    return declared[0]


def _declared(methods: tuple[str, ...], grpc: bool) -> Iterator[tuple[str, str, str]]:
    if not methods:
        yield ("POST", "/trustmap.lab.Any/Call", "declared") if grpc else ("GET", "/", "declared")
        return
    for text in methods:
        route = parse_route(text)
        yield route.method or "GET", _concrete(route.path), "declared"


def _concrete(glob: str) -> str:
    """A path the glob matches: each ``*`` replaced by a plain segment."""
    return glob.replace("*", "lab") if glob != "*" else "/lab"


def _encode_first_letter(path: str) -> str:
    for i, char in enumerate(path):
        if char.isalpha():
            return f"{path[:i]}%{ord(char):02X}{path[i + 1 :]}"
    return path


def _swap_case(path: str) -> str:
    for i, char in enumerate(path):
        if char.isalpha():
            return f"{path[:i]}{char.swapcase()}{path[i + 1 :]}"
    return path


def _stranger(graph: Graph, edge: Edge, door: Door) -> Caller:
    """A declared service that may not call ``door``, or the intruder when every one may."""
    allowed = {e.source.service_account for e in graph.edges if e.target == door.service}
    for service in graph.services.values():
        account = service.workload.service_account or "default"
        if service.ref != door.service and account not in allowed:
            labels = tuple(service.workload.pod_labels)
            return Caller(str(service.ref), service.ref.namespace, account, labels)
    return INTRUDER

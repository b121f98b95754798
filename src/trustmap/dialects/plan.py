"""What every target compiles, grouped per service: who may reach which interface, whom it calls.

The graph holds one edge per (caller, interface); enforcement wants rules per service. This module
regroups the effective edges once, target-independently and in a stable order, so each dialect only
decides how a :class:`Grant` or a :class:`Call` looks in its own API.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field

from trustmap.model import (
    Edge,
    EdgeKind,
    Egress,
    Endpoint,
    ExternalEdge,
    Graph,
    Interface,
    Service,
    ServiceRef,
)

__all__ = ["Call", "Grant", "Index", "Outbound", "grants_of"]


@dataclass(frozen=True, slots=True)
class Grant:
    """Callers allowed to reach one interface of a service, with the same methods."""

    interface: Interface
    """The interface reached."""
    callers: tuple[Endpoint, ...]
    """Sorted, distinct callers; empty when ``world``."""
    methods: tuple[str, ...]
    """Allowed methods or routes, sorted; empty = any."""
    world: bool
    """Anyone may reach it (``exposure: world``)."""
    edges: tuple[Edge, ...]
    """The edges this grant stands for (provenance)."""


@dataclass(frozen=True, slots=True)
class Call:
    """One declared call of a service to another's interface."""

    target: Service
    """The service called."""
    interface: Interface
    """Its interface."""
    edge: Edge
    """The effective edge."""


@dataclass(frozen=True, slots=True)
class Index:
    """Effective edges of a graph indexed by target and by calling service."""

    incoming: Mapping[ServiceRef, tuple[Edge, ...]]
    """Edges into each service."""
    outgoing: Mapping[ServiceRef, tuple[Edge, ...]]
    """Edges out of each declared service."""
    external: Mapping[ServiceRef, tuple[Egress, ...]]
    """Calls out of the cluster per service, in declaration order."""
    memo: dict[ServiceRef, tuple[Call, ...]] = field(default_factory=dict)
    """:meth:`calls` answers, computed once per graph (every target asks the same)."""

    @classmethod
    def of(cls, graph: Graph) -> Index:
        """Index ``graph.edges`` and ``graph.external``."""
        incoming: dict[ServiceRef, list[Edge]] = defaultdict(list)
        outgoing: dict[ServiceRef, list[Edge]] = defaultdict(list)
        for edge in graph.edges:
            incoming[edge.target].append(edge)
            source = edge.source.ref
            if source is not None:
                outgoing[source].append(edge)
        return cls(
            {ref: tuple(edges) for ref, edges in incoming.items()},
            {ref: tuple(edges) for ref, edges in outgoing.items()},
            _external(graph.external),
        )

    def calls(self, graph: Graph, service: ServiceRef) -> tuple[Call, ...]:
        """Calls of ``service`` to declared interfaces, sorted by target and interface."""
        known = self.memo.get(service)
        if known is not None:
            return known
        found = []
        for edge in self.outgoing.get(service, ()):
            target = graph.services.get(edge.target)
            interface = target.interface(edge.interface) if target else None
            if target is not None and interface is not None:
                found.append(Call(target, interface, edge))
        known = self.memo[service] = tuple(sorted(found, key=_call_key))
        return known


def _call_key(call: Call) -> tuple[str, str, int, str]:
    ref = call.target.ref
    return (ref.namespace, ref.name, call.interface.port, call.interface.name)


def _external(edges: Iterable[ExternalEdge]) -> dict[ServiceRef, tuple[Egress, ...]]:
    found: dict[ServiceRef, list[Egress]] = defaultdict(list)
    for edge in edges:
        found[edge.source].append(edge.egress)
    return {ref: tuple(items) for ref, items in found.items()}


def grants_of(
    service: Service, edges: Iterable[Edge], *, by_methods: Container[str]
) -> tuple[Grant, ...]:
    """Group the edges into ``service`` per interface, and per method set on the interfaces
    named in ``by_methods`` (elsewhere methods are dropped: the target allows the whole port).

    Edges from the world become their own grant. Grants are sorted by port, interface, then
    world first, then methods; callers within a grant by namespace, name and kind.
    """
    groups: dict[tuple[str, bool, tuple[str, ...]], list[Edge]] = defaultdict(list)
    for edge in edges:
        world = edge.kind is EdgeKind.WORLD
        methods = edge.methods if edge.interface in by_methods else ()
        groups[(edge.interface, world, methods)].append(edge)
    grants = []
    for (name, world, methods), members in groups.items():
        interface = service.interface(name)
        if interface is None:
            continue
        callers = () if world else _callers(members)
        grants.append(Grant(interface, callers, methods, world, tuple(members)))
    return tuple(sorted(grants, key=_grant_key))


def _callers(edges: list[Edge]) -> tuple[Endpoint, ...]:
    by_key = {
        (e.source.namespace, e.source.name, e.source.kind, e.source.pod_labels): e.source
        for e in edges
    }
    return tuple(by_key[key] for key in sorted(by_key))


def _grant_key(grant: Grant) -> tuple[int, str, bool, tuple[str, ...]]:
    return (grant.interface.port, grant.interface.name, not grant.world, grant.methods)


@dataclass(frozen=True, slots=True)
class Outbound:
    """Everything one service may call: the DNS resolver, declared services, the outside."""

    dns: bool
    """It may resolve names through the Organization's resolver."""
    calls: tuple[Call, ...]
    """Calls to declared interfaces, sorted by target."""
    external: tuple[Egress, ...]
    """Calls out of the cluster the target can express, in declaration order."""

    def __bool__(self) -> bool:
        return self.dns or bool(self.calls) or bool(self.external)

    def by_target(self) -> list[tuple[Service, tuple[Call, ...]]]:
        """Calls grouped per target service, in order."""
        groups: dict[ServiceRef, list[Call]] = {}
        for call in self.calls:
            groups.setdefault(call.target.ref, []).append(call)
        return [(calls[0].target, tuple(calls)) for calls in groups.values()]

"""Questions about the graph: who calls X, what breaks if X goes, how A reaches B, why a call is allowed.

Pure functions over a :class:`~trustmap.model.Graph`; the CLI and the server render their answers.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from operator import attrgetter

from trustmap.bulk import building
from trustmap.errors import UsageError
from trustmap.model import (
    Edge,
    EdgeKind,
    ExternalEdge,
    Graph,
    Interface,
    RejectedDependency,
    ServiceRef,
    Team,
)
from trustmap.names import did_you_mean, parse_service_ref

__all__ = [
    "Explanation",
    "Exposure",
    "Index",
    "Reach",
    "callees",
    "callers",
    "dependencies",
    "dependents",
    "egress",
    "explain",
    "exposed",
    "owners",
    "path",
    "resolve_ref",
]


@dataclass(frozen=True, slots=True)
class Reach:
    """A service reached transitively, how far away, and the first hop towards it."""

    service: ServiceRef
    depth: int
    via: ServiceRef | None


@dataclass(frozen=True, slots=True)
class Exposure:
    """An interface reachable from beyond its namespace, and from where."""

    service: ServiceRef
    interface: Interface
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Whether ``source`` may call ``target`` and every reason for the answer."""

    source: str
    target: ServiceRef
    allowed: bool
    edges: tuple[Edge, ...]
    rejected: tuple[RejectedDependency, ...]
    notes: tuple[str, ...] = field(default=())


class Index:
    """Adjacency of a graph's effective edges, built once per graph."""

    def __init__(self, graph: Graph) -> None:
        with building():
            self._index(graph)

    def _index(self, graph: Graph) -> None:
        self.graph = graph
        self.into: dict[ServiceRef, list[Edge]] = defaultdict(list)
        self.out_of: dict[ServiceRef, list[Edge]] = defaultdict(list)
        into, out_of = self.into, self.out_of
        refs: dict[tuple[str, str], ServiceRef] = {}  # one ServiceRef per caller, not per edge
        target, callers = None, []
        for edge in graph.edges:  # sorted by target: look each target up once
            if edge.target is not target:
                target = edge.target
                callers = into[target]
            callers.append(edge)
            source = edge.source
            if source.kind == "service":
                key = (source.namespace, source.name)
                ref = refs.get(key)
                if ref is None:
                    ref = refs[key] = ServiceRef(*key)
                out_of[ref].append(edge)
        self._callers: dict[ServiceRef, list[ServiceRef]] | None = None
        self._callees: dict[ServiceRef, list[ServiceRef]] | None = None

    def neighbours(self, ref: ServiceRef, *, reverse: bool) -> list[ServiceRef]:
        """Services one effective dependency away (callers when ``reverse``), sorted."""
        return self._adjacency(reverse).get(ref, [])

    def _adjacency(self, reverse: bool) -> dict[ServiceRef, list[ServiceRef]]:
        """Sorted service neighbours of every service, computed on first use."""
        found = self._callers if reverse else self._callees
        if found is None:
            with building():
                found = self._neighbours(reverse)
            if reverse:
                self._callers = found
            else:
                self._callees = found
        return found

    def _neighbours(self, reverse: bool) -> dict[ServiceRef, list[ServiceRef]]:
        sets: dict[ServiceRef, set[ServiceRef]] = defaultdict(set)
        for source, edges in self.out_of.items():
            for edge in edges:
                if reverse:
                    sets[edge.target].add(source)
                else:
                    sets[source].add(edge.target)
        return {ref: sorted(near) for ref, near in sets.items()}


def resolve_ref(graph: Graph, text: str) -> ServiceRef:
    """A service reference from ``namespace/name`` or an unambiguous bare ``name``.

    Raises:
        UsageError: when no service (or several) matches, with a "did you mean".
    """
    parts = parse_service_ref(text)
    if parts is not None:
        ref = ServiceRef(parts[1], parts[2])
        if ref in graph.services:
            return ref
    else:
        matches = [r for r in graph.services if r.name == text]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = ", ".join(str(m) for m in sorted(matches))
            raise UsageError(f"'{text}' is ambiguous: {names}; write namespace/name")
    candidates = [str(r) for r in graph.services] + [r.name for r in graph.services]
    raise UsageError(f"unknown service '{text}'{did_you_mean(text, candidates)}")


def callers(graph: Graph, ref: ServiceRef, index: Index | None = None) -> list[Edge]:
    """Effective edges into ``ref`` (services and infrastructure), sorted by caller."""
    found = (index or Index(graph)).into.get(ref, [])
    return sorted(found, key=lambda e: (str(e.source), e.interface))


def callees(graph: Graph, ref: ServiceRef, index: Index | None = None) -> list[Edge]:
    """Effective edges out of ``ref``, sorted by target."""
    found = (index or Index(graph)).out_of.get(ref, [])
    return sorted(found, key=lambda e: (str(e.target), e.interface))


def dependents(graph: Graph, ref: ServiceRef, index: Index | None = None) -> list[Reach]:
    """Everything that calls ``ref`` directly or indirectly: what breaks if it goes."""
    return _reach(index or Index(graph), ref, reverse=True)


def dependencies(graph: Graph, ref: ServiceRef, index: Index | None = None) -> list[Reach]:
    """Everything ``ref`` needs directly or indirectly."""
    return _reach(index or Index(graph), ref, reverse=False)


def _reach(index: Index, start: ServiceRef, *, reverse: bool) -> list[Reach]:
    with building():
        return _walk(index._adjacency(reverse), start)


def _walk(near: dict[ServiceRef, list[ServiceRef]], start: ServiceRef) -> list[Reach]:
    """Breadth-first from ``start``: each service reached, its distance and first hop."""
    seen: dict[ServiceRef, Reach] = {}
    queue: deque[tuple[ServiceRef, int, ServiceRef | None]] = deque([(start, 0, None)])
    while queue:
        ref, depth, via = queue.popleft()
        for nxt in near.get(ref, ()):
            if nxt in seen or nxt == start:
                continue
            seen[nxt] = Reach(nxt, depth + 1, via or nxt)
            queue.append((nxt, depth + 1, via or nxt))
    return sorted(seen.values(), key=_by_depth)


_by_depth = attrgetter("depth", "service")
_by_target = attrgetter("target", "interface")


def path(
    graph: Graph, start: ServiceRef, end: ServiceRef, index: Index | None = None
) -> list[Edge]:
    """A shortest chain of effective edges from ``start`` to ``end`` (empty when none)."""
    index = index or Index(graph)
    previous: dict[ServiceRef, Edge] = {}
    queue = deque([start])
    while queue and end not in previous:
        ref = queue.popleft()
        for edge in sorted(index.out_of.get(ref, ()), key=_by_target):
            if edge.target not in previous and edge.target != start:
                previous[edge.target] = edge
                queue.append(edge.target)
    if end not in previous:
        return []
    chain = [previous[end]]
    while (source := chain[-1].source.ref) != start and source is not None:
        chain.append(previous[source])
    return chain[::-1]


def exposed(graph: Graph) -> list[Exposure]:
    """Interfaces reachable beyond their own namespace: from the world, ingress, or other namespaces."""
    with building():
        return _exposed(graph)


def _exposed(graph: Graph) -> list[Exposure]:
    sources: dict[tuple[ServiceRef, str], set[str]] = defaultdict(set)
    names: dict[tuple[str, str, str], str] = {}  # str() of each distinct caller, once
    beyond = (EdgeKind.WORLD, EdgeKind.INGRESS)
    into: tuple[ServiceRef | None, str] = (None, "")
    callers: set[str] = set()
    for edge in graph.edges:  # sorted by target and interface: look each pair up once
        source = edge.source
        if edge.kind in beyond or source.namespace != edge.target.namespace:
            key = (source.namespace, source.name, source.kind)
            name = names.get(key)
            if name is None:
                name = names[key] = str(source)
            if edge.target is not into[0] or edge.interface != into[1]:
                into = (edge.target, edge.interface)
                callers = sources[into]
            callers.add(name)
    offered: dict[tuple[ServiceRef, str], Interface] = {}
    for service in graph.services.values():
        for interface in service.interfaces:
            offered[(service.ref, interface.name)] = interface
            wide = [c for c in interface.consumers if _other_namespace(c, service.ref.namespace)]
            if wide:
                sources[(service.ref, interface.name)].update(f"consumers: {c}" for c in wide)
    return [
        Exposure(key[0], offered[key], tuple(sorted(found)))
        for key, found in sorted(sources.items())
        if found and key in offered
    ]


def _other_namespace(consumer: str, namespace: str) -> bool:
    """Whether a ``consumers`` entry admits callers from outside ``namespace``."""
    if consumer[:10] == "namespace:":
        return consumer[10:] != namespace
    return consumer == "*" or consumer[:5] == "team:"


def egress(graph: Graph) -> list[ExternalEdge]:
    """Effective calls out of the cluster, by service."""
    return list(graph.external)


def owners(graph: Graph, ref: ServiceRef) -> Team | None:
    """The team that owns ``ref`` (``None`` when its team is not declared)."""
    return graph.teams.get(graph.services[ref].team)


def explain(
    graph: Graph, source: str, target: ServiceRef, interface: str | None = None
) -> Explanation:
    """Why ``source`` may or may not call ``target`` (optionally one interface of it)."""
    edges = tuple(
        e
        for e in graph.edges
        if e.target == target and _matches(e, source) and interface in (None, e.interface)
    )
    rejected = tuple(
        r
        for r in graph.rejected
        if str(r.source) == source
        and _rejected_target(r) == str(target)
        and interface in (None, r.dependency.interface)
    )
    notes = _notes(graph, source, target, interface, edges, rejected)
    return Explanation(source, target, bool(edges), edges, rejected, notes)


def _matches(edge: Edge, source: str) -> bool:
    return str(edge.source) == source or f"{edge.source.namespace}/{edge.source.name}" == source


def _rejected_target(rejected: RejectedDependency) -> str:
    parts = parse_service_ref(rejected.dependency.service)
    return f"{parts[1]}/{parts[2]}" if parts else rejected.dependency.service


def _notes(
    graph: Graph,
    source: str,
    target: ServiceRef,
    interface: str | None,
    edges: tuple[Edge, ...],
    rejected: tuple[RejectedDependency, ...],
) -> tuple[str, ...]:
    if edges or rejected:
        return ()
    notes = [
        f"{source} declares no dependency on {target}"
        + (f" interface '{interface}'" if interface else "")
    ]
    service = graph.services.get(target)
    if service is not None:
        offered = (
            ", ".join(f"{i.name} ({i.port}/{i.protocol})" for i in service.interfaces) or "none"
        )
        notes.append(f"{target} offers: {offered}")
        notes.append("traffic not declared is denied by every compiled target (default deny)")
    return tuple(notes)

"""Questions about the graph: who calls X, what breaks if X goes, how A reaches B, why a call is allowed.

Pure functions over a :class:`~trustmap.model.Graph`; the CLI and the server render their answers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise, repeat
from operator import attrgetter, itemgetter

from trustmap.bulk import building
from trustmap.errors import UsageError
from trustmap.model import (
    Edge,
    EdgeKind,
    Endpoint,
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
    "ExposedInterface",
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
class ExposedInterface:
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
    """Adjacency of a graph's effective edges, built once per graph.

    Transitive questions walk a graph of small integers: each service is numbered in sorted
    order, so sorted neighbour lists of numbers are sorted lists of services, and a walk over
    ten thousand services compares and hashes integers instead of references.
    """

    def __init__(self, graph: Graph) -> None:
        with building():
            self._index(graph)

    def _index(self, graph: Graph) -> None:
        self.graph = graph
        self.into: dict[ServiceRef, list[Edge]] = defaultdict(list)
        self.out_of: dict[ServiceRef, list[Edge]] = defaultdict(list)
        # The service each calling endpoint is, by identity (a caller's edges share one).
        self._callers: dict[int, ServiceRef] = {}
        into, lists, others = self.into, dict[int, list[Edge]](), list[Edge]()
        target, callers = None, []
        for edge in graph.edges:  # sorted by target: look each target up once
            if edge.target is not target:
                target = edge.target
                callers = into[target]
            callers.append(edge)
            source = edge.source
            out = lists.get(id(source))
            if out is None:
                out = lists[id(source)] = self._edges_from(source, others)
            out.append(edge)
        self._numbers: _Numbered | None = None

    def _edges_from(self, source: Endpoint, others: list[Edge]) -> list[Edge]:
        """The list that collects the edges out of ``source``: ``others`` unless it is a service."""
        if source.kind != "service":
            return others
        ref = self._callers[id(source)] = ServiceRef(source.namespace, source.name)
        return self.out_of[ref]

    def neighbours(self, ref: ServiceRef, *, reverse: bool) -> list[ServiceRef]:
        """Services one effective dependency away (callers when ``reverse``), sorted."""
        numbered = self.numbered()
        n = numbered.ids.get(ref)
        if n is None:
            return []
        return [numbered.refs[m] for m in numbered.near(reverse)[n]]

    def numbered(self) -> _Numbered:
        """The services of the dependency edges as numbers, computed on first use."""
        if self._numbers is None:
            with building():
                self._numbers = _Numbered(self.into, self._callers)
        return self._numbers


def _order(ref: ServiceRef) -> tuple[str, str, bool, str]:
    """The order of references (as they sort, but never comparing a cluster with ``None``)."""
    return (ref.namespace, ref.name, ref.cluster is not None, ref.cluster or "")


class _Numbered:
    """Services numbered in sorted order, with sorted callee and caller numbers of each."""

    def __init__(self, into: dict[ServiceRef, list[Edge]], callers: dict[int, ServiceRef]) -> None:
        self.refs = _sorted_refs(set(into).union(callers.values()))
        self.ids = ids = {ref: n for n, ref in enumerate(self.refs)}
        numbers = {key: ids[ref] for key, ref in callers.items()}  # of each calling endpoint
        self.callers: list[list[int]] = [[] for _ in self.refs]
        for target, edges in into.items():
            found = set(map(numbers.get, map(id, map(_source, edges)), repeat(-1)))
            found.discard(-1)  # infrastructure callers
            self.callers[ids[target]] = sorted(found)
        self.callees: list[list[int]] = [[] for _ in self.refs]
        for m, near in enumerate(self.callers):  # in callee order, so each list comes sorted
            for n in near:
                self.callees[n].append(m)

    def near(self, reverse: bool) -> list[list[int]]:
        """Sorted neighbour numbers of each service number: callers when ``reverse``."""
        return self.callers if reverse else self.callees


_source = attrgetter("source")


def _sorted_refs(refs: set[ServiceRef]) -> list[ServiceRef]:
    """References sorted, comparing in C unless some differ only by a cluster and ``None``."""
    try:
        return sorted(refs)
    except TypeError:
        return sorted(refs, key=_order)


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
        numbered = index.numbered()
        n = numbered.ids.get(start)
        if n is None:
            return []
        refs = numbered.refs
        return [
            Reach(refs[m], depth, refs[via]) for depth, m, via in _walk(numbered.near(reverse), n)
        ]


def _walk(near: list[list[int]], start: int) -> list[tuple[int, int, int]]:
    """Breadth-first from ``start``: ``(distance, number, first hop)`` of each node reached, sorted."""
    seen = [False] * len(near)
    seen[start] = True
    found = []
    for m in near[start]:
        if not seen[m]:  # a service may call itself
            seen[m] = True
            found.append((1, m, m))
    for depth, n, via in found:  # the list is the queue: what is found is walked from in order
        for m in near[n]:
            if not seen[m]:
                seen[m] = True
                found.append((depth + 1, m, via))
    found.sort()  # distance, then service: numbers are in service order
    return found


def path(
    graph: Graph, start: ServiceRef, end: ServiceRef, index: Index | None = None
) -> list[Edge]:
    """A shortest chain of effective edges from ``start`` to ``end`` (empty when none).

    Of several, the one a breadth-first walk finds taking each service's edges in target and
    interface order.
    """
    index = index or Index(graph)
    numbered = index.numbered()
    first, last = numbered.ids.get(start), numbered.ids.get(end)
    if first is None or last is None or first == last:
        return []
    previous = _previous(numbered.callees, first, last)
    if last not in previous:
        return []
    hops = [last]
    while hops[-1] != first:
        hops.append(previous[hops[-1]])
    refs = numbered.refs
    return [_first_edge(index.out_of[refs[a]], refs[b]) for a, b in pairwise(reversed(hops))]


def _previous(near: list[list[int]], start: int, end: int) -> dict[int, int]:
    """Breadth-first from ``start`` until ``end`` is reached: the node each node was reached from."""
    previous = {start: start}
    queue = [start]
    for n in queue:
        for m in near[n]:
            if m not in previous:
                previous[m] = n
                queue.append(m)
        if end in previous:
            break
    return previous


def _first_edge(edges: list[Edge], target: ServiceRef) -> Edge:
    """The first edge to ``target`` in interface order (the first listed, of equals)."""
    return min((e for e in edges if e.target == target), key=_by_interface)


_by_interface = attrgetter("interface")


def exposed(graph: Graph) -> list[ExposedInterface]:
    """Interfaces reachable beyond their own namespace: from the world, ingress, or other namespaces."""
    with building():
        return _exposed(graph)


def _exposed(graph: Graph) -> list[ExposedInterface]:
    beyond = _callers_beyond(graph)
    found: list[tuple[ServiceRef, str, Interface, set[str]]] = []
    for service in graph.services.values():
        ref, offered = service.ref, dict[str, Interface]()
        into = beyond.get(ref, {})
        for interface in service.interfaces:
            offered[interface.name] = interface  # the last of a duplicated name, as before
            wide = [
                f"consumers: {c}"
                for c in interface.consumers
                if (c == "*" or ":" in c) and _other_namespace(c, ref.namespace)
            ]
            if wide:
                into.setdefault(interface.name, set()).update(wide)
        found.extend((ref, name, i, into[name]) for name, i in offered.items() if into.get(name))
    found.sort(key=_by_interface_key)
    return [
        ExposedInterface(ref, interface, tuple(sorted(names))) for ref, _, interface, names in found
    ]


_by_interface_key = itemgetter(0, 1)


def _callers_beyond(graph: Graph) -> dict[ServiceRef, dict[str, set[str]]]:
    """Callers of each service's interfaces from the world, ingress or another namespace."""
    found: dict[ServiceRef, dict[str, set[str]]] = {}
    callers: dict[int, tuple[str, str]] = {}  # namespace and name of each calling endpoint, once
    outside = (EdgeKind.WORLD, EdgeKind.INGRESS)
    target, namespace, into = None, "", dict[str, set[str]]()
    for edge in graph.edges:  # sorted by target: look each target up once
        if edge.target is not target:
            target, namespace = edge.target, edge.target.namespace
            into = found.setdefault(target, {})
        source = edge.source
        caller = callers.get(id(source))
        if caller is None:
            caller = callers[id(source)] = (source.namespace, str(source))
        if caller[0] != namespace or edge.kind in outside:
            names = into.get(edge.interface)
            if names is None:
                names = into[edge.interface] = set()
            names.add(caller[1])
    return found


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

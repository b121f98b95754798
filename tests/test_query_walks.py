"""Transitive queries on numbered services answer what a plain walk over references answers.

The oracles below are the straightforward breadth-first walks over ``ServiceRef`` adjacency
that the numbered index replaced; random organisations (duplicate interfaces, several
interfaces per target, cycles, self-calls, world/ingress/platform callers, wide consumers)
are built by the real graph builder.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from operator import attrgetter

from hypothesis import given, settings
from hypothesis import strategies as st

from trustmap import query as q
from trustmap.diagnostics import Span
from trustmap.graph import build_graph
from trustmap.model import (
    Dependency,
    Edge,
    Graph,
    IngressController,
    Interface,
    Organization,
    PlatformConsumer,
    Service,
    ServiceRef,
    Workload,
)
from trustmap.schema import Declarations

TODAY = dt.date(2026, 11, 23)
REFS = [ServiceRef(ns, name) for ns in ("a", "b") for name in ("p", "q", "r", "s")]
ORG = Organization(
    "org",
    ingress_controllers=(IngressController("a", (("app", "nginx"),), "nginx"),),  # in namespace a
    platform_consumers=(PlatformConsumer("prom", "mon", (("app", "prom"),), "prom", ("metrics",)),),
)


def _interface(name: str, exposure: str, consumers: tuple[str, ...]) -> Interface:
    return Interface(name, 80, 80, "TCP", None, exposure, consumers, (), Span("i.yaml", 1))  # type: ignore[arg-type]


interfaces = st.lists(
    st.builds(
        _interface,
        st.sampled_from(["grpc", "http", "metrics"]),
        st.sampled_from(["internal", "internal", "ingress", "world"]),
        st.lists(
            st.sampled_from([*(str(r) for r in REFS), "*", "namespace:a", "team:t", "namespace:z"]),
            max_size=4,
        ).map(tuple),
    ),
    max_size=3,
).map(tuple)
dependencies = st.lists(
    st.builds(
        lambda ref, interface: Dependency(str(ref), interface, (), "why", None, None, Span("d", 1)),
        st.sampled_from(REFS),
        st.sampled_from(["grpc", "http", "metrics"]),
    ),
    max_size=5,
).map(tuple)


def _service(
    ref: ServiceRef, offered: tuple[Interface, ...], deps: tuple[Dependency, ...]
) -> Service:
    return Service(ref, "t", Workload(ref.name, (("app", ref.name),)), offered, deps, ())


organisations = st.lists(
    st.tuples(interfaces, dependencies), min_size=len(REFS), max_size=len(REFS)
).map(
    lambda specs: build_graph(
        Declarations(
            (ORG,), (), tuple(_service(r, i, d) for r, (i, d) in zip(REFS, specs, strict=True))
        ),
        TODAY,
    )
)


def _near(graph: Graph, *, reverse: bool) -> dict[ServiceRef, list[ServiceRef]]:
    sets: dict[ServiceRef, set[ServiceRef]] = defaultdict(set)
    for edge in graph.edges:
        source = edge.source.ref
        if source is not None:
            a, b = (edge.target, source) if reverse else (source, edge.target)
            sets[a].add(b)
    return {ref: sorted(found) for ref, found in sets.items()}


def _walk(graph: Graph, start: ServiceRef, *, reverse: bool) -> list[q.Reach]:
    near, seen = _near(graph, reverse=reverse), dict[ServiceRef, q.Reach]()
    queue: deque[tuple[ServiceRef, int, ServiceRef | None]] = deque([(start, 0, None)])
    while queue:
        ref, depth, via = queue.popleft()
        for nxt in near.get(ref, ()):
            if nxt not in seen and nxt != start:
                seen[nxt] = q.Reach(nxt, depth + 1, via or nxt)
                queue.append((nxt, depth + 1, via or nxt))
    return sorted(seen.values(), key=attrgetter("depth", "service"))


def _path(graph: Graph, start: ServiceRef, end: ServiceRef) -> list[Edge]:
    out_of: dict[ServiceRef, list[Edge]] = defaultdict(list)
    for edge in graph.edges:
        if edge.source.ref is not None:
            out_of[edge.source.ref].append(edge)
    previous: dict[ServiceRef, Edge] = {}
    queue = deque([start])
    while queue and end not in previous:
        for edge in sorted(out_of[queue.popleft()], key=attrgetter("target", "interface")):
            if edge.target not in previous and edge.target != start:
                previous[edge.target] = edge
                queue.append(edge.target)
    if end not in previous:
        return []
    chain = [previous[end]]
    while (source := chain[-1].source.ref) != start and source is not None:
        chain.append(previous[source])
    return chain[::-1]


def _exposed(graph: Graph) -> list[tuple[ServiceRef, Interface, tuple[str, ...]]]:
    sources: dict[tuple[ServiceRef, str], set[str]] = defaultdict(set)
    for edge in graph.edges:
        if edge.kind in ("world", "ingress") or edge.source.namespace != edge.target.namespace:
            sources[(edge.target, edge.interface)].add(str(edge.source))
    offered = {}
    for service in graph.services.values():
        for interface in service.interfaces:
            offered[(service.ref, interface.name)] = interface
            for c in interface.consumers:
                if (
                    c == "*"
                    or c.startswith("team:")
                    or (c.startswith("namespace:") and c[10:] != service.ref.namespace)
                ):
                    sources[(service.ref, interface.name)].add(f"consumers: {c}")
    return [
        (key[0], offered[key], tuple(sorted(found)))
        for key, found in sorted(sources.items())
        if key in offered
    ]


@settings(max_examples=200, deadline=None)
@given(organisations)
def test_walks_paths_and_exposure_match_walks_over_references(graph: Graph) -> None:
    index = q.Index(graph)
    for start in REFS:
        assert q.dependents(graph, start, index) == _walk(graph, start, reverse=True)
        assert q.dependencies(graph, start, index) == _walk(graph, start, reverse=False)
        for reverse in (False, True):
            assert index.neighbours(start, reverse=reverse) == _near(graph, reverse=reverse).get(
                start, []
            )
        for end in REFS:
            assert q.path(graph, start, end, index) == _path(graph, start, end)
    assert [(e.service, e.interface, e.sources) for e in q.exposed(graph)] == _exposed(graph)


def test_an_unknown_service_reaches_nothing_and_has_no_path() -> None:
    graph = build_graph(Declarations((ORG,), (), (_service(REFS[0], (), ()),)), TODAY)
    nowhere = ServiceRef("x", "y")
    assert q.dependents(graph, nowhere) == []
    assert q.path(graph, nowhere, REFS[0]) == []
    assert q.Index(graph).neighbours(nowhere, reverse=True) == []

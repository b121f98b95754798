"""Server-side graph layout for the web UI, so a 1,000-service organisation never draws blank.

Two views, both bounded in size whatever the organisation's: the overview aggregates services
into one node per team (edge weight = number of flows between the teams) placed by a seeded
force layout; the drill-down shows one team's or namespace's services in a middle column, with
their outside callers on the left and callees on the right, grouped by team beyond a few dozen.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import networkx as nx

from trustmap.model import Graph, ServiceRef

__all__ = ["Drawing", "Line", "Node", "focus_view", "team_overview"]

WIDTH = 1100
ROW = 26
MAX_SIDE = 40


@dataclass(frozen=True, slots=True)
class Node:
    """A box or circle to draw."""

    key: str
    label: str
    x: float
    y: float
    r: float
    kind: str
    href: str
    title: str


@dataclass(frozen=True, slots=True)
class Line:
    """A connection between two nodes."""

    x1: float
    y1: float
    x2: float
    y2: float
    width: float
    title: str
    kind: str


@dataclass(frozen=True, slots=True)
class Drawing:
    """A laid-out view: what to draw and how big the canvas is."""

    width: int
    height: int
    nodes: tuple[Node, ...]
    lines: tuple[Line, ...]
    caption: str


def _team_flows(graph: Graph) -> Counter[tuple[str, str]]:
    flows: Counter[tuple[str, str]] = Counter()
    for edge in graph.edges:
        target = graph.services[edge.target].team
        source_ref = edge.source.ref
        if source_ref is not None and source_ref in graph.services:
            source = graph.services[source_ref].team
        else:
            source = f"{edge.source.kind}:{edge.source.name}"
        if source != target:
            flows[(source, target)] += 1
    return flows


def team_overview(graph: Graph, namespace: str | None = None) -> Drawing:
    """One node per team (or per outside caller kind), sized by services; drill down by click."""
    sizes = Counter(
        s.team for r, s in graph.services.items() if namespace is None or r.namespace == namespace
    )
    flows = {
        k: v
        for k, v in _team_flows(graph).items()
        if k[1] in sizes and (k[0] in sizes or ":" in k[0])
    }
    names = sorted(set(sizes) | {s for s, _ in flows})
    height = min(680, 220 + 50 * len(names))
    positions = _positions(names, flows, height)
    nodes = tuple(
        Node(
            name,
            name,
            *positions[name],
            r=8 + 4 * math.sqrt(sizes.get(name, 1)),
            kind="external" if ":" in name else "team",
            href="" if ":" in name else f"/?team={quote(name)}",
            title=f"{name}: {sizes.get(name, 0)} services" if ":" not in name else name,
        )
        for name in names
    )
    placed = {n.key: n for n in nodes}
    lines = tuple(
        Line(
            placed[s].x,
            placed[s].y,
            placed[t].x,
            placed[t].y,
            min(1 + math.log2(c), 8),
            f"{s} → {t}: {c} flows",
            "flow",
        )
        for (s, t), c in sorted(flows.items())
    )
    scope = f" in namespace {namespace}" if namespace else ""
    caption = (
        f"{len(sizes)} teams, {sum(sizes.values())} services{scope}; click a team to drill down"
    )
    return Drawing(WIDTH, height, nodes, lines, caption)


def _positions(
    names: list[str], flows: dict[tuple[str, str], int], height: int
) -> dict[str, tuple[float, float]]:
    if not names:
        return {}
    if len(names) == 1:
        return {names[0]: (WIDTH / 2, height / 2)}
    g: nx.Graph[str] = nx.Graph()
    g.add_nodes_from(names)
    g.add_weighted_edges_from((s, t, math.log2(1 + c)) for (s, t), c in flows.items())
    layout: dict[str, Any]
    if len(names) > 400:
        layout = nx.circular_layout(g)
    else:
        layout = nx.spring_layout(g, seed=7, k=1.6 / math.sqrt(len(names)), iterations=60)
    xs = [float(p[0]) for p in layout.values()]
    ys = [float(p[1]) for p in layout.values()]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    return {
        n: (
            70 + (float(p[0]) - min(xs)) / span_x * (WIDTH - 140),
            60 + (float(p[1]) - min(ys)) / span_y * (height - 140),
        )
        for n, p in layout.items()
    }


def focus_view(graph: Graph, chosen: Callable[[ServiceRef], bool], caption: str) -> Drawing:
    """Chosen services in the middle, outside callers left, callees right (grouped when many)."""
    middle = [r for r in graph.services if chosen(r)]
    inside = set(middle)
    into = [e for e in graph.edges if e.target in inside and e.source.ref not in inside]
    out = [e for e in graph.edges if e.source.ref in inside and e.target not in inside]
    internal = [e for e in graph.edges if e.source.ref in inside and e.target in inside]
    left_groups = _groups(graph, sorted({str(e.source) for e in into}))
    right_groups = _groups(graph, sorted({str(e.target) for e in out}))
    rows = max(len(middle), len(set(left_groups.values())), len(set(right_groups.values())), 1)
    mid = _place(
        {str(r): (r.name, f"/services/{r.namespace}/{r.name}") for r in middle},
        500,
        rows,
        "service",
    )
    left = _place(left_groups, 250, rows, "caller")
    right = _place(right_groups, 800, rows, "callee")
    pairs = [(left[str(e.source)], mid[str(e.target)], "in") for e in into]
    pairs += [(mid[str(e.source.ref)], right[str(e.target)], "out") for e in out]
    pairs += [(mid[str(e.source.ref)], mid[str(e.target)], "internal") for e in internal]
    nodes = {n.key: n for n in (*left.values(), *mid.values(), *right.values())}
    return Drawing(WIDTH, 60 + rows * ROW, tuple(nodes.values()), _lines(pairs), caption)


def _groups(graph: Graph, peers: list[str]) -> dict[str, tuple[str, str]]:
    """Each peer's (label, link); beyond :data:`MAX_SIDE` peers, services collapse into teams."""
    if len(peers) <= MAX_SIDE:
        return {p: (p, _href(p)) for p in peers}
    teams = {p: _team_of(graph, p) for p in peers}
    sizes = Counter(teams.values())
    return {p: (f"team {t} ({sizes[t]} services)", f"/?team={quote(t)}") for p, t in teams.items()}


def _team_of(graph: Graph, peer: str) -> str:
    namespace, _, name = peer.partition("/")
    service = graph.services.get(ServiceRef(namespace, name))
    return service.team if service else peer


def _href(peer: str) -> str:
    namespace, slash, name = peer.partition("/")
    return f"/services/{namespace}/{name}" if slash and ":" not in peer else ""


def _place(items: dict[str, tuple[str, str]], x: float, rows: int, kind: str) -> dict[str, Node]:
    """One node per distinct (label, link), centred in a column; every item maps to its node."""
    distinct = sorted(set(items.values()))
    top = 40 + (rows - len(distinct)) * ROW / 2
    placed = {
        group: Node(f"{kind}:{group[0]}", group[0], x, top + i * ROW, 7, kind, group[1], group[0])
        for i, group in enumerate(distinct)
    }
    return {key: placed[group] for key, group in items.items()}


def _lines(pairs: Iterable[tuple[Node, Node, str]]) -> tuple[Line, ...]:
    counts: Counter[tuple[str, str, str]] = Counter()
    nodes: dict[str, Node] = {}
    for a, b, kind in pairs:
        counts[(a.key, b.key, kind)] += 1
        nodes[a.key], nodes[b.key] = a, b
    return tuple(
        Line(
            nodes[a].x,
            nodes[a].y,
            nodes[b].x,
            nodes[b].y,
            min(1 + math.log2(c), 6),
            f"{nodes[a].label} → {nodes[b].label}" + (f": {c} flows" if c > 1 else ""),
            kind,
        )
        for (a, b, kind), c in sorted(counts.items())
    )

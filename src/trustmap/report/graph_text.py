"""The organisation graph as Graphviz DOT and Mermaid flowchart text that the real tools render.

Both writers walk the same groups (namespace → team → services) and close every group they open,
so a picture with many teams stays well formed. Identifiers come from :class:`_Ids`, which gives
each kind of thing (namespace group, team group, service, caller, egress destination) its own
prefix and never hands the same identifier to two things: Mermaid rejects a subgraph whose id is
also a node's, and a collision in DOT would silently merge two boxes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from trustmap.model import Edge, ExternalEdge, Graph, Service

__all__ = ["render_dot", "render_mermaid"]


class _Ids:
    """Readable, unique identifiers: ``svc_default_frontend``, ``team_default_cart_team``, …"""

    def __init__(self) -> None:
        self._given: dict[tuple[str, str], str] = {}
        self._taken: set[str] = set()

    def __call__(self, kind: str, key: str) -> str:
        found = self._given.get((kind, key))
        if found is not None:
            return found
        slug = kind + "_" + "".join(c if c.isascii() and c.isalnum() else "_" for c in key)
        unique, n = slug, 1
        while unique in self._taken:
            n += 1
            unique = f"{slug}_{n}"
        self._given[(kind, key)] = unique
        self._taken.add(unique)
        return unique


@dataclass(frozen=True, slots=True)
class _Arrows:
    """How one syntax writes the lines :func:`_arrow_lines` walks, given their node ids: a caller
    that is not a declared service, a call, an egress destination, a call to that destination."""

    peer: Callable[[str, Edge], str]
    call: Callable[[str, str, Edge], str]
    destination: Callable[[str, ExternalEdge], str]
    egress: Callable[[str, str, ExternalEdge], str]


def _arrow_lines(graph: Graph, ids: _Ids, arrows: _Arrows) -> Iterator[str]:
    """Every call and egress as ``arrows`` writes them, each node outside the groups once."""
    declared: set[str] = set()
    for edge in graph.edges:
        source = _source_id(edge, ids)
        if edge.source.ref is None and source not in declared:
            declared.add(source)
            yield arrows.peer(source, edge)
        yield arrows.call(source, ids("svc", str(edge.target)), edge)
    for ext in graph.external:
        node = ids("ext", ext.egress.destination)
        if node not in declared:
            declared.add(node)
            yield arrows.destination(node, ext)
        yield arrows.egress(ids("svc", str(ext.source)), node, ext)


def _groups(graph: Graph) -> list[tuple[str, list[tuple[str, list[Service]]]]]:
    groups: dict[str, dict[str, list[Service]]] = defaultdict(lambda: defaultdict(list))
    for service in graph.services.values():
        groups[service.ref.namespace][service.team].append(service)
    return [
        (namespace, sorted((team, sorted(s, key=lambda x: x.ref)) for team, s in teams.items()))
        for namespace, teams in sorted(groups.items())
    ]


def edge_label(edge: Edge) -> str:
    """``interface port/protocol``, and how many methods when the call is limited to some."""
    count = len(edge.methods)
    methods = f" · {count} method{'s' if count > 1 else ''}" if count else ""
    return f"{edge.interface} {edge.port}/{edge.protocol}{methods}"


def edge_tooltip(edge: Edge) -> str:
    """Caller, target, interface and every allowed method (an SVG title on hover)."""
    methods = ", ".join(edge.methods) or "all methods"
    return (
        f"{edge.source} → {edge.target} · {edge.interface} {edge.port}/{edge.protocol} · {methods}"
    )


def _egress_label(ext: ExternalEdge) -> str:
    ports = ",".join(f"{p.port}/{p.protocol}" for p in ext.egress.ports)
    return ports or "all ports"


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def render_dot(graph: Graph) -> str:
    """A ``digraph``: one cluster per namespace, one per team inside it, dashed edges for egress."""
    ids = _Ids()
    lines = [
        "digraph trustmap {",
        "  rankdir=LR;",
        "  newrank=true;",
        '  node [shape=box, style="rounded"];',
    ]
    for namespace, teams in _groups(graph):
        lines.append(f"  subgraph {ids('cluster_ns', namespace)} {{")
        lines.append(f"    label={_dot_text('namespace ' + namespace)};")
        for team, services in teams:
            lines.append(f"    subgraph {ids('cluster_team', namespace + '/' + team)} {{")
            lines.append(f"      label={_dot_text('team ' + team)}; style=dashed;")
            lines += [
                f"      {ids('svc', str(s.ref))} [label={_dot_text(s.ref.name)}];" for s in services
            ]
            lines.append("    }")
        lines.append("  }")
    lines += _arrow_lines(graph, ids, _DOT_ARROWS)
    lines.append("}")
    return "\n".join(lines) + "\n"


_DOT_ARROWS = _Arrows(
    peer=lambda node, edge: (
        f"  {node} [label={_dot_text(str(edge.source))}, shape=ellipse, style=dashed];"
    ),
    call=lambda source, target, edge: (
        f"  {source} -> {target} "
        f"[label={_dot_text(edge_label(edge))}, tooltip={_dot_text(edge_tooltip(edge))}];"
    ),
    destination=lambda node, ext: (
        f"  {node} [label={_dot_text(ext.egress.destination)}, shape=note];"
    ),
    egress=lambda source, node, ext: (
        f"  {source} -> {node} [style=dashed, label={_dot_text(_egress_label(ext))}];"
    ),
)


def _source_id(edge: Edge, ids: _Ids) -> str:
    if edge.source.ref is not None:
        return ids("svc", str(edge.source.ref))
    return ids("peer", str(edge.source))


def _mermaid_text(text: str) -> str:
    """A quoted Mermaid label; quotes and the characters Mermaid reads as markup become entities."""
    escaped = "".join(_MERMAID_ENTITIES.get(c, c) for c in text)
    return f'"{escaped}"'


_MERMAID_ENTITIES = {'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "|": "#124;"}


def render_mermaid(graph: Graph) -> str:
    """A ``flowchart LR`` with a subgraph per namespace and team; egress as dotted arrows."""
    ids = _Ids()
    lines = ["flowchart LR"]
    for namespace, teams in _groups(graph):
        lines.append(
            f"  subgraph {ids('ns', namespace)}[{_mermaid_text('namespace ' + namespace)}]"
        )
        for team, services in teams:
            group = ids("team", namespace + "/" + team)
            lines.append(f"    subgraph {group}[{_mermaid_text('team ' + team)}]")
            lines += [
                f"      {ids('svc', str(s.ref))}[{_mermaid_text(s.ref.name)}]" for s in services
            ]
            lines.append("    end")
        lines.append("  end")
    lines += _arrow_lines(graph, ids, _MERMAID_ARROWS)
    return "\n".join(lines) + "\n"


_MERMAID_ARROWS = _Arrows(
    peer=lambda node, edge: f"  {node}([{_mermaid_text(str(edge.source))}])",
    call=lambda source, target, edge: f"  {source} -->|{_mermaid_text(edge_label(edge))}| {target}",
    destination=lambda node, ext: f"  {node}[/{_mermaid_text(ext.egress.destination)}/]",
    egress=lambda source, node, ext: f"  {source} -.->|{_mermaid_text(_egress_label(ext))}| {node}",
)

"""Query answers as terminal tables (rich) and as JSON-ready data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from trustmap.model import Edge, ExternalEdge, Team
from trustmap.query import Explanation, ExposedInterface, Reach
from trustmap.report.graph import edge_to_dict, rejected_to_dict

__all__ = [
    "edges_table",
    "egress_table",
    "explanation_data",
    "explanation_lines",
    "exposure_data",
    "exposure_table",
    "plain_table",
    "reach_data",
    "reach_table",
    "team_data",
]


LARGE_TABLE = 1000
"""Rows from which a table is printed as plain aligned text: rich needs ~0.6 ms a row to lay
one out, i.e. seconds for the 10,000-row answers of a large organisation."""


def plain_table(table: Table) -> str:
    """``table`` as plain text: title, header, a rule, then one line per row, columns aligned
    by width and separated by two spaces (what terminals and ``grep`` handle at any size)."""
    columns = [[str(column.header), *map(str, column.cells)] for column in table.columns]
    widths = [max(map(len, cells)) for cells in columns]
    lines = [] if table.title is None else [str(table.title)]
    for number in range(table.row_count + 1):
        cells = [column[number].ljust(width) for column, width in zip(columns, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines) + "\n"


def _methods(methods: Sequence[str]) -> str:
    if not methods:
        return "any"
    return ", ".join(methods[:3]) + (f" (+{len(methods) - 3})" if len(methods) > 3 else "")


def edges_table(title: str, edges: Sequence[Edge], *, other: str) -> Table:
    """Edges with the other end (``source`` or ``target``), port, methods, reason and origin."""
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in (other, "interface", "port", "methods", "reason", "declared at"):
        table.add_column(column, overflow="fold")
    for edge in edges:
        peer = str(edge.source) if other == "caller" else str(edge.target)
        table.add_row(
            peer,
            edge.interface,
            f"{edge.port}/{edge.protocol}",
            _methods(edge.methods),
            edge.reason or "",
            str(edge.declared_at),
        )
    return table


def reach_table(title: str, reached: Sequence[Reach]) -> Table:
    """Transitive answers: service, hops away, first hop."""
    table = Table(title=title, title_justify="left")
    for column in ("service", "hops", "via"):
        table.add_column(column)
    for item in reached:
        table.add_row(str(item.service), str(item.depth), str(item.via) if item.depth > 1 else "—")
    return table


def reach_data(reached: Sequence[Reach]) -> list[dict[str, Any]]:
    """Transitive answers as JSON-ready data."""
    return [{"service": str(r.service), "hops": r.depth, "via": str(r.via)} for r in reached]


def exposure_table(exposures: Sequence[ExposedInterface]) -> Table:
    """Interfaces reachable beyond their namespace."""
    table = Table(title="interfaces reachable beyond their namespace", title_justify="left")
    for column in ("service", "interface", "port", "exposure", "reachable from"):
        table.add_column(column, overflow="fold")
    for item in exposures:
        i = item.interface
        table.add_row(
            str(item.service), i.name, f"{i.port}/{i.protocol}", i.exposure, ", ".join(item.sources)
        )
    return table


def exposure_data(exposures: Sequence[ExposedInterface]) -> list[dict[str, Any]]:
    """Exposed interfaces as JSON-ready data."""
    return [
        {
            "service": str(e.service),
            "interface": e.interface.name,
            "port": e.interface.port,
            "protocol": e.interface.protocol,
            "exposure": e.interface.exposure,
            "reachableFrom": list(e.sources),
        }
        for e in exposures
    ]


def egress_table(edges: Sequence[ExternalEdge]) -> Table:
    """Services that initiate traffic out of the cluster."""
    table = Table(title="traffic leaving the cluster", title_justify="left")
    for column in ("service", "destination", "ports", "reason", "declared at"):
        table.add_column(column, overflow="fold")
    for edge in edges:
        ports = ", ".join(f"{p.port}/{p.protocol}" for p in edge.egress.ports) or "all"
        table.add_row(
            str(edge.source),
            edge.egress.destination,
            ports,
            edge.egress.reason or "",
            str(edge.egress.span),
        )
    return table


def team_data(team: Team | None, name: str) -> dict[str, Any]:
    """A team's owners as JSON-ready data."""
    if team is None:
        return {"team": name, "declared": False, "owners": [], "namespaces": []}
    return {
        "team": team.name,
        "declared": True,
        "owners": list(team.owners),
        "namespaces": list(team.namespaces),
        "declaredAt": str(team.span),
    }


def explanation_data(answer: Explanation) -> dict[str, Any]:
    """An explanation as JSON-ready data."""
    return {
        "source": answer.source,
        "target": str(answer.target),
        "allowed": answer.allowed,
        "edges": [edge_to_dict(e) for e in answer.edges],
        "rejected": [rejected_to_dict(r) for r in answer.rejected],
        "notes": list(answer.notes),
    }


_DECLARED_BY = {
    "ingress": "let in by the Organization's ingress controller entry",
    "platform": "let in by the Organization's platform consumer entry",
    "world": "open to the world by the provider's exposure",
}


def _declared_by(edge: Edge) -> str:
    """Who declared the edge: the caller, or the Organization for infrastructure callers."""
    return _DECLARED_BY.get(edge.kind.value, "declared by the caller")


def explanation_lines(answer: Explanation) -> list[str]:
    """An explanation as plain lines for a person reading a terminal."""
    verdict = "ALLOWED" if answer.allowed else "DENIED"
    lines = [f"{answer.source} → {answer.target}: {verdict}"]
    for edge in answer.edges:
        lines += [
            f"  allowed on {edge.interface} {edge.port}/{edge.protocol}, methods: {_methods(edge.methods)}",
            f"    why: {edge.reason or '—'}  ({edge.kind.value})",
            f"    {_declared_by(edge)} at {edge.declared_at}",
            f"    offered by the provider at {edge.offered_at}",
        ]
        if edge.approved_by or edge.expires:
            lines.append(
                f"    approved by: {edge.approved_by or '—'}; expires: {edge.expires or 'never'}"
            )
    for rejected in answer.rejected:
        dep = rejected.dependency
        lines.append(f"  declared at {dep.span} but left out of every policy:")
        lines += [f"    ✗ {condition}" for condition in rejected.failed]
        if dep.reason:
            lines.append(f"    reason given: {dep.reason}")
    lines += [f"  {note}" for note in answer.notes]
    return lines

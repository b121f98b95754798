"""``trustmap query``: who calls X, whom X calls, what breaks if X goes, paths, exposure, egress, owners."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import click

from trustmap import query as q
from trustmap.cli.common import (
    echo_json,
    fail,
    load,
    note_findings,
    now_option,
    out,
    print_table,
)
from trustmap.cli.registry_source import paths_or_server
from trustmap.errors import UsageError
from trustmap.model import Edge, Graph, ServiceRef
from trustmap.report.graph import edge_to_dict, external_to_dict
from trustmap.report.tables import (
    edges_table,
    egress_table,
    exposure_data,
    exposure_table,
    reach_data,
    reach_table,
    team_data,
)

__all__ = ["query"]

_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)

_EPILOG = """\b
Examples (PATH defaults to the current directory):
  trustmap query callers default/cartservice examples/online-boutique
  trustmap query dependents productcatalogservice examples/online-boutique   # blast radius
  trustmap query path loadgenerator redis-cart examples/online-boutique
  trustmap query exposed examples/online-boutique --format json
"""


@click.group(epilog=_EPILOG)
def query() -> None:
    """Ask the organisation graph a question. SERVICE is namespace/name or an unambiguous name."""


def _ref(graph: Graph, text: str) -> ServiceRef:
    try:
        return q.resolve_ref(graph, text)
    except UsageError as error:
        fail(str(error), "list services with `trustmap graph PATH --format json`")


def _graph(paths: tuple[str, ...], today: dt.date) -> Graph:
    graph = load(paths, today)
    note_findings(graph)
    return graph


def _edges_command(
    name: str, find: Callable[[Graph, ServiceRef], list[Edge]], title: str, other: str, doc: str
) -> None:
    """Register ``query NAME SERVICE``: a table of effective edges at one end of SERVICE."""

    @query.command(name=name, help=doc)
    @click.argument("service")
    @paths_or_server
    @now_option
    @_FORMAT
    def command(service: str, paths: tuple[str, ...], today: dt.date, fmt: str) -> None:
        graph = _graph(paths, today)
        edges = find(graph, _ref(graph, service))
        if fmt == "json":
            echo_json([edge_to_dict(e) for e in edges])
        else:
            print_table(edges_table(f"{title} {service} ({len(edges)})", edges, other=other))


def _reach_command(
    name: str, find: Callable[[Graph, ServiceRef], list[q.Reach]], title: str, doc: str
) -> None:
    """Register ``query NAME SERVICE``: services reached transitively from SERVICE."""

    @query.command(name=name, help=doc)
    @click.argument("service")
    @paths_or_server
    @now_option
    @_FORMAT
    def command(service: str, paths: tuple[str, ...], today: dt.date, fmt: str) -> None:
        graph = _graph(paths, today)
        reached = find(graph, _ref(graph, service))
        if fmt == "json":
            echo_json(reach_data(reached))
        else:
            print_table(reach_table(title.format(service=service, count=len(reached)), reached))


_edges_command(
    "callers",
    q.callers,
    "callers of",
    "caller",
    "Who may call SERVICE, on which interface, and why.",
)
_edges_command(
    "callees",
    q.callees,
    "callees of",
    "callee",
    "Whom SERVICE may call, on which interface, and why.",
)
_reach_command(
    "dependents",
    q.dependents,
    "what breaks if {service} goes ({count})",
    "Everything that calls SERVICE directly or indirectly: what breaks if it goes.",
)
_reach_command(
    "dependencies",
    q.dependencies,
    "what {service} needs ({count})",
    "Everything SERVICE needs, directly or indirectly.",
)


@query.command()
@click.argument("source")
@click.argument("target")
@paths_or_server
@now_option
@_FORMAT
def path(source: str, target: str, paths: tuple[str, ...], today: dt.date, fmt: str) -> None:
    """A shortest chain of allowed calls from SOURCE to TARGET (exit 1 when there is none)."""
    graph = _graph(paths, today)
    chain = q.path(graph, _ref(graph, source), _ref(graph, target))
    if fmt == "json":
        echo_json([edge_to_dict(e) for e in chain])
    elif chain:
        out.print(
            edges_table(f"{source} reaches {target} in {len(chain)} hops", chain, other="callee")
        )
    else:
        out.print(f"no chain of allowed calls leads from {source} to {target}")
    raise SystemExit(0 if chain else 1)


@query.command()
@paths_or_server
@now_option
@_FORMAT
def exposed(paths: tuple[str, ...], today: dt.date, fmt: str) -> None:
    """Interfaces reachable beyond their namespace: from the world, ingress or other namespaces."""
    found = q.exposed(_graph(paths, today))
    if fmt == "json":
        echo_json(exposure_data(found))
    else:
        print_table(exposure_table(found))


@query.command()
@paths_or_server
@now_option
@_FORMAT
def egress(paths: tuple[str, ...], today: dt.date, fmt: str) -> None:
    """Services that initiate traffic out of the cluster, where to, and why."""
    found = q.egress(_graph(paths, today))
    if fmt == "json":
        echo_json([external_to_dict(e) for e in found])
    else:
        print_table(egress_table(found))


@query.command()
@click.argument("service")
@paths_or_server
@now_option
@_FORMAT
def owners(service: str, paths: tuple[str, ...], today: dt.date, fmt: str) -> None:
    """The team that owns SERVICE and who approves its consumers."""
    graph = _graph(paths, today)
    ref = _ref(graph, service)
    team_name = graph.services[ref].team
    data = team_data(q.owners(graph, ref), team_name)
    if fmt == "json":
        echo_json({"service": str(ref), **data})
        return
    if not data["declared"]:
        out.print(f"{ref} names team '{team_name}', which is not declared")
        return
    out.print(
        f"{ref} is owned by team {team_name} (declared at {data['declaredAt']})", highlight=False
    )
    for owner in data["owners"]:
        out.print(f"  {owner}", highlight=False)

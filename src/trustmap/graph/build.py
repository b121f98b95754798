"""Declarations → :class:`~trustmap.model.Graph`: merge, resolve, check, compute effective edges."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable

from trustmap.bulk import building
from trustmap.diagnostics import Diagnostic, diagnostic, sort_diagnostics
from trustmap.graph import rules
from trustmap.graph.dependencies import Context, resolve_dependency
from trustmap.graph.infrastructure import infrastructure_edges
from trustmap.model import (
    Edge,
    ExternalEdge,
    Graph,
    Organization,
    RejectedDependency,
    Rules,
    Service,
    ServiceRef,
    Team,
)
from trustmap.schema import Declarations

__all__ = ["build_graph"]


def build_graph(
    declarations: Declarations, today: dt.date, prior: Iterable[Diagnostic] = ()
) -> Graph:
    """Merge all declarations into one graph and run every TM2xx check.

    Args:
        declarations: valid documents from :func:`trustmap.schema.parse_documents`.
        today: the date expiry is judged against.
        prior: diagnostics from loading and schema validation, kept in the graph's list.
    """
    with building():
        return _build_graph(declarations, today, prior)


def _build_graph(
    declarations: Declarations, today: dt.date, prior: Iterable[Diagnostic] = ()
) -> Graph:
    problems = list(prior)
    organization = _organization(declarations.organizations, problems)
    teams = _teams(declarations.teams, problems)
    services = _services(declarations.services, problems)
    ordered = list(services.values())
    names = {f"{ref.namespace}/{ref.name}" for ref in services}
    for service in ordered:
        problems += rules.check_team(service, teams)
        problems += rules.check_interfaces(service)
        problems += rules.check_consumers(service, services, teams, names)
        problems += rules.check_egress(service, organization)
    problems += rules.check_selector_overlap(ordered)
    problems += rules.check_service_accounts(ordered)
    problems += rules.check_platform_consumers(organization, ordered)
    edges, rejected, calls = _dependency_edges(
        ordered, services, teams, organization, today, problems
    )
    infrastructure, found = infrastructure_edges(organization, ordered)
    problems += found + rules.check_cycles(calls, services)
    external = _external_edges(ordered, organization, problems)
    return Graph(
        organization=organization,
        teams=dict(sorted(teams.items())),
        services=dict(sorted(services.items())),
        edges=_sorted_edges(edges + infrastructure),
        external=tuple(sorted(external, key=lambda e: (e.source, e.egress.span))),
        rejected=tuple(rejected),
        diagnostics=tuple(sort_diagnostics(problems)),
        today=today,
        dns_clients=tuple(sorted(services)) if organization and organization.dns else (),
    )


def _sorted_edges(edges: list[Edge]) -> tuple[Edge, ...]:
    """Edges by target, interface, kind, caller, port and protocol (a stable sort).

    Grouping by target first and sorting each small group is twice as fast as one sort of
    tens of thousands of edges on an eight-part key, with the same result.
    """
    by_target: dict[tuple[str, str], list[Edge]] = {}
    for edge in edges:
        key = (edge.target.namespace, edge.target.name)
        group = by_target.get(key)
        if group is None:
            by_target[key] = [edge]
        else:
            group.append(edge)
    ordered: list[Edge] = []
    for key in sorted(by_target):
        group = by_target[key]
        if len(group) > 1:
            group.sort(key=_within_target)
        ordered += group
    return tuple(ordered)


# EdgeKind is a str, so the key is built and compared in C.
_within_target = operator.attrgetter(
    "interface", "kind", "source.namespace", "source.name", "port", "protocol"
)


def _organization(
    found: tuple[Organization, ...], problems: list[Diagnostic]
) -> Organization | None:
    if not found:
        if any(p.code in {"TM100", "TM116"} for p in problems):
            return None
        problems.append(
            diagnostic(
                "TM200",
                None,
                "no valid Organization declared; using defaults (no DNS egress, no ingress "
                "controllers)",
                "add an Organization document owned by the platform team",
            )
        )
        return None
    for extra in found[1:]:
        problems.append(
            diagnostic(
                "TM201",
                extra.span,
                f"a second Organization '{extra.name}' (the first is at {found[0].span})",
                "keep exactly one Organization document",
            )
        )
    return found[0]


def _teams(found: tuple[Team, ...], problems: list[Diagnostic]) -> dict[str, Team]:
    teams: dict[str, Team] = {}
    for team in found:
        if team.name in teams:
            problems.append(
                diagnostic(
                    "TM207",
                    team.span,
                    f"team '{team.name}' is declared twice (first at {teams[team.name].span})",
                    "merge the two Team documents",
                )
            )
            continue
        teams[team.name] = team
    return teams


def _services(found: tuple[Service, ...], problems: list[Diagnostic]) -> dict[ServiceRef, Service]:
    services: dict[ServiceRef, Service] = {}
    for service in found:
        if service.ref in services:
            problems.append(
                diagnostic(
                    "TM206",
                    service.span,
                    f"service {service.ref} is declared twice (first at {services[service.ref].span})",
                    "remove one declaration; a service has exactly one owner",
                )
            )
            continue
        services[service.ref] = service
    return services


def _dependency_edges(
    ordered: list[Service],
    services: dict[ServiceRef, Service],
    teams: dict[str, Team],
    organization: Organization | None,
    today: dt.date,
    problems: list[Diagnostic],
) -> tuple[list[Edge], list[RejectedDependency], list[tuple[ServiceRef, ServiceRef]]]:
    """Effective edges, rejected dependencies, and the caller → target pair of each edge."""
    by_namespace: dict[str, list[str]] = {}
    for ref in services:
        by_namespace.setdefault(ref.namespace, []).append(ref.name)
    ctx = Context(
        services,
        {k: tuple(v) for k, v in by_namespace.items()},
        teams,
        organization.rules if organization else Rules(),
        today,
    )
    edges: list[Edge] = []
    rejected: list[RejectedDependency] = []
    calls: list[tuple[ServiceRef, ServiceRef]] = []
    for service in ordered:
        seen: dict[tuple[ServiceRef, str], Edge] = {}
        for dep in service.depends_on:
            result = resolve_dependency(service, dep, ctx)
            problems.extend(result.diagnostics)
            if result.edge is None:
                rejected.append(
                    RejectedDependency(service.ref, dep, tuple(result.failed), tuple(result.codes))
                )
                continue
            key = (result.edge.target, result.edge.interface)
            if key in seen:
                problems.append(_duplicate(service, dep.span, seen[key]))
                continue
            if result.edge.target == service.ref:
                problems.append(_self(service, dep.span))
            seen[key] = result.edge
            edges.append(result.edge)
            calls.append((service.ref, result.edge.target))
    return edges, rejected, calls


def _duplicate(service: Service, span: object, first: Edge) -> Diagnostic:
    return diagnostic(
        "TM219",
        span,  # type: ignore[arg-type]
        f"{service.ref} depends on {first.target} interface '{first.interface}' twice "
        f"(first at {first.declared_at})",
        "merge the two entries (list all methods in one)",
    )


def _self(service: Service, span: object) -> Diagnostic:
    return diagnostic(
        "TM222",
        span,  # type: ignore[arg-type]
        f"{service.ref} depends on itself",
        "calls between replicas of one service need no declaration; remove it unless intended",
    )


def _external_edges(
    ordered: list[Service], organization: Organization | None, problems: list[Diagnostic]
) -> list[ExternalEdge]:
    require = organization.rules.require_reason if organization else True
    found = []
    for service in ordered:
        for egress in service.egress:
            if require and not egress.reason:
                problems.append(
                    diagnostic(
                        "TM212",
                        egress.span,
                        f"egress from {service.ref} to {egress.destination} has no reason",
                        "add 'reason:' saying why the call leaves the cluster",
                    )
                )
                continue
            found.append(ExternalEdge(service.ref, egress))
    return found

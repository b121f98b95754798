"""Declarations → :class:`~trustmap.model.Graph`: merge, resolve, check, compute effective edges."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Container, Iterable

from trustmap.bulk import building
from trustmap.diagnostics import Diagnostic, Span, diagnostic, sort_diagnostics
from trustmap.graph import rules
from trustmap.graph.dependencies import Context, plain_edge, resolve_dependency
from trustmap.graph.infrastructure import infrastructure_edges
from trustmap.model import (
    Dependency,
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
    failed = _failed(declarations, "Service", names)
    failed_teams = _failed(declarations, "Team", teams)
    known = names | set(failed)
    for service in ordered:
        problems += rules.check_team(service, teams, failed_teams)
        problems += rules.check_interfaces(service)
        problems += rules.check_consumers(service, services, teams, known)
        problems += rules.check_egress(service, organization)
    problems += rules.check_selector_overlap(ordered)
    problems += rules.check_service_accounts(ordered)
    problems += rules.check_platform_consumers(organization, ordered)
    numbers = {ref: n for n, ref in enumerate(services)}
    ctx = Context.of(services, teams, _rules(organization), today, failed)
    edges, rejected, calls = _dependency_edges(ordered, numbers, ctx, problems)
    infrastructure, found = infrastructure_edges(organization, ordered)
    for edge in infrastructure:
        edges[numbers[edge.target]].append(edge)
    problems += found + rules.check_cycles(calls, services)
    external = _external_edges(ordered, organization, problems)
    order = sorted(services)
    return Graph(
        organization=organization,
        teams=dict(sorted(teams.items())),
        services={ref: services[ref] for ref in order},
        edges=_sorted_edges(edges, [numbers[ref] for ref in order]),
        external=tuple(sorted(external, key=lambda e: (e.source, e.egress.span))),
        rejected=tuple(rejected),
        diagnostics=tuple(sort_diagnostics(problems)),
        today=today,
        dns_clients=tuple(order) if organization and organization.dns else (),
    )


def _rules(organization: Organization | None) -> Rules:
    return organization.rules if organization else Rules()


def _failed(declarations: Declarations, kind: str, valid: Container[str]) -> dict[str, Span]:
    """Names of failed documents of ``kind`` that no valid document declares, with their place."""
    return {f.name: f.span for f in declarations.failed if f.kind == kind and f.name not in valid}


def _sorted_edges(by_target: list[list[Edge]], order: list[int]) -> tuple[Edge, ...]:
    """Edges by target, interface, kind, caller, port and protocol (a stable sort).

    ``by_target`` holds the edges into each service (by number), ``order`` the numbers of the
    services sorted by reference. Sorting each target's few edges is faster than one sort of
    tens of thousands of edges on an eight-part key, with the same result.
    """
    ordered: list[Edge] = []
    for n in order:
        group = by_target[n]
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
                    service.at("name"),
                    f"service {service.ref} is declared twice "
                    f"(first at {services[service.ref].at('name')})",
                    "remove one declaration; a service has exactly one owner",
                    (services[service.ref].at("name"),),
                )
            )
            continue
        services[service.ref] = service
    return services


def _dependency_edges(
    ordered: list[Service],
    numbers: dict[ServiceRef, int],
    ctx: Context,
    problems: list[Diagnostic],
) -> tuple[list[list[Edge]], list[RejectedDependency], set[tuple[int, int]]]:
    """Effective edges into each service, rejected dependencies, and which service calls which.

    Services are numbered by their place in ``ordered``, as in ``numbers``.
    """
    edges: list[list[Edge]] = [[] for _ in ordered]
    rejected: list[RejectedDependency] = []
    calls: set[tuple[int, int]] = set()
    for n, service in enumerate(ordered):
        endpoint, entries = ctx.caller(service)
        seen: dict[tuple[int, str], Edge] = {}
        for dep in service.depends_on:
            edge = plain_edge(endpoint, entries, dep, ctx) or _resolve(
                service, dep, ctx, problems, rejected
            )
            if edge is None:
                continue
            target = numbers[edge.target]
            key = (target, edge.interface)
            if key in seen:
                problems.append(_duplicate(service, dep.span, seen[key]))
                continue
            seen[key] = edge
            edges[target].append(edge)
            if target != n:
                calls.add((n, target))
            else:
                problems.append(_self(service, dep.span))
    return edges, rejected, calls


def _resolve(
    service: Service,
    dep: Dependency,
    ctx: Context,
    problems: list[Diagnostic],
    rejected: list[RejectedDependency],
) -> Edge | None:
    """Check a dependency in full: its findings go to ``problems``; without an edge, it is rejected."""
    result = resolve_dependency(service, dep, ctx)
    problems.extend(result.diagnostics)
    if result.edge is None:
        rejected.append(
            RejectedDependency(service.ref, dep, tuple(result.failed), tuple(result.codes))
        )
    return result.edge


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

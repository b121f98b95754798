"""What a change does to the organisation, computed on its neighbourhood instead of everything.

A push by team T changes only T's services, so every check that can change and every flow that
can open or close involves a service of T, a service in one of T's namespaces (selector overlap,
shared service accounts, duplicates are per namespace), a target T depends on, or a caller of T.
Building the graph of that neighbourhood keeps a push fast in a 10,000-service organisation; the
full graph is rebuilt afterwards for reads. Organization and Team changes affect everyone, so the
platform scope always gets the full graph.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from trustmap import api
from trustmap.api import flow_key
from trustmap.model import Edge, Graph, RejectedDependency, Service, ServiceRef
from trustmap.names import parse_service_ref
from trustmap.schema import Declarations
from trustmap.server.state import ApprovedGrant, Parsed, build, target_ref

__all__ = ["Impact", "flow_key", "impact", "pending_requests"]


@dataclass(frozen=True, slots=True)
class Impact:
    """The graph around a change, before and after, and the refs the change touches."""

    before: Graph
    """Neighbourhood graph of the current state."""
    after: Graph
    """Neighbourhood graph with the change applied."""
    touched: frozenset[ServiceRef]
    """Services of the changed scope, before and after."""
    full: bool
    """Whether the graphs are the whole organisation (platform scope)."""

    def flows(self, graph: Graph) -> set[str]:
        """Flow keys of ``graph`` that involve a touched service (all flows when ``full``)."""
        return {flow_key(e) for e in graph.edges if self._involved(e)}

    def changes(self) -> tuple[list[str], list[str]]:
        """Flows opened and closed by the change, sorted (the review library's comparison,
        the one ``trustmap diff`` reports)."""
        return api.opened_closed(self.before.edges, self.after.edges, self._involved)

    def _involved(self, edge: Edge) -> bool:
        return self.full or edge.target in self.touched or edge.source.ref in self.touched


def impact(
    parses: Mapping[str, Parsed],
    change: Parsed,
    grants_before: Iterable[ApprovedGrant],
    grants_after: Iterable[ApprovedGrant],
    today: dt.date,
    *,
    full: bool,
    owners: Mapping[str, str] | None = None,
) -> Impact:
    """Neighbourhood graphs before and after replacing ``change.team``'s parse with ``change``."""
    old = parses.get(change.team)
    after_parses = {**parses, change.team: change}
    old_services = old.declarations.services if old else ()
    touched = frozenset(s.ref for s in (*old_services, *change.declarations.services))
    keep = None if full else _neighbourhood(parses, change, touched)
    before = build(_restrict(parses.values(), keep, change.team), grants_before, today, owners)
    after = build(_restrict(after_parses.values(), keep, change.team), grants_after, today, owners)
    return Impact(before, after, touched, full)


def _neighbourhood(
    parses: Mapping[str, Parsed], change: Parsed, touched: frozenset[ServiceRef]
) -> frozenset[ServiceRef]:
    """Touched services, the rest of their namespaces, the services they depend on or name as
    consumers (before and after the change; a missing target brings its namespace along, for
    "did you mean"), and every service that depends on a touched one."""
    names = {str(r) for r in touched}
    namespaces = {r.namespace for r in touched}
    wanted: set[str] = set()
    old = parses.get(change.team)
    for service in (*(old.declarations.services if old else ()), *change.declarations.services):
        wanted.update(target_ref(d) for d in service.depends_on)
        wanted.update(_consumer_refs(service))
    keep = set(touched)
    found: set[str] = set()
    for parsed in parses.values():
        for service in parsed.declarations.services:
            ref = str(service.ref)
            if ref in wanted:
                found.add(ref)
            if (
                ref in wanted
                or service.ref.namespace in namespaces
                or any(target_ref(d) in names for d in service.depends_on)
            ):
                keep.add(service.ref)
    missing = {w.partition("/")[0] for w in wanted - found}
    for parsed in parses.values():
        keep.update(s.ref for s in parsed.declarations.services if s.ref.namespace in missing)
    return frozenset(keep)


def _consumer_refs(service: Service) -> set[str]:
    found = set()
    for interface in service.interfaces:
        for entry in interface.consumers:
            parts = parse_service_ref(entry) if "/" in entry else None
            if parts:
                found.add(f"{parts[1]}/{parts[2]}")
    return found


def _restrict(
    parses: Iterable[Parsed], keep: frozenset[ServiceRef] | None, team: str
) -> list[Parsed]:
    """Only the kept services; outside the changed team, consumers and dependencies that name
    services left out are dropped too: they decide no edge inside the neighbourhood and would
    only raise findings about other teams' files (at the price of "did you mean" searches)."""
    if keep is None:
        return list(parses)
    known = {str(r) for r in keep}
    restricted = []
    for parsed in parses:
        services = tuple(
            s if parsed.team == team else _trimmed(s, known)
            for s in parsed.declarations.services
            if s.ref in keep
        )
        declarations = Declarations(
            parsed.declarations.organizations, parsed.declarations.teams, services
        )
        diagnostics = parsed.diagnostics if parsed.team == team else ()
        restricted.append(
            Parsed(parsed.team, parsed.version, parsed.files, declarations, diagnostics)
        )
    return restricted


def _trimmed(service: Service, known: set[str]) -> Service:
    """``service`` without consumers or dependencies that point outside the neighbourhood."""
    interfaces = tuple(
        dataclasses.replace(
            i, consumers=tuple(c for c in i.consumers if c in known or "/" not in c)
        )
        for i in service.interfaces
    )
    depends_on = tuple(d for d in service.depends_on if target_ref(d) in known)
    return dataclasses.replace(service, interfaces=interfaces, depends_on=depends_on)


def pending_requests(
    graph: Graph, refs: frozenset[ServiceRef]
) -> list[tuple[RejectedDependency, str]]:
    """Dependencies of ``refs`` whose only failed condition is the provider's consent, with the
    provider interface they ask for: what becomes a pending approval."""
    found = []
    for rejected in graph.rejected:
        if rejected.source not in refs or rejected.codes != ("TM210",):
            continue
        target = _service(graph, target_ref(rejected.dependency))
        if target is None:
            continue
        interface = rejected.dependency.interface or (
            target.interfaces[0].name if len(target.interfaces) == 1 else None
        )
        if interface is not None:
            found.append((rejected, interface))
    return found


def _service(graph: Graph, ref: str) -> Service | None:
    parts = parse_service_ref(ref)
    return graph.services.get(ServiceRef(parts[1], parts[2])) if parts else None

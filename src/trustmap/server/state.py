"""The registry's graph in memory: each team's parsed files, approvals as grants, and snapshots.

Parsing YAML dominates the cost of a graph, so each team's files are parsed once per pushed
version and kept; a :class:`Snapshot` (graph + query index) is rebuilt from those parses only
when the head version (or the day, for expiry) changes. Every reader asks :meth:`GraphCache.
snapshot`, which checks the head version in the database, so several server processes agree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustmap import api
from trustmap.diagnostics import Diagnostic
from trustmap.loader import Limits
from trustmap.model import Dependency, Graph, Service
from trustmap.names import parse_service_ref
from trustmap.query import Index
from trustmap.schema import Declarations
from trustmap.server.db import Database
from trustmap.server.models import Approval, Head, ServiceOwner, TeamHead, VersionFile

__all__ = [
    "ApprovedGrant",
    "GraphCache",
    "Parsed",
    "Snapshot",
    "apply_grants",
    "build",
    "grant_of",
    "load_grants",
    "merge",
    "owned",
    "parse_team",
    "target_ref",
]


@dataclass(frozen=True, slots=True)
class Parsed:
    """One push scope's files at one version, parsed."""

    team: str
    """Push scope (team name)."""
    version: int
    """Version the files were pushed in (0 = not yet stored)."""
    files: tuple[tuple[str, str], ...]
    """``(path, content)`` as pushed, sorted by path."""
    declarations: Declarations
    """Valid declarations found."""
    diagnostics: tuple[Diagnostic, ...]
    """Load and schema problems; spans name files as ``<team>/<path>``."""


@dataclass(frozen=True, slots=True)
class ApprovedGrant:
    """An approval recorded in the registry: consent given by an owner of the provider."""

    caller: str
    """Calling service, ``namespace/name``."""
    target: str
    """Provider service, ``namespace/name``."""
    interface: str
    """Provider interface."""
    approver: str
    """Owner who approved (becomes ``approvedBy``)."""
    methods: tuple[str, ...] | None = None
    """Methods approved; ``None`` = every method of the interface."""
    expires: dt.date | None = None
    """Last day approved; ``None`` = no limit."""

    def covers(self, methods: tuple[str, ...], expires: dt.date | None) -> bool:
        """Whether a dependency asking ``methods`` (empty = all) until ``expires`` is within it."""
        if self.methods is not None and (not methods or not set(methods) <= set(self.methods)):
            return False
        return self.expires is None or (expires is not None and expires <= self.expires)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The merged organisation at one version, ready for queries."""

    version: int
    """Head version it was built from."""
    today: dt.date
    """Day expiry was judged against."""
    graph: Graph
    """The merged, checked graph (grants applied)."""
    index: Index
    """Adjacency of its effective edges."""


def scoped_file(team: str, path: str) -> str:
    """The file name a team's pushed file carries inside the merged graph."""
    return f"{team}/{path}"


def parse_team(team: str, version: int, files: Iterable[tuple[str, str]], limits: Limits) -> Parsed:
    """Load and validate one team's files (in path order) as if read from ``<team>/<path>``."""
    ordered = tuple(sorted(files))
    named = [(scoped_file(team, path), content) for path, content in ordered]
    declarations, problems = api.parse_files(named, limits)
    return Parsed(team, version, ordered, declarations, tuple(problems))


def merge(parses: Iterable[Parsed]) -> tuple[Declarations, list[Diagnostic]]:
    """All teams' declarations in team order (the order the full graph is built in)."""
    ordered = sorted(parses, key=lambda p: p.team)
    declarations = Declarations(
        tuple(o for p in ordered for o in p.declarations.organizations),
        tuple(t for p in ordered for t in p.declarations.teams),
        tuple(s for p in ordered for s in p.declarations.services),
    )
    return declarations, [d for p in ordered for d in p.diagnostics]


def target_ref(dependency: Dependency) -> str:
    """``namespace/name`` of a dependency's target as written (the cluster part dropped)."""
    parts = parse_service_ref(dependency.service)
    return f"{parts[1]}/{parts[2]}" if parts else dependency.service


def apply_grants(declarations: Declarations, grants: Iterable[ApprovedGrant]) -> Declarations:
    """Declarations with each grant's caller added to the provider interface's consumers and
    the caller's dependency cut down to what was approved, with ``approvedBy`` set: methods
    outside the grant and days after its expiry are left out (a dependency with no approved
    method left is left out whole), so a widening compiles only its approved part."""
    by_target: dict[str, list[ApprovedGrant]] = defaultdict(list)
    by_caller: dict[str, list[ApprovedGrant]] = defaultdict(list)
    for grant in grants:
        by_target[grant.target].append(grant)
        by_caller[grant.caller].append(grant)
    if not by_target:
        return declarations
    interfaces = {str(s.ref): s for s in declarations.services}
    services = tuple(
        _granted(
            service,
            by_target.get(str(service.ref), ()),
            by_caller.get(str(service.ref), ()),
            interfaces,
        )
        for service in declarations.services
    )
    return dataclasses.replace(declarations, services=services)


def _granted(
    service: Service,
    given: Iterable[ApprovedGrant],
    asked: Iterable[ApprovedGrant],
    known: Mapping[str, Service],
) -> Service:
    given, asked = list(given), list(asked)
    if not given and not asked:
        return service
    interfaces = tuple(
        dataclasses.replace(
            i, consumers=_with(i.consumers, [g.caller for g in given if g.interface == i.name])
        )
        for i in service.interfaces
    )
    approved = (_approved(dep, asked, known) for dep in service.depends_on)
    depends_on = tuple(dep for dep in approved if dep is not None)
    return dataclasses.replace(service, interfaces=interfaces, depends_on=depends_on)


def _with(consumers: tuple[str, ...], callers: list[str]) -> tuple[str, ...]:
    return consumers + tuple(c for c in sorted(set(callers)) if c not in consumers)


def _approved(
    dep: Dependency, asked: list[ApprovedGrant], known: Mapping[str, Service]
) -> Dependency | None:
    target = target_ref(dep)
    interface = dep.interface or _sole_interface(known.get(target))
    for grant in asked:
        if grant.target == target and grant.interface == interface:
            return _within(dep, grant)
    return dep


def _within(dep: Dependency, grant: ApprovedGrant) -> Dependency | None:
    """``dep`` cut down to ``grant``; ``None`` when no approved method is left."""
    methods = dep.methods
    if grant.methods is not None:
        methods = tuple(m for m in methods if m in grant.methods) if methods else grant.methods
        if not methods:
            return None
    expires = dep.expires
    if grant.expires is not None and (expires is None or grant.expires < expires):
        expires = grant.expires
    return dataclasses.replace(
        dep, methods=methods, expires=expires, approved_by=grant.approver or dep.approved_by
    )


def _sole_interface(service: Service | None) -> str | None:
    if service is None or len(service.interfaces) != 1:
        return None
    return service.interfaces[0].name


def load_grants(session: Session) -> list[ApprovedGrant]:
    """What every approval currently grants."""
    rows = session.scalars(select(Approval).where(Approval.granted_by.is_not(None))).all()
    return [grant_of(r) for r in rows]


def grant_of(row: Approval) -> ApprovedGrant:
    """The grant an approval row holds (its granted scope)."""
    methods = tuple(json.loads(row.granted_methods or "[]"))
    expires = dt.date.fromisoformat(row.granted_expires) if row.granted_expires else None
    return ApprovedGrant(
        row.caller, row.target, row.interface, row.granted_by or "", methods or None, expires
    )


def build(
    parses: Iterable[Parsed],
    grants: Iterable[ApprovedGrant],
    today: dt.date,
    owners: Mapping[str, str] | None = None,
) -> Graph:
    """The merged graph of ``parses`` with ``grants`` applied; with ``owners``, a service
    declared both by its owner and by another scope counts only as its owner declares it."""
    declarations, problems = merge(owned(parses, owners or {}))
    return api.graph_from_declarations(apply_grants(declarations, grants), today, problems)


def owned(parses: Iterable[Parsed], owners: Mapping[str, str]) -> list[Parsed]:
    """``parses`` without services another scope declares and owns (a transfer's old copy, or
    a duplicate stored before ownership was recorded)."""
    parses = list(parses)
    declared = {(p.team, str(s.ref)) for p in parses for s in p.declarations.services}
    kept = []
    for parsed in parses:
        services = tuple(
            s
            for s in parsed.declarations.services
            if owners.get(str(s.ref), parsed.team) == parsed.team
            or (owners[str(s.ref)], str(s.ref)) not in declared
        )
        if len(services) == len(parsed.declarations.services):
            kept.append(parsed)
        else:
            declarations = dataclasses.replace(parsed.declarations, services=services)
            kept.append(dataclasses.replace(parsed, declarations=declarations))
    return kept


class GraphCache:
    """Parsed teams and the latest snapshot, shared by every request of one process."""

    def __init__(self, database: Database, limits: Limits, today: Callable[[], dt.date]) -> None:
        self.database = database
        self.limits = limits
        self.today = today
        self._parsed: dict[str, Parsed] = {}
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._parse_lock = threading.Lock()

    def remember(self, parsed: Parsed) -> None:
        """Keep a team's parse after its push committed."""
        with self._parse_lock:
            current = self._parsed.get(parsed.team)
            if current is None or current.version < parsed.version:
                self._parsed[parsed.team] = parsed

    def parses(self, session: Session) -> dict[str, Parsed]:
        """Every team's parse at the state ``session`` sees (reparsing only changed teams)."""
        heads = dict(session.execute(select(TeamHead.team, TeamHead.version)).all())
        with self._parse_lock:
            stale = [
                t for t, v in heads.items() if t not in self._parsed or self._parsed[t].version != v
            ]
        for team in stale:
            self.remember(self._load(session, team, heads[team]))
        with self._parse_lock:
            return {
                t: self._parsed[t]
                for t in heads
                if t in self._parsed and self._parsed[t].version == heads[t]
            }

    def _load(self, session: Session, team: str, version: int) -> Parsed:
        rows = session.execute(
            select(VersionFile.path, VersionFile.content).where(VersionFile.version == version)
        ).all()
        return parse_team(team, version, rows, self.limits)

    def snapshot(self) -> Snapshot:
        """The graph at the current head version, rebuilt when a write or the date moved on."""
        today = self.today()
        with self.database.reading() as session:
            version = session.scalars(select(Head.version).where(Head.id == 1)).one()
            current = self._snapshot
            if current is not None and current.version == version and current.today == today:
                return current
            with self._lock:
                current = self._snapshot
                if current is not None and current.version >= version and current.today == today:
                    return current
                graph = build(
                    self.parses(session).values(),
                    load_grants(session),
                    today,
                    dict(session.execute(select(ServiceOwner.ref, ServiceOwner.team)).all()),
                )
                self._snapshot = Snapshot(version, today, graph, Index(graph))
                return self._snapshot

"""Who owns a service: the team that first declared it, recorded by the registry.

Without a record, two teams declaring one service in a shared namespace would be settled by
the order of their names, the loser's next push refused: a takeover and a lock-out. So the
registry keeps ``service_owners``: a push may declare only services its team owns or that nobody
owns yet (which it then claims), and no pod selector that overlaps another team's service. A
refused push changes nothing, so the owner's service and its next push are never affected.
Ownership moves only by an explicit transfer (:mod:`trustmap.server.transfers`).

Databases migrated from before ownership was recorded have no rows for older services; there
the team whose current files declare a service owns it (and claims it at its next push).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustmap.diagnostics import Diagnostic, diagnostic
from trustmap.model import Service
from trustmap.server.errors import ApiError, unscoped
from trustmap.server.models import ServiceOwner
from trustmap.server.state import Parsed

__all__ = ["check_ownership", "claim", "load_owners", "owner_of", "team_owners"]


def load_owners(session: Session) -> dict[str, str]:
    """Every recorded owner: ``namespace/name`` to team."""
    return dict(session.execute(select(ServiceOwner.ref, ServiceOwner.team)).all())


def owner_of(ref: str, owners: Mapping[str, str], parses: Mapping[str, Parsed]) -> str | None:
    """The owning team of ``ref``: recorded, else the first team whose files declare it."""
    if ref in owners:
        return owners[ref]
    declaring = sorted(
        team
        for team, parsed in parses.items()
        if any(str(s.ref) == ref for s in parsed.declarations.services)
    )
    return declaring[0] if declaring else None


def team_owners(parses: Mapping[str, Parsed], team: str) -> set[str]:
    """The principals named as ``owners`` of ``team`` in the Team documents."""
    return {
        owner
        for parsed in parses.values()
        for declared in parsed.declarations.teams
        if declared.name == team
        for owner in declared.owners
    }


def check_ownership(
    team: str, change: Parsed, parses: Mapping[str, Parsed], owners: Mapping[str, str]
) -> None:
    """409 when ``change`` declares another team's service or overlaps its pod selector."""
    others = _others_by_namespace(team, parses, owners)
    problems: list[Diagnostic] = []
    for service in change.declarations.services:
        owner = _owner_for_push(str(service.ref), team, owners, parses)
        if owner is not None and owner != team:
            problems.append(_taken(service, owner, _declared_at(str(service.ref), owner, parses)))
            continue
        for other in others.get(service.ref.namespace, ()):
            if other.ref != service.ref and _overlap(service, other):
                problems.append(_overlapping(service, other))
    if problems:
        raise ApiError(
            409,
            "the push declares what another team owns; nothing was applied",
            [unscoped(p, team) for p in problems],
        )


def _owner_for_push(
    ref: str, team: str, owners: Mapping[str, str], parses: Mapping[str, Parsed]
) -> str | None:
    if ref in owners:
        return owners[ref]
    mine = parses.get(team)
    if mine is not None and any(str(s.ref) == ref for s in mine.declarations.services):
        return team
    return owner_of(ref, owners, {t: p for t, p in parses.items() if t != team})


def _others_by_namespace(
    team: str, parses: Mapping[str, Parsed], owners: Mapping[str, str]
) -> dict[str, list[Service]]:
    """Other teams' services that count: declared by the scope that owns them."""
    found: dict[str, list[Service]] = defaultdict(list)
    for scope, parsed in parses.items():
        if scope == team:
            continue
        for service in parsed.declarations.services:
            if owners.get(str(service.ref), scope) == scope:
                found[service.ref.namespace].append(service)
    return found


def _overlap(one: Service, other: Service) -> bool:
    """Whether two pod selectors can match one pod: they agree on every key both name."""
    mine = dict(one.workload.pod_labels)
    return all(mine.get(key, value) == value for key, value in other.workload.pod_labels)


def _declared_at(ref: str, owner: str, parses: Mapping[str, Parsed]) -> str:
    parsed = parses.get(owner)
    for service in parsed.declarations.services if parsed else ():
        if str(service.ref) == ref:
            return f"declared at {service.span}"
    return "not declared in its current files"


def _taken(service: Service, owner: str, where: str) -> Diagnostic:
    return diagnostic(
        "TM703",
        service.span,
        f"service {service.ref} belongs to team '{owner}' ({where})",
        f"rename your service, or ask an owner of team '{owner}' to transfer it "
        f"('trustmap service transfer {service.ref} --to <team>')",
    )


def _overlapping(service: Service, other: Service) -> Diagnostic:
    labels = ",".join(f"{k}={v}" for k, v in other.workload.pod_labels) or "every pod"
    return diagnostic(
        "TM704",
        service.at("podLabels"),
        f"pod selector of {service.ref} overlaps {other.ref} of team '{other.team}' "
        f"({labels}, declared at {other.span})",
        "give your pods a label that the other team's selector does not match",
    )


def claim(
    session: Session,
    team: str,
    services: Iterable[Service],
    owners: Mapping[str, str],
    version: int,
) -> list[str]:
    """Record ``team`` as owner of each of ``services`` nobody owns yet; the refs claimed."""
    claimed = sorted({str(s.ref) for s in services} - set(owners))
    session.add_all(ServiceOwner(ref=ref, team=team, since_version=version) for ref in claimed)
    return claimed

"""Accepting a team's declarations: all files or none, checked against the whole organisation.

A push replaces the team's whole file set. It is refused with 403 when it touches what the team
does not own, 412 when its ``If-Match`` is stale, 422 when its files have errors (a dependency
whose only problem is missing provider consent is not an error here: it becomes a pending
approval). Otherwise it becomes the next version, with the flows it opened and closed, the
approvals it asked for, and an audit entry, in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustmap.diagnostics import Diagnostic, Severity, diagnostic
from trustmap.model import Graph, ServiceRef
from trustmap.names import is_dns1123_label
from trustmap.server import audit
from trustmap.server.auth import Principal
from trustmap.server.consent import Ask, sync_requests
from trustmap.server.errors import ApiError, unscoped
from trustmap.server.history import record_version
from trustmap.server.impact import Impact, impact, pending_requests
from trustmap.server.models import Approval, TeamHead, VersionFile
from trustmap.server.ownership import check_ownership, claim, load_owners
from trustmap.server.scope import check_paths, check_scope
from trustmap.server.state import Parsed, load_grants, parse_team
from trustmap.server.store import Registry, etag_for

__all__ = ["PushOutcome", "push"]


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """What an accepted push did."""

    team: str
    version: int
    etag: str
    unchanged: bool
    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    pending: list[Approval] = field(default_factory=list)
    findings: list[Diagnostic] = field(default_factory=list)
    introduced: list[Diagnostic] = field(default_factory=list)


def push(
    registry: Registry,
    by: Principal,
    team: str,
    files: Sequence[tuple[str, str]],
    message: str,
    if_match: str | None,
) -> PushOutcome:
    """Replace ``team``'s declarations with ``files`` (``(path, content)`` pairs)."""
    _authorise(registry, by, team)
    check_paths(files)
    change = parse_team(team, 0, files, registry.limits)
    platform = team == registry.settings.platform_team
    with registry.database.writing() as (session, head):
        current = (
            session.scalars(select(TeamHead.version).where(TeamHead.team == team)).first() or 0
        )
        _check_precondition(team, current, if_match)
        parses = registry.cache.parses(session)
        old = parses.get(team)
        if old is not None and old.files == change.files:
            return PushOutcome(team, current, etag_for(team, current), unchanged=True)
        check_scope(team, change, parses, platform)
        owners = load_owners(session)
        check_ownership(team, change, parses, owners)
        grants = load_grants(session)
        found = impact(
            parses, change, grants, grants, registry.today(), full=platform, owners=owners
        )
        findings = _blocking(found.after, team)
        if findings:
            raise ApiError(
                422, f"the push has {len(findings)} error(s); nothing was applied", findings
            )
        opened, closed = found.changes()
        version = record_version(session, head, "push", team, by.actor, message, opened, closed)
        _store_files(session, team, version, change)
        claimed = claim(session, team, change.declarations.services, owners, version)
        pending, waiting = sync_requests(
            session, found.after, team, change.declarations.services, version
        )
        audit.append(
            session,
            head,
            by.actor,
            "push",
            f"team:{team}",
            {
                "version": version,
                "message": message,
                "files": {p: hashlib.sha256(c.encode()).hexdigest() for p, c in change.files},
                "opened": len(opened),
                "closed": len(closed),
                "pending": len(pending),
                "claimed": claimed,
            },
        )
    registry.cache.remember(
        Parsed(team, version, change.files, change.declarations, change.diagnostics)
    )
    mine = [unscoped(d, team) for d in found.after.diagnostics if _in_team(d, team)]
    findings = [d for d in mine if d.severity is not Severity.ERROR] + _waiting(waiting, team)
    return PushOutcome(
        team,
        version,
        etag_for(team, version),
        False,
        opened,
        closed,
        pending,
        sorted(findings, key=lambda d: d.sort_key),
        _introduced(found, team),
    )


def _waiting(waiting: list[Ask], team: str) -> list[Diagnostic]:
    return [
        unscoped(
            diagnostic(
                "TM700",
                ask.span,
                f"{ask.caller} -> {ask.target}:{ask.interface} ({_scope(ask)}) waits for "
                f"approval by an owner of team '{ask.provider_team}'",
                f"until then only what was approved before (if anything) is allowed; ask them to "
                f"run 'trustmap approve' or to add '{ask.caller}' to the interface's consumers",
            ),
            team,
        )
        for ask in waiting
    ]


def _scope(ask: Ask) -> str:
    methods = ", ".join(ask.methods) if ask.methods else "every method"
    until = f"until {ask.expires}" if ask.expires else "no expiry"
    return f"{methods}; {until}"


def _authorise(registry: Registry, by: Principal, team: str) -> None:
    if not is_dns1123_label(team):
        raise ApiError(422, f"'{team}' is not a valid team name (DNS-1123 label)")
    if not by.is_admin and by.team != team:
        raise ApiError(
            403,
            f"a token of team '{by.team}' may not push the declarations of '{team}'",
            subject=f"team:{team}",
        )


def _check_precondition(team: str, current: int, if_match: str | None) -> None:
    etag = etag_for(team, current)
    if if_match is None:
        raise ApiError(
            428,
            f"send If-Match: {etag} (the ETag you last read) to avoid overwriting "
            "someone else's push",
            headers={"ETag": etag},
        )
    wanted = [t.strip() for t in if_match.split(",")]
    if "*" not in wanted and etag not in wanted and f"W/{etag}" not in wanted:
        raise ApiError(
            412,
            f"team '{team}' changed since you read it: it is now at {etag}; pull, "
            "merge and push again",
            headers={"ETag": etag},
        )


def _in_team(found: Diagnostic, team: str) -> bool:
    return found.span is not None and found.span.file.startswith(f"{team}/")


def _blocking(graph: Graph, team: str) -> list[Diagnostic]:
    waiting = {r.dependency.at("service") for r, _ in pending_requests(graph, _refs(graph, team))}
    return [
        unscoped(d, team)
        for d in graph.diagnostics
        if d.severity is Severity.ERROR
        and _in_team(d, team)
        and not (d.code == "TM210" and d.span in waiting)
    ]


def _refs(graph: Graph, team: str) -> frozenset[ServiceRef]:
    return frozenset(r for r, s in graph.services.items() if s.span.file.startswith(f"{team}/"))


def _introduced(found: Impact, team: str) -> list[Diagnostic]:
    def errors(graph: Graph) -> set[Diagnostic]:
        return {
            d for d in graph.diagnostics if d.severity is Severity.ERROR and not _in_team(d, team)
        }

    return sorted(errors(found.after) - errors(found.before), key=lambda d: d.sort_key)


def _store_files(session: Session, team: str, version: int, change: Parsed) -> None:
    session.add_all(
        VersionFile(
            version=version,
            path=path,
            content=content,
            sha256=hashlib.sha256(content.encode()).hexdigest(),
        )
        for path, content in change.files
    )
    row = session.get(TeamHead, team)
    if row is None:
        session.add(TeamHead(team=team, version=version))
    else:
        row.version = version

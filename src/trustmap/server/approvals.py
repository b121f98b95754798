"""Provider consent through the registry: owners of the provider's team approve or reject.

Approving turns a pending request into a grant (the caller joins the interface's consumers and
the dependency gets ``approvedBy``), which opens the flow in a new version. Rejecting a pending
request records the decision; rejecting an approved one revokes the grant and closes the flow.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from trustmap.schema import Declarations
from trustmap.server import audit
from trustmap.server.auth import Principal
from trustmap.server.errors import ApiError
from trustmap.server.history import record_version
from trustmap.server.impact import impact
from trustmap.server.models import Approval
from trustmap.server.ownership import load_owners, team_owners
from trustmap.server.state import ApprovedGrant, Parsed, grant_of, load_grants
from trustmap.server.store import Registry

__all__ = ["STATES", "approval_to_dict", "decide", "list_approvals"]

STATES = ("pending", "approved", "rejected", "withdrawn", "ended")


def list_approvals(registry: Registry, state: str | None, team: str | None) -> list[Approval]:
    """Requests in ``state`` (all when ``None``) involving ``team`` as caller or provider."""
    query = select(Approval).order_by(Approval.id)
    if state is not None:
        query = query.where(Approval.state == state)
    if team is not None:
        query = query.where((Approval.provider_team == team) | (Approval.caller_team == team))
    with registry.database.reading() as session:
        return list(session.scalars(query).all())


def decide(
    registry: Registry,
    by: Principal,
    approval_id: int,
    approve: bool,
    comment: str,
    revision: int | None = None,
) -> Approval:
    """Approve or reject request ``approval_id`` as ``by``. Approving grants exactly what the
    request asks now (interface, methods, expiry); rejecting also revokes what was granted.

    Raises:
        ApiError: 404 unknown request, 403 not an owner of the provider's team, 409 when the
            request is not in a state the decision applies to, or changed since ``revision``.
    """
    with registry.database.writing() as (session, head):
        row = session.get(Approval, approval_id)
        if row is None:
            raise ApiError(404, f"no approval request with id {approval_id}")
        parses = registry.cache.parses(session)
        _require_owner(by, row, parses)
        _check_state(row, approve, revision)
        was_granted = row.granted_by is not None
        before = load_grants(session)
        row.state = "approved" if approve else "rejected"
        row.decided_by, row.decided_at, row.comment = by.name, audit.now(), comment
        row.granted_by = by.name if approve else None
        row.granted_methods = row.methods if approve else None
        row.granted_expires = row.expires if approve else None
        after = [g for g in before if (g.caller, g.target, g.interface) != _key(row)]
        after += [grant_of(row)] if approve else []
        version = None
        if approve or was_granted:
            version = _record(registry, session, head, parses, row, before, after, by, comment)
        action = "approve" if approve else "reject"
        audit.append(
            session,
            head,
            by.actor,
            action,
            _edge(row),
            {
                "id": row.id,
                "comment": comment,
                "version": version,
                "revision": row.revision,
                "methods": row.methods,
                "expires": row.expires,
            },
        )
    return row


def _check_state(row: Approval, approve: bool, revision: int | None) -> None:
    allowed = ("pending", "rejected") if approve else ("pending", "approved")
    if row.state not in allowed:
        raise ApiError(
            409,
            f"request {row.id} is {row.state}; it can no longer be "
            f"{'approved' if approve else 'rejected'}",
        )
    if revision is not None and revision != row.revision:
        raise ApiError(
            409,
            f"request {row.id} changed since you looked (revision {revision}, now "
            f"{row.revision}: {_scope(row)}); reload it and decide again",
        )


def _key(row: Approval) -> tuple[str, str, str]:
    return row.caller, row.target, row.interface


def _record(
    registry: Registry,
    session: Any,
    head: Any,
    parses: dict[str, Parsed],
    row: Approval,
    before: list[ApprovedGrant],
    after: list[ApprovedGrant],
    by: Principal,
    comment: str,
) -> int:
    provider = parses.get(row.provider_team) or Parsed(
        row.provider_team, 0, (), Declarations((), (), ()), ()
    )
    found = impact(
        parses,
        provider,
        before,
        after,
        registry.today(),
        full=False,
        owners=load_owners(session),
    )
    opened, closed = found.changes()
    kind = "approval" if row.state == "approved" else "revocation"
    return record_version(
        session,
        head,
        kind,
        row.provider_team,
        by.actor,
        f"{kind} of {_edge(row)}: {comment}".strip(),
        opened,
        closed,
    )


def _scope(row: Approval) -> str:
    methods = ", ".join(json.loads(row.methods or "[]")) or "every method"
    return f"{methods}; {'until ' + row.expires if row.expires else 'no expiry'}"


def _require_owner(by: Principal, row: Approval, parses: dict[str, Parsed]) -> None:
    owners = team_owners(parses, row.provider_team)
    if by.team != row.provider_team or by.name not in owners:
        listed = ", ".join(sorted(owners)) or "nobody (the team declares no owners)"
        raise ApiError(
            403,
            f"only an owner of team '{row.provider_team}' may decide on {_edge(row)} "
            f"(owners: {listed}; use a token of that team issued to one of them)",
            subject=_edge(row),
        )


def _edge(row: Approval) -> str:
    return f"{row.caller} -> {row.target}:{row.interface}"


def approval_to_dict(row: Approval) -> dict[str, Any]:
    """A request as JSON."""
    return {
        "id": row.id,
        "edge": _edge(row),
        "caller": row.caller,
        "target": row.target,
        "interface": row.interface,
        "callerTeam": row.caller_team,
        "providerTeam": row.provider_team,
        "state": row.state,
        "reason": row.reason,
        "requestedVersion": row.requested_version,
        "requestedAt": row.requested_at,
        "decidedBy": row.decided_by,
        "decidedAt": row.decided_at,
        "comment": row.comment,
        "port": row.port,
        "methods": json.loads(row.methods or "[]"),
        "expires": row.expires,
        "revision": row.revision,
        "scope": _scope(row),
        "granted": _granted(row),
    }


def _granted(row: Approval) -> dict[str, Any] | None:
    """What is approved now (may be less than a pending request asks)."""
    if not row.granted_by:
        return None
    methods = json.loads(row.granted_methods or "[]")
    return {
        "by": row.granted_by,
        "methods": methods,
        "expires": row.granted_expires,
        "scope": f"{', '.join(methods) or 'every method'}; "
        f"{'until ' + row.granted_expires if row.granted_expires else 'no expiry'}",
    }

"""Provider consent through the registry: owners of the provider's team approve or reject.

Approving turns a pending request into a grant (the caller joins the interface's consumers and
the dependency gets ``approvedBy``), which opens the flow in a new version. Rejecting a pending
request records the decision; rejecting an approved one revokes the grant and closes the flow.
"""

from __future__ import annotations

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
from trustmap.server.state import Grant, Parsed, load_grants
from trustmap.server.store import Registry

__all__ = ["STATES", "approval_to_dict", "decide", "list_approvals"]

STATES = ("pending", "approved", "rejected", "withdrawn")


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
    registry: Registry, by: Principal, approval_id: int, approve: bool, comment: str
) -> Approval:
    """Approve or reject request ``approval_id`` as ``by``.

    Raises:
        ApiError: 404 unknown request, 403 not an owner of the provider's team, 409 when the
            request is not in a state the decision applies to.
    """
    with registry.database.writing() as (session, head):
        row = session.get(Approval, approval_id)
        if row is None:
            raise ApiError(404, f"no approval request with id {approval_id}")
        parses = registry.cache.parses(session)
        _require_owner(by, row, parses)
        allowed = ("pending", "rejected") if approve else ("pending", "approved")
        if row.state not in allowed:
            raise ApiError(
                409,
                f"request {approval_id} is {row.state}; it can no longer be "
                f"{'approved' if approve else 'rejected'}",
            )
        was_granted = row.state == "approved"
        before = load_grants(session)
        grant = Grant(row.caller, row.target, row.interface, by.name)
        after = (
            [*before, grant]
            if approve
            else [
                g
                for g in before
                if (g.caller, g.target, g.interface) != (row.caller, row.target, row.interface)
            ]
        )
        row.state = "approved" if approve else "rejected"
        row.decided_by, row.decided_at, row.comment = by.name, audit.now(), comment
        version = None
        if approve or was_granted:
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
            kind = "approval" if approve else "revocation"
            version = record_version(
                session,
                head,
                kind,
                row.provider_team,
                by.actor,
                f"{kind} of {_edge(row)}: {comment}".strip(),
                opened,
                closed,
            )
        action = "approve" if approve else "reject"
        audit.append(
            session,
            head,
            by.actor,
            action,
            _edge(row),
            {"id": row.id, "comment": comment, "version": version},
        )
    return row


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
    }

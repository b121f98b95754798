"""Moving a service between teams: an owner of the giving team asks, an owner of the receiving
team accepts, and both steps are in the audit log.

Accepting changes the recorded owner and opens a version (the graph may change: the receiving
team's declaration now counts, the giving team's copy only until the receiver declares it). The
giving team must drop the service from its files at its next push (TM703 otherwise).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from trustmap.server import audit
from trustmap.server.auth import Principal
from trustmap.server.errors import ApiError
from trustmap.server.history import record_version
from trustmap.server.impact import flow_key
from trustmap.server.models import ServiceOwner, Transfer
from trustmap.server.ownership import load_owners, owner_of, team_owners
from trustmap.server.state import Parsed, build, load_grants
from trustmap.server.store import Registry

__all__ = ["accept", "list_transfers", "request", "transfer_to_dict", "withdraw"]


def request(registry: Registry, by: Principal, ref: str, to_team: str) -> Transfer:
    """An owner of ``ref``'s team asks to give it to ``to_team``."""
    with registry.database.writing() as (session, head):
        parses = registry.cache.parses(session)
        owner = owner_of(ref, load_owners(session), parses)
        if owner is None:
            raise ApiError(404, f"no team owns service {ref}")
        _require_owner(by, owner, parses, f"give away {ref}")
        if to_team == owner:
            raise ApiError(409, f"service {ref} already belongs to team '{owner}'")
        if _open(session, ref) is not None:
            raise ApiError(409, f"a transfer of {ref} is already waiting; withdraw it first")
        row = Transfer(
            ref=ref,
            from_team=owner,
            to_team=to_team,
            state="pending",
            requested_by=by.actor,
            requested_at=audit.now(),
        )
        session.add(row)
        session.flush()
        audit.append(session, head, by.actor, "transfer.request", f"service:{ref}", _detail(row))
    return row


def accept(registry: Registry, by: Principal, transfer_id: int) -> Transfer:
    """An owner of the receiving team accepts: the service is theirs from this version on."""
    with registry.database.writing() as (session, head):
        row = _pending(session, transfer_id)
        parses = registry.cache.parses(session)
        _require_owner(by, row.to_team, parses, f"accept {row.ref}")
        owners = load_owners(session)
        before = _flows(registry, parses, session, owners)
        moved = {**owners, row.ref: row.to_team}
        current = session.get(ServiceOwner, row.ref)
        if current is None:
            session.add(ServiceOwner(ref=row.ref, team=row.to_team, since_version=0))
        else:
            current.team = row.to_team
        after = _flows(registry, parses, session, moved)
        version = record_version(
            session,
            head,
            "transfer",
            row.to_team,
            by.actor,
            f"transfer of {row.ref} from {row.from_team} to {row.to_team}",
            sorted(after - before),
            sorted(before - after),
        )
        session.get(ServiceOwner, row.ref).since_version = version  # type: ignore[union-attr]
        row.state, row.decided_by, row.decided_at = "accepted", by.actor, audit.now()
        audit.append(
            session,
            head,
            by.actor,
            "transfer.accept",
            f"service:{row.ref}",
            {**_detail(row), "version": version},
        )
    return row


def withdraw(registry: Registry, by: Principal, transfer_id: int) -> Transfer:
    """An owner of either team ends a waiting transfer without moving the service."""
    with registry.database.writing() as (session, head):
        row = _pending(session, transfer_id)
        parses = registry.cache.parses(session)
        owners = team_owners(parses, row.from_team) | team_owners(parses, row.to_team)
        if by.team not in (row.from_team, row.to_team) or by.name not in owners:
            raise ApiError(
                403,
                f"only an owner of team '{row.from_team}' or '{row.to_team}' may withdraw "
                f"transfer {row.id}",
                subject=f"service:{row.ref}",
            )
        row.state, row.decided_by, row.decided_at = "withdrawn", by.actor, audit.now()
        audit.append(
            session, head, by.actor, "transfer.withdraw", f"service:{row.ref}", _detail(row)
        )
    return row


def list_transfers(registry: Registry, state: str | None) -> list[Transfer]:
    """Transfers in ``state`` (all when ``None``), oldest first."""
    query = select(Transfer).order_by(Transfer.id)
    if state is not None:
        query = query.where(Transfer.state == state)
    with registry.database.reading() as session:
        return list(session.scalars(query).all())


def transfer_to_dict(row: Transfer) -> dict[str, Any]:
    """A transfer as JSON."""
    return {
        "id": row.id,
        "service": row.ref,
        "fromTeam": row.from_team,
        "toTeam": row.to_team,
        "state": row.state,
        "requestedBy": row.requested_by,
        "requestedAt": row.requested_at,
        "decidedBy": row.decided_by,
        "decidedAt": row.decided_at,
    }


def _detail(row: Transfer) -> dict[str, Any]:
    return {"id": row.id, "from": row.from_team, "to": row.to_team}


def _open(session: Any, ref: str) -> Transfer | None:
    found: Transfer | None = session.scalars(
        select(Transfer).where(Transfer.ref == ref, Transfer.state == "pending")
    ).first()
    return found


def _pending(session: Any, transfer_id: int) -> Transfer:
    row: Transfer | None = session.get(Transfer, transfer_id)
    if row is None:
        raise ApiError(404, f"no transfer with id {transfer_id}")
    if row.state != "pending":
        raise ApiError(409, f"transfer {transfer_id} is {row.state}")
    return row


def _require_owner(by: Principal, team: str, parses: dict[str, Parsed], what: str) -> None:
    owners = team_owners(parses, team)
    if by.team != team or by.name not in owners:
        listed = ", ".join(sorted(owners)) or "nobody (the team declares no owners)"
        raise ApiError(
            403,
            f"only an owner of team '{team}' may {what} (owners: {listed}; use a token of that "
            "team issued to one of them)",
            subject=f"team:{team}",
        )


def _flows(
    registry: Registry, parses: dict[str, Parsed], session: Any, owners: dict[str, str]
) -> set[str]:
    graph = build(parses.values(), load_grants(session), registry.today(), owners)
    return {flow_key(e) for e in graph.edges}

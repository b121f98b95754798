"""What a team's push asks of providers, and how approval requests follow the declarations.

An approval covers exactly what its approver saw: the interface (and its port), the methods
(none listed = every method) and the expiry. A dependency that asks for more — another method,
every method, a later expiry or none — keeps its approved part (the graph cuts it down, see
:func:`trustmap.server.state.apply_grants`) and opens the request again for the rest; a pending
request always shows what is asked now (methods, expiry, reason). Removing the dependency ends
the approval; narrowing it back within the grant withdraws the widening.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trustmap.diagnostics import Span
from trustmap.model import Graph, Service, ServiceRef
from trustmap.server import audit
from trustmap.server.impact import pending_requests
from trustmap.server.models import Approval
from trustmap.server.state import ApprovedGrant, grant_of, target_ref

__all__ = ["Ask", "asks", "sync_requests"]

Key = tuple[str, str, str]
"""``(caller, target, interface)``."""


@dataclass(frozen=True, slots=True)
class Ask:
    """A dependency that needs a decision of its provider's owners."""

    caller: str
    target: str
    interface: str
    methods: tuple[str, ...]
    """Sorted; empty = every method."""
    expires: dt.date | None
    reason: str
    port: str
    """``port/protocol`` of the provider interface."""
    provider_team: str
    span: Span

    def fields(self) -> tuple[str, str | None, str, str]:
        """What an approval row stores of the ask."""
        expires = self.expires.isoformat() if self.expires else None
        return json.dumps(list(self.methods)), expires, self.reason, self.port


def asks(
    graph: Graph, services: Iterable[Service], grants: Mapping[Key, ApprovedGrant]
) -> tuple[dict[Key, Ask], set[Key]]:
    """What ``services`` (as declared, before grants) ask that no grant covers, and every
    ``(caller, target, interface)`` they declare."""
    waiting = {
        (str(r.source), target_ref(r.dependency), interface)
        for r, interface in pending_requests(graph, frozenset(graph.services))
    }
    found: dict[Key, Ask] = {}
    declared: set[Key] = set()
    for service in services:
        for dep in service.depends_on:
            target = target_ref(dep)
            provider = graph.services.get(ServiceRef(*target.partition("/")[::2]))
            if provider is None:
                continue
            sole = provider.interfaces[0].name if len(provider.interfaces) == 1 else None
            interface = dep.interface or sole
            if interface is None:
                continue
            key = (str(service.ref), target, interface)
            if key in declared:
                continue
            declared.add(key)
            grant = grants.get(key)
            methods = tuple(sorted(set(dep.methods)))
            if (grant is None and key in waiting) or (
                grant is not None and not grant.covers(methods, dep.expires)
            ):
                offered = provider.interface(interface)
                port = f"{offered.port}/{offered.protocol}" if offered else ""
                found[key] = Ask(
                    *key,
                    methods,
                    dep.expires,
                    dep.reason or "",
                    port,
                    provider.team,
                    dep.at("service"),
                )
    return found, declared


def sync_requests(
    session: Session, graph: Graph, team: str, services: Iterable[Service], version: int
) -> tuple[list[Approval], list[Ask]]:
    """Bring the requests involving ``team`` in line with its new declarations: returns the
    pending rows of its asks and the asks themselves."""
    rows = session.scalars(
        select(Approval).where(or_(Approval.caller_team == team, Approval.provider_team == team))
    ).all()
    existing = {(r.caller, r.target, r.interface): r for r in rows}
    grants = {k: grant_of(r) for k, r in existing.items() if r.granted_by}
    wanted, declared = asks(graph, services, grants)
    still = {
        (str(r.source), target_ref(r.dependency), i)
        for r, i in pending_requests(graph, frozenset(graph.services))
    }
    for key, known in existing.items():
        if known.caller_team == team and key not in declared:
            _end(known)
        elif known.state == "pending" and (
            (known.caller_team == team and key not in wanted)
            or (not known.granted_by and key not in still)
        ):
            _settle(known)
    pending = []
    for key, ask in sorted(wanted.items()):
        row: Approval | None = existing.get(key) or _stored(session, key)
        if row is None:
            row = _new(ask, team, version)
            session.add(row)
        else:
            _ask_again(row, ask, version)
        if row.state == "pending":
            pending.append(row)
    session.flush()
    return pending, list(wanted.values())


def _stored(session: Session, key: Key) -> Approval | None:
    found: Approval | None = session.scalars(
        select(Approval).where(
            Approval.caller == key[0], Approval.target == key[1], Approval.interface == key[2]
        )
    ).first()
    return found


def _end(row: Approval) -> None:
    """The caller no longer declares the dependency: a grant ends, a request is withdrawn."""
    if row.granted_by:
        row.state, row.comment = "ended", "dependency removed by its caller; the approval ended"
        row.granted_by = row.granted_methods = row.granted_expires = None
    elif row.state == "pending":
        row.state, row.comment = "withdrawn", "dependency removed by its caller"


def _settle(row: Approval) -> None:
    """The ask is covered again (narrowed back within the grant, or consented in the files)."""
    if row.granted_by:
        row.state, row.comment = "approved", "the widening was withdrawn; the approval stands"
        row.methods = row.granted_methods or "[]"
        row.expires = row.granted_expires
    else:
        row.state, row.comment = "withdrawn", "dependency removed or consented in the declarations"


def _new(ask: Ask, team: str, version: int) -> Approval:
    methods, expires, reason, port = ask.fields()
    return Approval(
        caller=ask.caller,
        target=ask.target,
        interface=ask.interface,
        caller_team=team,
        provider_team=ask.provider_team,
        state="pending",
        reason=reason,
        methods=methods,
        expires=expires,
        port=port,
        revision=1,
        requested_version=version,
        requested_at=audit.now(),
        comment="",
    )


def _ask_again(row: Approval, ask: Ask, version: int) -> None:
    """A known request: show what is asked now; reopen it unless it was rejected as it is."""
    fields = ask.fields()
    changed = (row.methods, row.expires, row.reason, row.port) != fields
    if row.state == "rejected" and not changed:
        return
    if changed:
        row.methods, row.expires, row.reason, row.port = fields
        row.revision = (row.revision or 1) + 1
    if row.state != "pending":
        row.state, row.requested_version, row.requested_at = "pending", version, audit.now()
        row.decided_by = row.decided_at = None
        row.comment = ""

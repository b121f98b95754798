"""Versions and diffs: every accepted change is numbered; any two versions can be compared.

Each version stores the flows it opened and closed, so a diff replays the changes between two
versions: a flow whose first change after ``a`` is an opening was closed at ``a``, and one whose
last change up to ``b`` is an opening is open at ``b``. No graph is rebuilt for a diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustmap.server import audit
from trustmap.server.errors import ApiError
from trustmap.server.models import FlowChange, Head, TeamHead, Version, VersionFile
from trustmap.server.store import Registry

__all__ = ["Diff", "diff", "record_version", "team_files", "version", "version_to_dict", "versions"]


@dataclass(frozen=True, slots=True)
class Diff:
    """Flows opened and closed between two versions."""

    base: int
    head: int
    opened: list[str]
    closed: list[str]


def versions(registry: Registry, limit: int, before: int | None, team: str | None) -> list[Version]:
    """Newest versions first, optionally before a number and for one team."""
    query = select(Version).order_by(Version.number.desc()).limit(limit)
    if before is not None:
        query = query.where(Version.number < before)
    if team is not None:
        query = query.where(Version.team == team)
    with registry.database.reading() as session:
        return list(session.scalars(query).all())


def version(registry: Registry, number: int) -> tuple[Version, list[FlowChange], list[str]]:
    """One version, its flow changes and (for pushes) the paths of its files."""
    with registry.database.reading() as session:
        row = session.get(Version, number)
        if row is None:
            raise ApiError(404, f"no version {number}{_latest(session)}")
        changes = session.scalars(
            select(FlowChange)
            .where(FlowChange.version == number)
            .order_by(FlowChange.op, FlowChange.flow)
        ).all()
        paths = session.scalars(
            select(VersionFile.path).where(VersionFile.version == number).order_by(VersionFile.path)
        ).all()
        return row, list(changes), list(paths)


def _latest(session: Any) -> str:
    top = session.scalars(select(Head.version).where(Head.id == 1)).one()
    return f" (the latest is {top})" if top else " (nothing was pushed yet)"


def diff(registry: Registry, base: int, head: int) -> Diff:
    """Flows opened and closed from version ``base`` to version ``head`` (either order)."""
    with registry.database.reading() as session:
        top = session.scalars(select(Head.version).where(Head.id == 1)).one()
        for number in (base, head):
            if number < 0 or number > top:
                raise ApiError(404, f"no version {number} (versions run from 0 to {top})")
        low, high = sorted((base, head))
        rows = session.execute(
            select(FlowChange.flow, FlowChange.op)
            .where(FlowChange.version > low, FlowChange.version <= high)
            .order_by(FlowChange.version, FlowChange.id)
        ).all()
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    for flow, op in rows:
        first.setdefault(flow, op)
        last[flow] = op
    opened = sorted(f for f in last if first[f] == "open" and last[f] == "open")
    closed = sorted(f for f in last if first[f] == "close" and last[f] == "close")
    if base > head:
        opened, closed = closed, opened
    return Diff(base, head, opened, closed)


def team_files(registry: Registry, team: str, at: int | None) -> tuple[int, list[VersionFile]]:
    """A team's files at its latest version, or as they stood at version ``at``."""
    with registry.database.reading() as session:
        if at is None:
            number = session.scalars(select(TeamHead.version).where(TeamHead.team == team)).first()
        else:
            number = session.scalars(
                select(func.max(Version.number)).where(
                    Version.team == team, Version.kind == "push", Version.number <= at
                )
            ).first()
        if not number:
            return 0, []
        files = session.scalars(
            select(VersionFile).where(VersionFile.version == number).order_by(VersionFile.path)
        ).all()
        return number, list(files)


def version_to_dict(row: Version) -> dict[str, Any]:
    """A version's summary as JSON."""
    return {
        "version": row.number,
        "kind": row.kind,
        "team": row.team,
        "actor": row.actor,
        "message": row.message,
        "createdAt": row.created_at,
        "opened": row.opened,
        "closed": row.closed,
    }


def record_version(
    session: Session,
    head: Head,
    kind: str,
    team: str,
    actor: str,
    message: str,
    opened: list[str],
    closed: list[str],
) -> int:
    """Add the next version with its flow changes; returns its number."""
    head.version += 1
    number = head.version
    session.add(
        Version(
            number=number,
            kind=kind,
            team=team,
            actor=actor,
            message=message,
            created_at=audit.now(),
            opened=len(opened),
            closed=len(closed),
        )
    )
    session.flush()
    session.add_all([FlowChange(version=number, op="open", flow=f[:1200]) for f in opened])
    session.add_all([FlowChange(version=number, op="close", flow=f[:1200]) for f in closed])
    return number

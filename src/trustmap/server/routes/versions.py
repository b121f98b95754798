"""``/api/v1/versions`` and ``/api/v1/diff``: the history of the organisation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from trustmap.server.history import diff, version, version_to_dict, versions
from trustmap.server.routes.deps import NAME, Reader, RegistryDep

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["versions"])
Number = Annotated[int, Query(ge=0, le=2**31 - 1)]


@router.get("/versions", summary="Versions, newest first")
def list_versions(
    registry: RegistryDep,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    team: Annotated[str | None, Query(pattern=NAME, max_length=63)] = None,
) -> dict[str, Any]:
    """Accepted pushes and approvals, with how many flows each opened and closed."""
    return {"versions": [version_to_dict(v) for v in versions(registry, limit, before, team)]}


@router.get("/versions/{number}", summary="One version")
def read_version(
    number: Annotated[int, Path(ge=1, le=2**31 - 1)], registry: RegistryDep, _: Reader
) -> dict[str, Any]:
    """A version with the flows it opened and closed and the files it stored."""
    row, changes, paths = version(registry, number)
    return {
        **version_to_dict(row),
        "files": paths,
        "openedFlows": [c.flow for c in changes if c.op == "open"],
        "closedFlows": [c.flow for c in changes if c.op == "close"],
    }


@router.get("/diff", summary="Flows opened and closed between two versions")
def read_diff(registry: RegistryDep, _: Reader, base: Number, head: Number) -> dict[str, Any]:
    """What changed in the allowed flows from version ``base`` to version ``head``."""
    found = diff(registry, base, head)
    return {"base": found.base, "head": found.head, "opened": found.opened, "closed": found.closed}

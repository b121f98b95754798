"""``/api/v1/approvals``: pending dependencies and the provider owners' decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from trustmap.server.approvals import approval_to_dict, decide, list_approvals
from trustmap.server.routes.declarations import clean_text
from trustmap.server.routes.deps import NAME, Reader, RegistryDep, Writer

__all__ = ["DecisionIn", "router"]

router = APIRouter(prefix="/api/v1", tags=["approvals"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class DecisionIn(BaseModel):
    """An owner's decision."""

    model_config = ConfigDict(extra="forbid", strict=True)
    comment: str = Field(default="", max_length=2000, description="Why (kept in the audit log)")
    revision: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="The request's revision the decision is about; 409 if it changed since",
    )

    _clean = field_validator("comment")(clean_text)


@router.get("/approvals", summary="Approval requests")
def approvals(
    registry: RegistryDep,
    _: Reader,
    state: Annotated[
        str | None, Query(pattern="^(pending|approved|rejected|withdrawn|ended)$")
    ] = "pending",
    team: Annotated[str | None, Query(pattern=NAME, max_length=63)] = None,
) -> dict[str, Any]:
    """Requests in ``state`` (default pending), for one team as caller or provider."""
    return {"approvals": [approval_to_dict(a) for a in list_approvals(registry, state, team)]}


@router.post("/approvals/{approval_id}/approve", summary="Approve a pending dependency")
def approve(approval_id: Id, body: DecisionIn, registry: RegistryDep, by: Writer) -> dict[str, Any]:
    """An owner of the provider's team consents; the flow opens in a new version."""
    return approval_to_dict(decide(registry, by, approval_id, True, body.comment, body.revision))


@router.post("/approvals/{approval_id}/reject", summary="Reject (or revoke) a dependency")
def reject(approval_id: Id, body: DecisionIn, registry: RegistryDep, by: Writer) -> dict[str, Any]:
    """An owner of the provider's team refuses a pending request or revokes an approval."""
    return approval_to_dict(decide(registry, by, approval_id, False, body.comment, body.revision))

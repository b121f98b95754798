"""``/api/v1/transfers``: moving a service between teams, asked and accepted by both owners."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from trustmap.server.routes.deps import NAME, Reader, RegistryDep, Writer
from trustmap.server.transfers import accept, list_transfers, request, transfer_to_dict, withdraw

__all__ = ["TransferIn", "router"]

router = APIRouter(prefix="/api/v1", tags=["transfers"])
Label = Annotated[str, Path(pattern=NAME, max_length=63)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or bad token"},
    403: {"description": "not an owner of the team concerned"},
    404: {"description": "unknown service or transfer"},
    409: {"description": "already owned by that team, or not waiting any more"},
}


class TransferIn(BaseModel):
    """Where a service should go."""

    model_config = ConfigDict(extra="forbid", strict=True)
    to: str = Field(pattern=NAME, max_length=63, description="The receiving team")


@router.post(
    "/services/{namespace}/{name}/transfer",
    status_code=201,
    summary="Offer a service to another team (owner of its team)",
    responses=_ERRORS,
)
def offer(
    namespace: Label, name: Label, body: TransferIn, registry: RegistryDep, by: Writer
) -> dict[str, Any]:
    """An owner of the service's team asks to move it; it moves when the receiver accepts."""
    return transfer_to_dict(request(registry, by, f"{namespace}/{name}", body.to))


@router.get("/transfers", summary="Service transfers")
def transfers(
    registry: RegistryDep,
    _: Reader,
    state: Annotated[str | None, Query(pattern="^(pending|accepted|withdrawn)$")] = None,
) -> dict[str, Any]:
    """Transfers, oldest first, optionally in one state."""
    return {"transfers": [transfer_to_dict(t) for t in list_transfers(registry, state)]}


@router.post(
    "/transfers/{transfer_id}/accept",
    summary="Accept a service (owner of the receiving team)",
    responses=_ERRORS,
)
def accept_transfer(transfer_id: Id, registry: RegistryDep, by: Writer) -> dict[str, Any]:
    """The service belongs to the receiving team from the new version on."""
    return transfer_to_dict(accept(registry, by, transfer_id))


@router.post(
    "/transfers/{transfer_id}/withdraw",
    summary="Withdraw a waiting transfer (either owner)",
    responses=_ERRORS,
)
def withdraw_transfer(transfer_id: Id, registry: RegistryDep, by: Writer) -> dict[str, Any]:
    """Nothing moves; the request is closed."""
    return transfer_to_dict(withdraw(registry, by, transfer_id))

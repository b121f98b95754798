"""``/api/v1/tokens``: the admin creates and revokes per-team API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

from trustmap.server.routes.declarations import clean_text
from trustmap.server.routes.deps import NAME, RegistryDep, Writer
from trustmap.server.store import token_to_dict

__all__ = ["TokenIn", "router"]

router = APIRouter(prefix="/api/v1", tags=["tokens"])


class TokenIn(BaseModel):
    """A token to issue."""

    model_config = ConfigDict(extra="forbid", strict=True)
    team: str = Field(pattern=NAME, max_length=63, description="Team the token may act for")
    principal: str = Field(
        min_length=1,
        max_length=200,
        description="Who holds it, e.g. alice@example.com (with the team, the audit log's actor)",
    )
    name: str = Field(default="", max_length=200, description="A label, e.g. 'ci'")

    _clean = field_validator("principal", "name")(clean_text)


@router.post("/tokens", status_code=201, summary="Issue a team token (admin)")
def create_token(body: TokenIn, registry: RegistryDep, by: Writer) -> dict[str, Any]:
    """A new token; its secret is in this response only (the registry keeps its SHA-256)."""
    row, secret = registry.create_token(by, body.team, body.principal, body.name)
    return {**token_to_dict(row), "token": secret}


@router.get("/tokens", summary="List tokens (admin)")
def list_tokens(registry: RegistryDep, by: Writer) -> dict[str, Any]:
    """Every token's metadata, newest first (never the secret or its hash)."""
    return {"tokens": [token_to_dict(t) for t in registry.tokens(by)]}


@router.delete("/tokens/{token_id}", summary="Revoke a token (admin)")
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)], registry: RegistryDep, by: Writer
) -> dict[str, Any]:
    """Revoke a token; it stops working at once."""
    return token_to_dict(registry.revoke_token(by, token_id))

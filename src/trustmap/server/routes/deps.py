"""What every route needs: the registry, the caller's principal, and checked names."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trustmap.server.auth import Principal
from trustmap.server.errors import ApiError
from trustmap.server.store import Registry

__all__ = [
    "NAME",
    "Reader",
    "Writer",
    "get_registry",
    "principal_of",
    "read_principal",
    "write_principal",
]

NAME = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
"""A DNS-1123 label: team, namespace and service names in paths and queries."""

_bearer = HTTPBearer(auto_error=False, description="A team token (tmt_...) or the admin token")


def get_registry(request: Request) -> Registry:
    """The app's registry."""
    registry: Registry = request.app.state.registry
    return registry


def principal_of(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller's principal from ``Authorization: Bearer``; 401 for a bad token. The API never
    reads the UI's session cookie, so no other site can make a browser call it."""
    raw = credentials.credentials if credentials else None
    if not raw:
        return None
    principal = get_registry(request).authenticate(raw)
    if principal is None:
        raise ApiError(401, "the token is unknown or revoked")
    request.state.principal = principal
    return principal


def read_principal(
    request: Request, principal: Annotated[Principal | None, Depends(principal_of)]
) -> Principal | None:
    """Readers: anyone when reads are public, else a valid token."""
    if principal is None and get_registry(request).settings.read_access == "token":
        raise ApiError(
            401, "this registry is readable with a token only; send Authorization: Bearer <token>"
        )
    return principal


def write_principal(principal: Annotated[Principal | None, Depends(principal_of)]) -> Principal:
    """Writers: a valid token, always."""
    if principal is None:
        raise ApiError(401, "send a token: Authorization: Bearer <token>")
    return principal


Reader = Annotated[Principal | None, Depends(read_principal)]
Writer = Annotated[Principal, Depends(write_principal)]
RegistryDep = Annotated[Registry, Depends(get_registry)]

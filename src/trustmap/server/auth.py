"""Who is asking: the admin token, per-team API tokens (stored as SHA-256 only), and the rules.

Tokens are 256 random bits, so one SHA-256 is enough to make a stolen database useless for
authentication (no password stretching is needed). The admin token comes from the settings and
is compared in constant time; it manages tokens and may push any scope, but approving is left to
the provider's owners.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustmap.server.models import Token

__all__ = ["TOKEN_PREFIX", "Principal", "authenticate", "hash_token", "new_token"]

TOKEN_PREFIX = "tmt_"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    kind: Literal["admin", "team"]
    """The admin token, or a team's token."""
    team: str | None
    """The token's team (``None`` for admin)."""
    name: str
    """Who holds the token: a person or group named in Team owners, a CI job..."""
    token_id: int | None = None
    """Database id of the team token."""

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        return "admin" if self.kind == "admin" else f"{self.team}:{self.name}"

    @property
    def is_admin(self) -> bool:
        """Whether this is the admin token."""
        return self.kind == "admin"


def new_token() -> str:
    """A fresh random token (shown once, never stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticate(session: Session, raw: str | None, admin_token: str | None) -> Principal | None:
    """The principal holding ``raw``, or ``None`` for a missing, unknown or revoked token."""
    if not raw:
        return None
    if admin_token and hmac.compare_digest(raw.encode(), admin_token.encode()):
        return Principal("admin", None, "admin")
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    row = session.scalars(select(Token).where(Token.hash == hash_token(raw))).first()
    if row is None or row.revoked_at is not None:
        return None
    return Principal("team", row.team, row.principal, row.id)

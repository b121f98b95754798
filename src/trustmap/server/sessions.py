"""Web UI sessions kept by the server: the browser holds a random id, never an API token.

``POST /login`` checks a token and starts a session; the ``__Host-`` cookie (Secure, HttpOnly,
SameSite=Strict, Path=/, no Domain, so no other host or port can set or read it) carries the
session id, of which only the SHA-256 is stored. Each session has its own CSRF secret, checked
against the form field: a cookie planted from another port of the same host cannot supply it.
A session follows its token (revoking the token ends it), expires after
:data:`SESSION_HOURS`, and ``POST /logout`` ends it at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustmap.server import audit
from trustmap.server.auth import Principal
from trustmap.server.models import Token, UiSession
from trustmap.server.store import Registry

__all__ = ["COOKIE", "SESSION_HOURS", "Login", "end", "find", "start"]

COOKIE = "__Host-trustmap_session"
"""The session cookie (the ``__Host-`` prefix makes browsers refuse it from anywhere else)."""
SESSION_HOURS = 12
"""How long a UI login lasts."""


@dataclass(frozen=True, slots=True)
class Login:
    """A live session: who, and the CSRF secret its forms carry."""

    principal: Principal
    csrf: str

    def csrf_matches(self, sent: str) -> bool:
        """Whether a form's CSRF field is this session's."""
        return hmac.compare_digest(self.csrf.encode(), sent.encode())


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(registry: Registry, principal: Principal) -> str:
    """A new session for ``principal``; returns the id for the cookie."""
    session_id, now = secrets.token_urlsafe(32), dt.datetime.now(dt.UTC)
    with registry.database.writing() as (session, head):
        session.add(
            UiSession(
                id_hash=_hash(session_id),
                token_id=principal.token_id,
                csrf=secrets.token_urlsafe(32),
                created_at=now.isoformat(),
                expires_at=(now + dt.timedelta(hours=SESSION_HOURS)).isoformat(),
            )
        )
        audit.append(session, head, principal.actor, "login", "ui", {})
    return session_id


def find(registry: Registry, session_id: str | None) -> Login | None:
    """The live session with ``session_id``: not ended, not expired, its token still valid."""
    if not session_id or len(session_id) > 100:
        return None
    with registry.database.reading() as session:
        row = session.get(UiSession, _hash(session_id))
        if row is None or row.ended_at is not None:
            return None
        if dt.datetime.fromisoformat(row.expires_at) <= dt.datetime.now(dt.UTC):
            return None
        principal = _principal(registry, session, row.token_id)
        return Login(principal, row.csrf) if principal else None


def _principal(registry: Registry, session: Session, token_id: int | None) -> Principal | None:
    if token_id is None:
        return Principal("admin", None, "admin") if registry.settings.admin_token else None
    row = session.scalars(select(Token).where(Token.id == token_id)).first()
    if row is None or row.revoked_at is not None:
        return None
    return Principal("team", row.team, row.principal, row.id)


def end(registry: Registry, session_id: str | None) -> None:
    """End the session (logout); unknown ids are ignored."""
    if not session_id or len(session_id) > 100:
        return
    with registry.database.writing() as (session, head):
        row = session.get(UiSession, _hash(session_id))
        if row is not None and row.ended_at is None:
            row.ended_at = audit.now()
            who = _principal(registry, session, row.token_id)
            audit.append(session, head, who.actor if who else "anonymous", "logout", "ui", {})

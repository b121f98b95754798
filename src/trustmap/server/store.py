"""The registry as one object: database, graph cache and settings, plus the small write paths
(tokens, denials). Pushes, approvals and history have their own modules; routes call these.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from trustmap.loader import Limits
from trustmap.server import audit
from trustmap.server.auth import Principal, authenticate, hash_token, new_token
from trustmap.server.db import Database, upgrade
from trustmap.server.errors import ApiError
from trustmap.server.models import TeamHead, Token
from trustmap.server.settings import Settings
from trustmap.server.state import GraphCache, Snapshot

__all__ = ["Memo", "Registry", "etag_for", "token_to_dict"]

DENIALS_PER_MINUTE = 120
"""Refused requests written to the audit log per minute and process; more are counted."""

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """A small, thread-safe cache owned by one registry (never shared between apps): results
    keyed by version are only ever read by the app whose database produced them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value kept for ``key``, if any."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        """Keep ``value``; forgets everything first when full (keys are per version)."""
        with self._lock:
            if len(self._items) >= self.limit:
                self._items.clear()
            self._items[key] = value


def etag_for(team: str, version: int) -> str:
    """The strong ETag of a team's declarations at ``version`` (0 = never pushed)."""
    return f'"{team}@{version}"'


class Registry:
    """Everything a request handler needs; one per app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        if settings.migrate_on_start:
            upgrade(settings.database_url)
        key = settings.audit_key.get_secret_value().encode() if settings.audit_key else None
        self.database = Database(settings.database_url, key)
        self.limits = Limits(
            max_bytes=settings.max_request_bytes, max_depth=settings.max_yaml_depth
        )
        self.cache = GraphCache(self.database, self.limits, self.today)
        self._denials_lock = threading.Lock()
        self._denial_minute, self._denials, self._suppressed = -1, 0, 0
        self.compiled: Memo[Hashable, Any] = Memo(limit=8)
        """Compiled policies by (version, day, target, environment)."""
        self.drawings: Memo[Hashable, Any] = Memo(limit=64)
        """Laid-out UI views by (version, day, team, namespace)."""
        self.drifts: Memo[Hashable, Any] = Memo(limit=1)
        """Drift reports by (version, day, flow database modification time)."""

    def today(self) -> dt.date:
        """The day expiry is judged against."""
        return self.settings.today or dt.date.today()

    def snapshot(self) -> Snapshot:
        """The merged graph at the head version."""
        return self.cache.snapshot()

    def close(self) -> None:
        """Release database connections."""
        self.database.dispose()

    def authenticate(self, raw: str | None) -> Principal | None:
        """The principal holding token ``raw``, if valid."""
        admin = self.settings.admin_token.get_secret_value() if self.settings.admin_token else None
        with self.database.reading() as session:
            return authenticate(session, raw, admin)

    def deny(self, actor: str, subject: str, status: int, reason: str) -> bool:
        """Record a refused request in the audit log, at most :data:`DENIALS_PER_MINUTE` a
        minute (the next entry counts those left out), so refused requests cannot grow the
        database without bound. Whether it was written."""
        minute = int(time.monotonic() // 60)
        with self._denials_lock:
            if minute != self._denial_minute:
                self._denial_minute, self._denials = minute, 0
            self._denials += 1
            if self._denials > DENIALS_PER_MINUTE:
                self._suppressed += 1
                return False
            suppressed, self._suppressed = self._suppressed, 0
        detail: dict[str, Any] = {"status": status, "reason": reason[:500]}
        if suppressed:
            detail["suppressed"] = suppressed
        try:
            with self.database.writing_quickly() as (session, head):
                audit.append(session, head, actor, "denied", subject, detail)
        except SQLAlchemyError:  # another write holds the lock, or the database is down
            with self._denials_lock:
                self._suppressed += 1 + suppressed
            return False
        return True

    def team_version(self, team: str) -> int:
        """The version of a team's current files (0 when it never pushed)."""
        with self.database.reading() as session:
            return (
                session.scalars(select(TeamHead.version).where(TeamHead.team == team)).first() or 0
            )

    def team_heads(self) -> dict[str, int]:
        """Every push scope's current version."""
        with self.database.reading() as session:
            return dict(session.execute(select(TeamHead.team, TeamHead.version)).all())

    def create_token(
        self, by: Principal, team: str, principal: str, name: str
    ) -> tuple[Token, str]:
        """A new token for ``team`` held by ``principal``; returns the row and the secret."""
        _require_admin(by, "create tokens")
        secret = new_token()
        with self.database.writing() as (session, head):
            row = Token(
                team=team,
                principal=principal,
                name=name,
                hash=hash_token(secret),
                created_at=audit.now(),
            )
            session.add(row)
            session.flush()
            audit.append(
                session,
                head,
                by.actor,
                "token.create",
                f"token:{row.id}",
                {"team": team, "principal": principal, "name": name},
            )
        return row, secret

    def revoke_token(self, by: Principal, token_id: int) -> Token:
        """Revoke a token (idempotent); 404 when unknown."""
        _require_admin(by, "revoke tokens")
        with self.database.writing() as (session, head):
            row = session.get(Token, token_id)
            if row is None:
                raise ApiError(404, f"no token with id {token_id}")
            if row.revoked_at is None:
                row.revoked_at = audit.now()
                audit.append(
                    session,
                    head,
                    by.actor,
                    "token.revoke",
                    f"token:{row.id}",
                    {"team": row.team, "principal": row.principal},
                )
        return row

    def tokens(self, by: Principal) -> list[Token]:
        """Every token (admin only), newest first."""
        _require_admin(by, "list tokens")
        with self.database.reading() as session:
            return list(session.scalars(select(Token).order_by(Token.id.desc())).all())


def _require_admin(by: Principal, what: str) -> None:
    if not by.is_admin:
        raise ApiError(403, f"only the admin token may {what}")


def token_to_dict(row: Token) -> dict[str, Any]:
    """A token's public fields (never its hash)."""
    return {
        "id": row.id,
        "team": row.team,
        "principal": row.principal,
        "name": row.name,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
    }

"""The registry's tables (SQLAlchemy 2 declarative); the Alembic migrations create exactly these.

State is append-mostly: every accepted push adds a :class:`Version` and the full file set of the
pushing team; :class:`TeamHead` points at each team's latest files; :class:`Head` is the single row
every write locks, so writes are serialised on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Approval",
    "AuditEntry",
    "Base",
    "FlowChange",
    "Head",
    "ServiceOwner",
    "TeamHead",
    "Token",
    "Transfer",
    "UiSession",
    "Version",
    "VersionFile",
]


class Base(DeclarativeBase):
    """Declarative base of every registry table."""


class Head(Base):
    """The one row (id 1) holding the latest version and the audit chain's tip."""

    __tablename__ = "head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_hash: Mapped[str] = mapped_column(String(64))


class Version(Base):
    """One accepted change of the organisation: a push or an approval."""

    __tablename__ = "versions"
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    team: Mapped[str] = mapped_column(String(253), index=True)
    actor: Mapped[str] = mapped_column(String(320))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[str] = mapped_column(String(40))
    opened: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)


class VersionFile(Base):
    """A file of a team's declarations as pushed in one version."""

    __tablename__ = "version_files"
    __table_args__ = (UniqueConstraint("version", "path", name="uq_version_files_version_path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(ForeignKey("versions.number"), index=True)
    path: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)


class TeamHead(Base):
    """Each push scope's latest version: the source of its ETag."""

    __tablename__ = "team_heads"
    team: Mapped[str] = mapped_column(String(253), primary_key=True)
    version: Mapped[int] = mapped_column(ForeignKey("versions.number"))


class FlowChange(Base):
    """A flow opened or closed by a version; diffs between versions replay these."""

    __tablename__ = "flow_changes"
    __table_args__ = (Index("ix_flow_changes_version", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(ForeignKey("versions.number"))
    op: Mapped[str] = mapped_column(String(8))
    flow: Mapped[str] = mapped_column(String(1200))


class Approval(Base):
    """A dependency that needs its provider's consent: pending, approved, rejected or withdrawn."""

    __tablename__ = "approvals"
    __table_args__ = (
        UniqueConstraint("caller", "target", "interface", name="uq_approvals_edge"),
        Index("ix_approvals_state", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    caller: Mapped[str] = mapped_column(String(300))
    target: Mapped[str] = mapped_column(String(300))
    interface: Mapped[str] = mapped_column(String(253))
    caller_team: Mapped[str] = mapped_column(String(253))
    provider_team: Mapped[str] = mapped_column(String(253))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_version: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[str] = mapped_column(String(40))
    decided_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    decided_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    methods: Mapped[str] = mapped_column(Text, default="[]")
    """Methods asked for, a JSON list; empty = every method of the interface."""
    expires: Mapped[str | None] = mapped_column(String(10), nullable=True)
    """Last day asked for (ISO date), or none."""
    port: Mapped[str] = mapped_column(String(40), default="")
    """The interface's port/protocol when asked."""
    revision: Mapped[int] = mapped_column(Integer, default=1)
    """Counts changes of what is asked; a decision may name the revision it saw."""
    granted_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    """Approver of what is currently granted (none = nothing is)."""
    granted_methods: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Methods granted, a JSON list; empty = every method."""
    granted_expires: Mapped[str | None] = mapped_column(String(10), nullable=True)
    """Last day granted, or none."""


class Token(Base):
    """A team's API token; only its SHA-256 is stored."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(253), index=True)
    principal: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(40))
    revoked_at: Mapped[str | None] = mapped_column(String(40), nullable=True)


class AuditEntry(Base):
    """One append-only audit record, chained to the previous one by its hash."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(600))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """HMAC-SHA256 of ``hash`` under the audit key, when one is configured (never stored)."""


class ServiceOwner(Base):
    """Which team owns a service: the first to declare it, until an accepted transfer."""

    __tablename__ = "service_owners"
    ref: Mapped[str] = mapped_column(String(300), primary_key=True)
    team: Mapped[str] = mapped_column(String(253), index=True)
    since_version: Mapped[int] = mapped_column(Integer)


class Transfer(Base):
    """A request to move a service to another team: asked by the owner, accepted by the receiver."""

    __tablename__ = "service_transfers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(300), index=True)
    from_team: Mapped[str] = mapped_column(String(253))
    to_team: Mapped[str] = mapped_column(String(253))
    state: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(320))
    requested_at: Mapped[str] = mapped_column(String(40))
    decided_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    decided_at: Mapped[str | None] = mapped_column(String(40), nullable=True)


class UiSession(Base):
    """A web UI login: the cookie holds a random id, only its SHA-256 is stored; the CSRF
    secret of its forms lives here, so no cookie can plant one."""

    __tablename__ = "ui_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The team token logged in with (``None`` = the admin token)."""
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[str] = mapped_column(String(40))
    ended_at: Mapped[str | None] = mapped_column(String(40), nullable=True)

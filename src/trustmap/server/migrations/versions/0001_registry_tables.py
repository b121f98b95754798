"""Registry tables: versions and their files, team heads, flow changes, approvals, tokens, audit log.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("caller", sa.String(length=300), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("interface", sa.String(length=253), nullable=False),
        sa.Column("caller_team", sa.String(length=253), nullable=False),
        sa.Column("provider_team", sa.String(length=253), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_version", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.String(length=40), nullable=False),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("decided_at", sa.String(length=40), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("caller", "target", "interface", name="uq_approvals_edge"),
    )
    op.create_index("ix_approvals_state", "approvals", ["state"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=600), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("audit_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=253), nullable=False),
        sa.Column("principal", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("revoked_at", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
    )
    op.create_index(op.f("ix_tokens_team"), "tokens", ["team"], unique=False)
    op.create_table(
        "versions",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=253), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_index(op.f("ix_versions_team"), "versions", ["team"], unique=False)
    op.create_table(
        "flow_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("flow", sa.String(length=1200), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"],
            ["versions.number"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_flow_changes_version", "flow_changes", ["version"], unique=False)
    op.create_table(
        "team_heads",
        sa.Column("team", sa.String(length=253), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"],
            ["versions.number"],
        ),
        sa.PrimaryKeyConstraint("team"),
    )
    op.create_table(
        "version_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"],
            ["versions.number"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version", "path", name="uq_version_files_version_path"),
    )
    op.create_index(op.f("ix_version_files_version"), "version_files", ["version"], unique=False)
    head = sa.table(
        "head",
        sa.column("id", sa.Integer()),
        sa.column("version", sa.Integer()),
        sa.column("audit_seq", sa.Integer()),
        sa.column("audit_hash", sa.String()),
    )
    op.bulk_insert(head, [{"id": 1, "version": 0, "audit_seq": 0, "audit_hash": "0" * 64}])


def downgrade() -> None:
    op.drop_index(op.f("ix_version_files_version"), table_name="version_files")
    op.drop_table("version_files")
    op.drop_table("team_heads")
    op.drop_index("ix_flow_changes_version", table_name="flow_changes")
    op.drop_table("flow_changes")
    op.drop_index(op.f("ix_versions_team"), table_name="versions")
    op.drop_table("versions")
    op.drop_index(op.f("ix_tokens_team"), table_name="tokens")
    op.drop_table("tokens")
    op.drop_table("head")
    op.drop_table("audit_log")
    op.drop_index("ix_approvals_state", table_name="approvals")
    op.drop_table("approvals")

"""Approvals bind to what was approved: the methods and expiry asked for, and what is granted.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("methods", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("expires", sa.String(length=10), nullable=True),
        sa.Column("port", sa.String(length=40), nullable=False, server_default=""),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("granted_by", sa.String(length=320), nullable=True),
        sa.Column("granted_methods", sa.Text(), nullable=True),
        sa.Column("granted_expires", sa.String(length=10), nullable=True),
    )


def upgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        for column in _columns():
            batch.add_column(column)
    # Approvals given before scopes were recorded covered the whole interface, without expiry.
    op.execute(
        "UPDATE approvals SET granted_by = decided_by, granted_methods = '[]' "
        "WHERE state = 'approved'"
    )


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)

"""Service ownership: the team that first declared each service, and transfers between teams.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_owners",
        sa.Column("ref", sa.String(length=300), nullable=False),
        sa.Column("team", sa.String(length=253), nullable=False),
        sa.Column("since_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ref"),
    )
    op.create_index(op.f("ix_service_owners_team"), "service_owners", ["team"], unique=False)
    op.create_table(
        "service_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=300), nullable=False),
        sa.Column("from_team", sa.String(length=253), nullable=False),
        sa.Column("to_team", sa.String(length=253), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=False),
        sa.Column("requested_at", sa.String(length=40), nullable=False),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("decided_at", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_service_transfers_ref"), "service_transfers", ["ref"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_service_transfers_ref"), table_name="service_transfers")
    op.drop_table("service_transfers")
    op.drop_index(op.f("ix_service_owners_team"), table_name="service_owners")
    op.drop_table("service_owners")

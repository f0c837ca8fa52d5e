"""Users, profiles and the audit trail: FACILITY-style profiles with their access lists, role
grants, API
tokens (only their digests), and the hash-chained audit log.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profile",
        sa.Column("name", sa.String(length=246), nullable=False),
        sa.Column("uacc", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "permit",
        sa.Column("profile", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("access", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["profile"], ["profile.name"]),
        sa.PrimaryKeyConstraint("profile", "kind", "name"),
    )
    op.create_table(
        "role_grant",
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("granted_by", sa.String(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("role", "kind", "name"),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_digest"), ["digest"], unique=True)
        batch_op.create_index(batch_op.f("ix_api_token_user"), ["user"], unique=False)
    op.create_table(
        "audit",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("groups", sa.String(), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("client", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("profile", sa.String(), nullable=False),
        sa.Column("access", sa.String(), nullable=False),
        sa.Column("return_code", sa.Integer(), nullable=False),
        sa.Column("message_ids", sa.String(), nullable=False),
        sa.Column("prev", sa.String(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )


def downgrade() -> None:
    op.drop_table("audit")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user"))
        batch_op.drop_index(batch_op.f("ix_api_token_digest"))
    op.drop_table("api_token")
    op.drop_table("role_grant")
    op.drop_table("permit")
    op.drop_table("profile")

"""Why a version failed (reason, time, the version that replaced it), how many track records a
dump copy holds (an impact says what a tape restore moves), and the site's alerts with their
acknowledgements: one list for every console, kept across restarts.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("backup_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_reason", sa.String(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("failed_at", sa.Float(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("failed_by", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("dump_copy", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracks", sa.Integer(), nullable=False, server_default="-1"))
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("copy_pool", sa.String(), nullable=True),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("acknowledged_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_alert_at"), "alert", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_at"), table_name="alert")
    op.drop_table("alert")
    with op.batch_alter_table("dump_copy", schema=None) as batch_op:
        batch_op.drop_column("tracks")
    with op.batch_alter_table("backup_version", schema=None) as batch_op:
        batch_op.drop_column("failed_by")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("failed_reason")

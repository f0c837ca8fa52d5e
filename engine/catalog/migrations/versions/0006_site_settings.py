"""A site's settings (its share group, token lifetimes, which reads are audited, the key its audit
trail is sealed with, SETSYS, the dump cycle), API token expiry, and a dump class's FREQUENCY and
DAY for automatic dump.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_setting",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.Float(), nullable=True))
    with op.batch_alter_table("dump_class", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frequency", sa.Integer(), nullable=False, server_default="7"))
        batch_op.add_column(sa.Column("day", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dump_class", schema=None) as batch_op:
        batch_op.drop_column("day")
        batch_op.drop_column("frequency")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    op.drop_table("site_setting")

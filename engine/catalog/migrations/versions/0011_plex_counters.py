"""The HSMplex's copy pool serialisation (plex_enqueue: DFSMShsm's global ENQ, engine.plex.enqueue),
which host owns which domain of volumes under which fencing token (plex_owner), and relationship
ids drawn from a sequence where the database has them (PostgreSQL): the hosts of an HSMplex each
establish relationships, and a counter read, raised and written back by each would hand one id
out twice. It starts past every id the catalog ever gave (schema_info's counter, which SQLite
goes on using).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plex_enqueue",
        sa.Column("pool", sa.String(), nullable=False),
        sa.Column("system", sa.String(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("command", sa.String(), nullable=False),
        sa.Column("since", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("pool"),
    )
    op.create_table(
        "plex_owner",
        sa.Column("domain", sa.String(), nullable=False),
        sa.Column("system", sa.String(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("since", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("domain"),
    )
    bind = op.get_bind()
    if not bind.dialect.supports_sequences:
        return
    counted = bind.execute(sa.text("SELECT value FROM schema_info WHERE key = 'next_relationship_id'")).scalar()
    op.execute(sa.schema.CreateSequence(sa.Sequence("relationship_id", start=int(counted or 1))))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.supports_sequences:
        op.execute(sa.schema.DropSequence(sa.Sequence("relationship_id")))
    op.drop_table("plex_owner")
    op.drop_table("plex_enqueue")

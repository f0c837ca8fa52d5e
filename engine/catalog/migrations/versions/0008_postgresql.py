"""The catalog on PostgreSQL: byte counts and tape offsets as 64-bit integers (SQLite's INTEGER is
64-bit already, so its tables stay as they are), and tape numbers drawn from a sequence where the
database has them (SQLite keeps its counter in schema_info).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BIG = (("data_set", "bytes_used"), ("captured_extent", "bytes_used"), ("dump_copy", "bytes_stored"), ("dump_copy", "file_offset"))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    for table, column in BIG:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)
    if bind.dialect.supports_sequences:
        counted = bind.execute(sa.text("SELECT value FROM schema_info WHERE key = 'next_tape'")).scalar()
        op.execute(sa.schema.CreateSequence(sa.Sequence("tape_number", start=int(counted or 1))))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    if bind.dialect.supports_sequences:
        op.execute(sa.schema.DropSequence(sa.Sequence("tape_number")))
    for table, column in BIG:
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)

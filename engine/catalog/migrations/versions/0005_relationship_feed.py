"""Multi-target cascades: a relationship may read its point in time through a newer sibling's
target (`feed`; NULL for every relationship written before, which reads its own source).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("relationship", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feed", sa.String(), nullable=True))


def downgrade() -> None:
    chained = op.get_bind().execute(sa.text("SELECT count(*) FROM relationship WHERE feed IS NOT NULL")).scalar()
    if chained:
        # Revision 0004 cannot say where their data is: dropping the column would lose it.
        raise RuntimeError(
            f"{chained} relationships read their point in time through another target; "
            "withdraw them or let their copies complete before going back to revision 0004"
        )
    with op.batch_alter_table("relationship", schema=None) as batch_op:
        batch_op.drop_column("feed")

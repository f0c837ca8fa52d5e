"""Baseline: the catalog as schema version 2 left it (intents, ended relationships, tapes, dump
copy file offsets). A catalog made before Alembic owned the schema, with schema_version 2 and no
alembic_version table, is at this revision (`flashpool catalog upgrade` stamps it).

Revision ID: 0002
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('origin', sa.String(), nullable=False),
    sa.Column('command', sa.String(), nullable=False),
    sa.Column('copy_pool', sa.String(), nullable=True),
    sa.Column('return_code', sa.Integer(), nullable=False),
    sa.Column('messages', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_copy_pool'), ['copy_pool'], unique=False)

    op.create_table('copy_pool',
    sa.Column('name', sa.String(length=23), nullable=False),
    sa.Column('versions', sa.Integer(), nullable=False),
    sa.Column('fast_reverse_restore', sa.Boolean(), nullable=False),
    sa.Column('catalog_capture', sa.String(), nullable=False),
    sa.Column('auto_dump', sa.Boolean(), nullable=False),
    sa.Column('allow_pprc_frb', sa.String(), nullable=False),
    sa.Column('allow_pprc_frr', sa.String(), nullable=False),
    sa.Column('backup_group_override', sa.String(), nullable=True),
    sa.Column('next_version', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('data_set',
    sa.Column('name', sa.String(length=44), nullable=False),
    sa.Column('dsorg', sa.String(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('migrated', sa.Boolean(), nullable=False),
    sa.Column('bytes_used', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('dump_class',
    sa.Column('name', sa.String(length=8), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=True),
    sa.Column('fast_replication_dump', sa.String(), nullable=False),
    sa.Column('available_for_mount', sa.Boolean(), nullable=False),
    sa.Column('stack', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('ended_relationship',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('target', sa.String(), nullable=False),
    sa.Column('label', sa.String(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('intent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('copy_pool', sa.String(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('payload', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    op.create_table('relationship',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('source_start', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(), nullable=False),
    sa.Column('target_start', sa.Integer(), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(), nullable=False),
    sa.Column('persistent', sa.Boolean(), nullable=False),
    sa.Column('incremental', sa.Boolean(), nullable=False),
    sa.Column('target_write_inhibit', sa.Boolean(), nullable=False),
    sa.Column('reversed', sa.Boolean(), nullable=False),
    sa.Column('fast_reversed', sa.Boolean(), nullable=False),
    sa.Column('full_volume', sa.Boolean(), nullable=False),
    sa.Column('established_at', sa.Float(), nullable=False),
    sa.Column('tracks_copied', sa.Integer(), nullable=False),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(), nullable=False),
    sa.Column('uncopied', sa.LargeBinary(), nullable=False),
    sa.Column('through', sa.LargeBinary(), nullable=False),
    sa.Column('changed_src', sa.LargeBinary(), nullable=False),
    sa.Column('changed_tgt', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('relationship', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relationship_source'), ['source'], unique=False)
        batch_op.create_index(batch_op.f('ix_relationship_target'), ['target'], unique=False)

    op.create_table('schema_info',
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('value', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('storage_group',
    sa.Column('name', sa.String(length=8), nullable=False),
    sa.Column('type', sa.String(), nullable=False),
    sa.Column('backup_group', sa.String(), nullable=True),
    sa.Column('description', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('tape',
    sa.Column('volser', sa.String(length=6), nullable=False),
    sa.Column('file', sa.String(), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('volser')
    )
    op.create_table('backup_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('copy_pool', sa.String(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('token', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('dasd_state', sa.String(), nullable=False),
    sa.Column('dump_state', sa.String(), nullable=False),
    sa.Column('incremental', sa.Boolean(), nullable=False),
    sa.Column('catinfo', sa.String(), nullable=False),
    sa.Column('fcfrr', sa.Boolean(), nullable=False),
    sa.Column('vtocenq', sa.Boolean(), nullable=False),
    sa.Column('recovery_incomplete', sa.Boolean(), nullable=False),
    sa.Column('backup_group', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['copy_pool'], ['copy_pool.name'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('backup_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_backup_version_copy_pool'), ['copy_pool'], unique=False)

    op.create_table('copy_pool_dump_class',
    sa.Column('copy_pool', sa.String(), nullable=False),
    sa.Column('dump_class', sa.String(), nullable=False),
    sa.Column('dump_versions', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['copy_pool'], ['copy_pool.name'], ),
    sa.ForeignKeyConstraint(['dump_class'], ['dump_class.name'], ),
    sa.PrimaryKeyConstraint('copy_pool', 'dump_class')
    )
    op.create_table('copy_pool_group',
    sa.Column('copy_pool', sa.String(), nullable=False),
    sa.Column('storage_group', sa.String(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['copy_pool'], ['copy_pool.name'], ),
    sa.ForeignKeyConstraint(['storage_group'], ['storage_group.name'], ),
    sa.PrimaryKeyConstraint('copy_pool', 'storage_group')
    )
    op.create_table('data_set_extent',
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('volser', sa.String(), nullable=False),
    sa.Column('first_track', sa.Integer(), nullable=False),
    sa.Column('tracks', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['name'], ['data_set.name'], ),
    sa.PrimaryKeyConstraint('name', 'seq')
    )
    with op.batch_alter_table('data_set_extent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_set_extent_volser'), ['volser'], unique=False)

    op.create_table('volume',
    sa.Column('volser', sa.String(length=6), nullable=False),
    sa.Column('model', sa.String(), nullable=False),
    sa.Column('cylinders', sa.Integer(), nullable=False),
    sa.Column('tracks_per_cylinder', sa.Integer(), nullable=False),
    sa.Column('track_size', sa.Integer(), nullable=False),
    sa.Column('image', sa.String(), nullable=False),
    sa.Column('storage_group', sa.String(), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('controller', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['storage_group'], ['storage_group.name'], ),
    sa.PrimaryKeyConstraint('volser')
    )
    with op.batch_alter_table('volume', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_storage_group'), ['storage_group'], unique=False)

    op.create_table('captured_extent',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('volser', sa.String(), nullable=False),
    sa.Column('first_track', sa.Integer(), nullable=False),
    sa.Column('tracks', sa.Integer(), nullable=False),
    sa.Column('bytes_used', sa.Integer(), nullable=False),
    sa.Column('dsorg', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['backup_version.id'], ),
    sa.PrimaryKeyConstraint('version_id', 'name', 'seq')
    )
    op.create_table('dump_copy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('dump_class', sa.String(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('tape', sa.String(), nullable=False),
    sa.Column('file', sa.String(), nullable=False),
    sa.Column('file_index', sa.Integer(), nullable=False),
    sa.Column('file_offset', sa.Integer(), nullable=False),
    sa.Column('bytes_stored', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['backup_version.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dump_copy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dump_copy_version_id'), ['version_id'], unique=False)

    op.create_table('version_pair',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('target', sa.String(), nullable=False),
    sa.Column('storage_group', sa.String(), nullable=False),
    sa.Column('relationship_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['backup_version.id'], ),
    sa.PrimaryKeyConstraint('version_id', 'source')
    )
    with op.batch_alter_table('version_pair', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_version_pair_target'), ['target'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('version_pair', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_version_pair_target'))

    op.drop_table('version_pair')
    with op.batch_alter_table('dump_copy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dump_copy_version_id'))

    op.drop_table('dump_copy')
    op.drop_table('captured_extent')
    with op.batch_alter_table('volume', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volume_storage_group'))

    op.drop_table('volume')
    with op.batch_alter_table('data_set_extent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_set_extent_volser'))

    op.drop_table('data_set_extent')
    op.drop_table('copy_pool_group')
    op.drop_table('copy_pool_dump_class')
    with op.batch_alter_table('backup_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_backup_version_copy_pool'))

    op.drop_table('backup_version')
    op.drop_table('tape')
    op.drop_table('storage_group')
    op.drop_table('schema_info')
    with op.batch_alter_table('relationship', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_relationship_target'))
        batch_op.drop_index(batch_op.f('ix_relationship_source'))

    op.drop_table('relationship')
    op.drop_table('intent')
    op.drop_table('ended_relationship')
    op.drop_table('dump_class')
    op.drop_table('data_set')
    op.drop_table('copy_pool')
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_copy_pool'))
        batch_op.drop_index(batch_op.f('ix_activity_at'))

    op.drop_table('activity')

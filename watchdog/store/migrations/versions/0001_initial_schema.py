"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26

The whole schema of watchdog.store.models. Autogenerate cannot see the two expression
indexes (at most one open interval, at most one open outage): they are written by hand.

"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString(): alembic#1647)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('blip',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('cycles', sa.Integer(), nullable=False),
    sa.Column('cause', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.CheckConstraint("state IN ('up', 'degraded', 'down', 'lan_down', 'unknown')", name='state_known'),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name='ends_after_start'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_blip_ended_at', 'blip', ['ended_at'], unique=False)
    op.create_index('ix_blip_started_at', 'blip', ['started_at'], unique=False)

    op.create_table('daemon',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_cycle_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('ping_interval_s', sa.Float(), nullable=False),
    sa.Column('clean_shutdown', sa.Boolean(), nullable=False),
    sa.CheckConstraint('id = 1', name='single_row'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('outage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('cause', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('evidence', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('unobserved_seconds', sa.Float(), nullable=False),
    sa.Column('end_observed', sa.Boolean(), nullable=True),
    sa.CheckConstraint("kind IN ('isp', 'lan', 'dns')", name='kind_known'),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name='ends_after_start'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_outage_ended_at', 'outage', ['ended_at'], unique=False)
    op.create_index('ix_outage_started_at', 'outage', ['started_at'], unique=False)
    # At most one open row: a unique index over a constant expression, partial on the open rows.
    op.create_index(
        'uq_outage_one_open', 'outage', [sa.text('(ended_at IS NULL)')], unique=True,
        sqlite_where=sa.text('ended_at IS NULL'),
    )

    op.create_table('probe_error',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('text', name='uq_probe_error_text')
    )
    op.create_table('sample',
    sa.Column('at_ms', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('rtt_us', sa.Integer(), nullable=True),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('error_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('at_ms', 'target_id', name='pk_sample'),
    sqlite_with_rowid=False
    )
    op.create_table('sample_hour',
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('samples', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('lost', sa.Integer(), nullable=False),
    sa.Column('rtt_min_us', sa.Integer(), nullable=True),
    sa.Column('rtt_max_us', sa.Integer(), nullable=True),
    sa.Column('rtt_sum_us', sa.Integer(), nullable=True),
    sa.Column('rtt_samples', sa.Integer(), nullable=False),
    sa.Column('hour_ms', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('hour_ms', 'target_id', name='pk_sample_hour'),
    sqlite_with_rowid=False
    )
    op.create_table('sample_minute',
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('samples', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('lost', sa.Integer(), nullable=False),
    sa.Column('rtt_min_us', sa.Integer(), nullable=True),
    sa.Column('rtt_max_us', sa.Integer(), nullable=True),
    sa.Column('rtt_sum_us', sa.Integer(), nullable=True),
    sa.Column('rtt_samples', sa.Integer(), nullable=False),
    sa.Column('minute_ms', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('minute_ms', 'target_id', name='pk_sample_minute'),
    sqlite_with_rowid=False
    )
    op.create_table('state_interval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('cause', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.CheckConstraint("state IN ('up', 'degraded', 'down', 'lan_down', 'unknown')", name='state_known'),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name='ends_after_start'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_state_interval_ended_at', 'state_interval', ['ended_at'], unique=False)
    op.create_index('ix_state_interval_started_at', 'state_interval', ['started_at'], unique=False)
    op.create_index(
        'uq_state_interval_one_open', 'state_interval', [sa.text('(ended_at IS NULL)')], unique=True,
        sqlite_where=sa.text('ended_at IS NULL'),
    )

    op.create_table('target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('last_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_ok', sa.Boolean(), nullable=True),
    sa.Column('last_rtt_ms', sa.Float(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.CheckConstraint("kind IN ('gateway', 'ping', 'dns', 'http')", name='kind_known'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'name', name='uq_target_kind_name')
    )
    op.create_table('watermark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('minute_until_ms', sa.Integer(), nullable=True),
    sa.Column('hour_until_ms', sa.Integer(), nullable=True),
    sa.Column('raw_purged_until_ms', sa.Integer(), nullable=True),
    sa.CheckConstraint('id = 1', name='single_row'),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('watermark')
    op.drop_table('target')
    op.drop_index('ix_state_interval_started_at', table_name='state_interval')
    op.drop_index('uq_state_interval_one_open', table_name='state_interval')
    op.drop_index('ix_state_interval_ended_at', table_name='state_interval')

    op.drop_table('state_interval')
    op.drop_table('sample_minute')
    op.drop_table('sample_hour')
    op.drop_table('sample')
    op.drop_table('probe_error')
    op.drop_index('ix_outage_started_at', table_name='outage')
    op.drop_index('uq_outage_one_open', table_name='outage')
    op.drop_index('ix_outage_ended_at', table_name='outage')

    op.drop_table('outage')
    op.drop_table('daemon')
    op.drop_index('ix_blip_started_at', table_name='blip')
    op.drop_index('ix_blip_ended_at', table_name='blip')

    op.drop_table('blip')

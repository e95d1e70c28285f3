"""heartbeat pings: the last heartbeat of each [[heartbeat]] (the dead-man's switch)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10

One new table, ``heartbeat_ping``: a row per heartbeat, rewritten at each send. Nothing else
changes, so an older database keeps every row; downgrading drops the table (the record of the
last heartbeats, nothing of the link's history).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString(): alembic#1647)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNALS = "'start', 'up', 'fail', 'log'"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('heartbeat_ping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('style', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('host', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('signal', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('last_ok_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('reported_outage_id', sa.Integer(), nullable=True),
    sa.CheckConstraint(f"signal IN ({SIGNALS})", name='signal_known'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', name='uq_heartbeat_ping_name')
    )


def downgrade() -> None:
    """Downgrade schema: the heartbeats' record is dropped."""
    op.drop_table('heartbeat_ping')

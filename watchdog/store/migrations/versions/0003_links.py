"""links: one timeline per link

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Every link (uplink) gets its own timeline. A ``link`` table names the links and holds each
monitor's heartbeat (it replaces the single-row ``daemon`` table); targets, intervals, outages,
blips and incidents gain a ``link_id``. An existing database's history becomes link 1,
``default``, the implicit link of a config that names none, with the daemon's heartbeat.

"At most one open" becomes "at most one open per link": the expression indexes over
``(ended_at IS NULL)`` are replaced by partial unique indexes on ``link_id``.

The new column is added with a batch copy, filled, then made NOT NULL in a second copy, so
that the final schema has no default: a row written without its link is an error, never a
silent "link 1". The expression indexes are dropped before the copies (a batch copy cannot
reflect them) and the per-link ones created after.

"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString(): alembic#1647)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_LINK_ID = 1
DEFAULT_LINK_NAME = 'default'
LINKED_TABLES = ('target', 'state_interval', 'outage', 'blip', 'incident')
ONE_OPEN_INDEXES = {
    'state_interval': 'uq_state_interval_one_open',
    'outage': 'uq_outage_one_open',
    'incident': 'uq_incident_one_ongoing',
}
HEARTBEAT_COLUMNS = 'started_at, last_cycle_at, pid, ping_interval_s, clean_shutdown'


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_cycle_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('ping_interval_s', sa.Float(), nullable=False),
    sa.Column('clean_shutdown', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', name='uq_link_name')
    )
    op.execute(
        f"INSERT INTO link (id, name, {HEARTBEAT_COLUMNS}) "
        f"SELECT {DEFAULT_LINK_ID}, '{DEFAULT_LINK_NAME}', {HEARTBEAT_COLUMNS} FROM daemon"
    )
    for table, index in ONE_OPEN_INDEXES.items():
        op.drop_index(index, table_name=table)
    for table in LINKED_TABLES:
        with op.batch_alter_table(table, recreate='always') as batch_op:
            batch_op.add_column(sa.Column('link_id', sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET link_id = {DEFAULT_LINK_ID}")
        with op.batch_alter_table(table, recreate='always') as batch_op:
            batch_op.alter_column('link_id', existing_type=sa.Integer(), nullable=False)
            if table == 'target':
                batch_op.drop_constraint('uq_target_kind_name', type_='unique')
                batch_op.create_unique_constraint(
                    'uq_target_link_kind_name', ['link_id', 'kind', 'name'])
    for table, index in ONE_OPEN_INDEXES.items():
        op.create_index(index, table, ['link_id'], unique=True,
                        sqlite_where=sa.text('ended_at IS NULL'))
    op.drop_table('daemon')


def downgrade() -> None:
    """Downgrade schema: only link 1's history survives (the old schema has one link)."""
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
    op.execute(
        f"INSERT INTO daemon (id, {HEARTBEAT_COLUMNS}) "
        f"SELECT 1, {HEARTBEAT_COLUMNS} FROM link WHERE id = {DEFAULT_LINK_ID}"
    )
    other_targets = f"SELECT id FROM target WHERE link_id != {DEFAULT_LINK_ID}"
    for table in ('sample', 'sample_minute', 'sample_hour'):
        op.execute(f"DELETE FROM {table} WHERE target_id IN ({other_targets})")
    other_incidents = f"SELECT id FROM incident WHERE link_id != {DEFAULT_LINK_ID}"
    for table in ('incident_event', 'outbox'):
        op.execute(f"DELETE FROM {table} WHERE incident_id IN ({other_incidents})")
    for table, index in ONE_OPEN_INDEXES.items():
        op.drop_index(index, table_name=table)
    for table in LINKED_TABLES:
        op.execute(f"DELETE FROM {table} WHERE link_id != {DEFAULT_LINK_ID}")
        with op.batch_alter_table(table, recreate='always') as batch_op:
            if table == 'target':
                batch_op.drop_constraint('uq_target_link_kind_name', type_='unique')
                batch_op.create_unique_constraint('uq_target_kind_name', ['kind', 'name'])
            batch_op.drop_column('link_id')
    for table, index in ONE_OPEN_INDEXES.items():
        op.create_index(index, table, [sa.text('(ended_at IS NULL)')], unique=True,
                        sqlite_where=sa.text('ended_at IS NULL'))
    op.drop_table('link')

"""maintenance: the maintenance state and the command line's windows

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

A link's timeline can show ``maintenance`` (a declared window of planned works): the CHECK
lists of ``state_interval.state`` and ``blip.state`` gain the word. SQLite cannot change a
CHECK in place, so both tables are copied (batch, ``recreate="always"``); the per-link
"one open interval" partial index is dropped before the copy (a batch copy does not carry it)
and created again after it, as in 0003.

``maintenance_window`` keeps the windows declared with ``watchdog maintenance add``; the
config's windows are not stored.

Downgrading turns recorded ``maintenance`` time into ``unknown`` (neither counts as
available or unavailable) and drops the windows.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString(): alembic#1647)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES_BEFORE = "'up', 'degraded', 'down', 'lan_down', 'unknown'"
STATES_AFTER = STATES_BEFORE + ", 'maintenance'"
STATE_TABLES = ('state_interval', 'blip')
ONE_OPEN_INDEX = ('state_interval', 'uq_state_interval_one_open')


def _state_check(states: str) -> None:
    table, index = ONE_OPEN_INDEX
    op.drop_index(index, table_name=table)
    for name in STATE_TABLES:
        with op.batch_alter_table(name, recreate='always') as batch_op:
            batch_op.drop_constraint('state_known', type_='check')
            batch_op.create_check_constraint('state_known', sa.text(f"state IN ({states})"))
    op.create_index(index, table, ['link_id'], unique=True,
                    sqlite_where=sa.text('ended_at IS NULL'))


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('maintenance_window',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('starts_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ends_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('removed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name='window_ends_after_start'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('maintenance_window', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_window_ends_at'), ['ends_at'],
                              unique=False)
    _state_check(STATES_AFTER)


def downgrade() -> None:
    """Downgrade schema: maintenance time becomes unknown; the windows are dropped."""
    op.execute("UPDATE state_interval SET state = 'unknown' WHERE state = 'maintenance'")
    op.execute("DELETE FROM blip WHERE state = 'maintenance'")
    _state_check(STATES_BEFORE)
    with op.batch_alter_table('maintenance_window', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_window_ends_at'))
    op.drop_table('maintenance_window')

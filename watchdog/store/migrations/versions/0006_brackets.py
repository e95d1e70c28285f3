"""brackets: the precision of every recorded change, and the clock's synchronisation

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Intervals, outages and blips keep the bracket of their start (and outages and blips of their
end): ``*_after``, when the probes that decided were last sent before the change, and ``*_by``,
when the first cycle that saw it had sent them. Each link's heartbeat records whether the
system clock was synchronised (``clock_synced``), when that was checked and since when the
checks have said the same.

Every new column is nullable and stays NULL on existing rows: their precision was not
recorded. The per-link "one open" partial indexes are dropped before the batch copies and
created again after, as in 0003.

"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString(): alembic#1647)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

START = ('start_after', 'start_by')
END = ('end_after', 'end_by')
NEW_COLUMNS = {
    'state_interval': START,
    'outage': START + END,
    'blip': START + END,
    'link': ('clock_synced', 'clock_checked_at', 'clock_status_since'),
}
ONE_OPEN_INDEXES = {
    'state_interval': 'uq_state_interval_one_open',
    'outage': 'uq_outage_one_open',
}


def _column(name: str) -> sa.Column[object]:
    kind = sa.Boolean() if name == 'clock_synced' else sqlmodel.sql.sqltypes.UTCDateTime()
    return sa.Column(name, kind, nullable=True)


def upgrade() -> None:
    """Upgrade schema."""
    for table, index in ONE_OPEN_INDEXES.items():
        op.drop_index(index, table_name=table)
    for table, columns in NEW_COLUMNS.items():
        with op.batch_alter_table(table, recreate='always') as batch_op:
            for name in columns:
                batch_op.add_column(_column(name))
    for table, index in ONE_OPEN_INDEXES.items():
        op.create_index(index, table, ['link_id'], unique=True,
                        sqlite_where=sa.text('ended_at IS NULL'))


def downgrade() -> None:
    """Downgrade schema: the brackets and the clock's status are dropped."""
    for table, index in ONE_OPEN_INDEXES.items():
        op.drop_index(index, table_name=table)
    for table, columns in NEW_COLUMNS.items():
        with op.batch_alter_table(table, recreate='always') as batch_op:
            for name in reversed(columns):
                batch_op.drop_column(name)
    for table, index in ONE_OPEN_INDEXES.items():
        op.create_index(index, table, ['link_id'], unique=True,
                        sqlite_where=sa.text('ended_at IS NULL'))

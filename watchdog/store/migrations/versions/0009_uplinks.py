"""uplinks: path checks' results, and each state's cause in a word

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Several uplinks: an uplink behind a router that fails over by itself has a path check, whose
results are kept like every probe's, so ``target.kind`` may be ``path``. Each state interval
keeps its cause in a word (``cause_code``), so a reader can tell a line that is down while
the site's traffic flows through another path (``other_path``) from one that cuts the site
off.

Existing rows keep their data: their kinds are all allowed still, and ``cause_code`` stays
NULL (it was not recorded). A database from before uplinks keeps its one link, ``default``
(id 1); the primary uplink of a config that declares uplinks continues that history when the
daemon first resumes it (``store.heartbeat.take_over``), no schema change needed for that.
The per-link "one open" partial index is dropped before the batch copy and created again
after, as in 0003.

"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString(): alembic#1647)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = "'gateway', 'ping', 'dns', 'http'"
KINDS_AFTER = f"{KINDS_BEFORE}, 'path'"
ONE_OPEN_INDEX = 'uq_state_interval_one_open'


def _target_kinds(kinds: str) -> None:
    with op.batch_alter_table('target', recreate='always') as batch_op:
        batch_op.drop_constraint('kind_known', type_='check')
        batch_op.create_check_constraint('kind_known', f"kind IN ({kinds})")


def upgrade() -> None:
    """Upgrade schema."""
    _target_kinds(KINDS_AFTER)
    op.drop_index(ONE_OPEN_INDEX, table_name='state_interval')
    with op.batch_alter_table('state_interval', recreate='always') as batch_op:
        batch_op.add_column(sa.Column('cause_code', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=True))
    op.create_index(ONE_OPEN_INDEX, 'state_interval', ['link_id'], unique=True,
                    sqlite_where=sa.text('ended_at IS NULL'))


def downgrade() -> None:
    """Downgrade schema: path checks' targets and samples go (the older schema has no such
    kind), and so do the causes' words."""
    op.execute("DELETE FROM sample WHERE target_id IN (SELECT id FROM target WHERE kind = 'path')")
    for table in ('sample_minute', 'sample_hour'):
        op.execute(f"DELETE FROM {table} WHERE target_id IN "
                   "(SELECT id FROM target WHERE kind = 'path')")
    op.execute("DELETE FROM target WHERE kind = 'path'")
    _target_kinds(KINDS_BEFORE)
    op.drop_index(ONE_OPEN_INDEX, table_name='state_interval')
    with op.batch_alter_table('state_interval', recreate='always') as batch_op:
        batch_op.drop_column('cause_code')
    op.create_index(ONE_OPEN_INDEX, 'state_interval', ['link_id'], unique=True,
                    sqlite_where=sa.text('ended_at IS NULL'))

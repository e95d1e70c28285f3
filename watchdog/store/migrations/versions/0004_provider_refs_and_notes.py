"""provider refs and notes: the provider's reference, and who wrote a line when

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

A ticket keeps the provider's own reference and when the provider gave it
(``incident.provider_ref``, ``provider_ref_at``). A line of the timeline written by a person
names them (``incident_event.author``), and one written after the fact (a phone call noted
later) keeps when it was written (``recorded_at``) besides when it happened (``at``). The
timeline's kinds gain ``provider_ref``.

Both tables are copied (batch, recreate). The per-link "one ongoing incident" index is a
partial index that a batch copy cannot reflect: it is dropped before the copy and created
again after, as in 0003. The downgrade keeps the provider's references as notes.

"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString(): alembic#1647)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_EVENT_KINDS = ("'started', 'ticket_opened', 'reminder', 'reopened', 'recovered', 'closed', "
                   "'acked', 'note', 'sent', 'failed', 'skipped'")
NEW_EVENT_KINDS = OLD_EVENT_KINDS + ", 'provider_ref'"


def _event_kinds(kinds: str) -> None:
    with op.batch_alter_table('incident_event', recreate='always') as batch_op:
        batch_op.drop_constraint('kind_known', type_='check')
        batch_op.create_check_constraint('kind_known', sa.text(f'kind IN ({kinds})'))


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index('uq_incident_one_ongoing', table_name='incident')
    with op.batch_alter_table('incident', recreate='always') as batch_op:
        batch_op.add_column(sa.Column('provider_ref', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=True))
        batch_op.add_column(sa.Column('provider_ref_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
    op.create_index('uq_incident_one_ongoing', 'incident', ['link_id'], unique=True,
                    sqlite_where=sa.text('ended_at IS NULL'))
    with op.batch_alter_table('incident_event', recreate='always') as batch_op:
        batch_op.add_column(sa.Column('author', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=True))
        batch_op.add_column(sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
    _event_kinds(NEW_EVENT_KINDS)


def downgrade() -> None:
    """Downgrade schema: the provider's references stay on the timeline, as notes."""
    op.execute("UPDATE incident_event SET kind = 'note' WHERE kind = 'provider_ref'")
    _event_kinds(OLD_EVENT_KINDS)
    with op.batch_alter_table('incident_event', recreate='always') as batch_op:
        batch_op.drop_column('recorded_at')
        batch_op.drop_column('author')
    op.drop_index('uq_incident_one_ongoing', table_name='incident')
    with op.batch_alter_table('incident', recreate='always') as batch_op:
        batch_op.drop_column('provider_ref_at')
        batch_op.drop_column('provider_ref')
    op.create_index('uq_incident_one_ongoing', 'incident', ['link_id'], unique=True,
                    sqlite_where=sa.text('ended_at IS NULL'))

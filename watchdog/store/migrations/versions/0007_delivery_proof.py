"""delivery proof: every attempt recorded, stale messages folded

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Proof of delivery: a ``delivery_attempt`` row per attempt to send an outbox message (when it
began and ended, how, through which server, the server's reply, the error). The outbox gains
``folded_into`` (the message that superseded it, or that it was folded into) and the status
``folded``.

An existing outbox keeps what it knew of its messages' attempts: their number and the last
one. The last attempt of each message that had one becomes an attempt row (sent with its
response, failed with its error, or waiting after a transient error); the earlier ones were
never recorded, so they are not invented.

The outbox is copied to change its CHECK constraint (its indexes and its unique key come back
with the copy) and gets a partial index on ``folded_into``, read each time a message is
claimed.

"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString(): alembic#1647)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES_BEFORE = "'pending', 'sending', 'sent', 'failed', 'superseded'"
STATUSES_AFTER = f"{STATUSES_BEFORE}, 'folded'"
OUTCOMES = "'sent', 'transient', 'permanent', 'interrupted'"

# The last attempt of each message already tried, as well as the outbox knew it.
BACKFILL = """
INSERT INTO delivery_attempt (outbox_id, number, started_at, finished_at, outcome, reply, error)
SELECT id, attempts, COALESCE(last_attempt_at, created_at),
       CASE WHEN status = 'sent' THEN sent_at
            WHEN status = 'sending' THEN NULL
            ELSE last_attempt_at END,
       CASE status WHEN 'sent' THEN 'sent'
                   WHEN 'failed' THEN 'permanent'
                   WHEN 'sending' THEN NULL
                   ELSE 'transient' END,
       CASE WHEN status = 'sent' THEN response END,
       CASE WHEN status != 'sent' THEN last_error END
FROM outbox WHERE attempts > 0
"""


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('delivery_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('server', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('reply', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.CheckConstraint(f"outcome IN ({OUTCOMES})", name='outcome_known'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('outbox_id', 'number', name='uq_delivery_attempt_number')
    )
    with op.batch_alter_table('outbox', recreate='always') as batch_op:
        batch_op.add_column(sa.Column('folded_into', sa.Integer(), nullable=True))
        batch_op.drop_constraint('status_known', type_='check')
        batch_op.create_check_constraint('status_known', f"status IN ({STATUSES_AFTER})")
    op.create_index('ix_outbox_folded_into', 'outbox', ['folded_into'], unique=False,
                    sqlite_where=sa.text('folded_into IS NOT NULL'))
    op.execute(BACKFILL)


def downgrade() -> None:
    """Downgrade schema: folded messages become superseded (the older schema's nearest word);
    the attempts are dropped, the outbox's last-attempt columns stay."""
    op.execute("UPDATE outbox SET status = 'superseded' WHERE status = 'folded'")
    op.drop_index('ix_outbox_folded_into', table_name='outbox')
    with op.batch_alter_table('outbox', recreate='always') as batch_op:
        batch_op.drop_constraint('status_known', type_='check')
        batch_op.create_check_constraint('status_known', f"status IN ({STATUSES_BEFORE})")
        batch_op.drop_column('folded_into')
    op.drop_table('delivery_attempt')

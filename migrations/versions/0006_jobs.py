"""Jobs: per-key ordering of outbox rows, given-up rows, and an index on unfinished rows.

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-08 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ordering_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('gave_up_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_messages_ordering', ['ordering_key', 'id'], unique=False)
        batch_op.create_index(
            'ix_outbox_messages_unfinished', ['completed_at', 'dispatched_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_unfinished')
        batch_op.drop_index('ix_outbox_messages_ordering')
        batch_op.drop_column('gave_up_at')
        batch_op.drop_column('ordering_key')

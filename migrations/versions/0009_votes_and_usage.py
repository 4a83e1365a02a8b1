"""Votes on enhancement requests; ERP usage events and their daily rollup.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 18:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('usage_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=320), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_usage_daily_module_id_modules')),
    sa.PrimaryKeyConstraint('day', 'module_id', 'account', name=op.f('pk_usage_daily'))
    )
    with op.batch_alter_table('usage_daily', schema=None) as batch_op:
        batch_op.create_index('ix_usage_daily_account_module_day', ['account', 'module_id', 'day'], unique=False)
        batch_op.create_index('ix_usage_daily_module_day', ['module_id', 'day'], unique=False)

    op.create_table('usage_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('account', sa.String(length=320), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=120), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_usage_events_module_id_modules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_usage_events_event_id'))
    )
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.create_index('ix_usage_events_module_occurred', ['module_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_usage_events_occurred_at', ['occurred_at'], unique=False)

    op.create_table('enhancement_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enhancement_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enhancement_id'], ['enhancements.id'], name=op.f('fk_enhancement_votes_enhancement_id_enhancements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_enhancement_votes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enhancement_votes')),
    sa.UniqueConstraint('enhancement_id', 'user_id', name='uq_enhancement_vote')
    )
    with op.batch_alter_table('enhancement_votes', schema=None) as batch_op:
        batch_op.create_index('ix_enhancement_votes_user', ['user_id', 'enhancement_id'], unique=False)


def downgrade():
    with op.batch_alter_table('enhancement_votes', schema=None) as batch_op:
        batch_op.drop_index('ix_enhancement_votes_user')

    op.drop_table('enhancement_votes')
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_events_occurred_at')
        batch_op.drop_index('ix_usage_events_module_occurred')

    op.drop_table('usage_events')
    with op.batch_alter_table('usage_daily', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_daily_module_day')
        batch_op.drop_index('ix_usage_daily_account_module_day')

    op.drop_table('usage_daily')

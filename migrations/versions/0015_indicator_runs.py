"""Indicator runs, business calendars laid out as spans for SQL business time, ticket
indexes for the daily computations

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 20:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_first_response_at', ['first_response_at'], unique=False)
        batch_op.create_index('ix_tickets_resolved_at_only', ['resolved_at'], unique=False)

    op.create_table('indicator_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('snapshots', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_runs'))
    )
    with op.batch_alter_table('indicator_runs', schema=None) as batch_op:
        batch_op.create_index('ix_indicator_runs_finished_at', ['finished_at', 'id'], unique=False)

    op.create_table('indicator_calendar_spans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('start_epoch', sa.Float(), nullable=False),
    sa.Column('end_epoch', sa.Float(), nullable=False),
    sa.Column('before_seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['business_calendars.id'], name=op.f('fk_indicator_calendar_spans_calendar_id_business_calendars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_calendar_spans'))
    )
    with op.batch_alter_table('indicator_calendar_spans', schema=None) as batch_op:
        batch_op.create_index('ix_indicator_calendar_spans_start', ['calendar_id', 'start_epoch'], unique=False)

    op.create_table('indicator_calendar_coverage',
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['business_calendars.id'], name=op.f('fk_indicator_calendar_coverage_calendar_id_business_calendars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('calendar_id', name=op.f('pk_indicator_calendar_coverage'))
    )


def downgrade():
    op.drop_table('indicator_calendar_coverage')
    with op.batch_alter_table('indicator_calendar_spans', schema=None) as batch_op:
        batch_op.drop_index('ix_indicator_calendar_spans_start')
    op.drop_table('indicator_calendar_spans')
    with op.batch_alter_table('indicator_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_indicator_runs_finished_at')
    op.drop_table('indicator_runs')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_resolved_at_only')
        batch_op.drop_index('ix_tickets_first_response_at')

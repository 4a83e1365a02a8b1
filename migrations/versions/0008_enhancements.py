"""Enhancement requests: qualification, decision and the timestamps of each state.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('enhancements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('benefit', sa.Text(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('business_value', sa.Integer(), nullable=True),
    sa.Column('time_criticality', sa.Integer(), nullable=True),
    sa.Column('risk_reduction', sa.Integer(), nullable=True),
    sa.Column('job_size', sa.Integer(), nullable=True),
    sa.Column('wsjf', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('qualified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('manual_rank', sa.Integer(), nullable=True),
    sa.Column('vote_count', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decision_rationale', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('review_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_enhancements_decided_by_id_users')),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_enhancements_module_id_modules')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_enhancements_requester_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enhancements'))
    )
    with op.batch_alter_table('enhancements', schema=None) as batch_op:
        batch_op.create_index('ix_enhancements_created_at', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_enhancements_decided_at', ['decided_at', 'id'], unique=False)
        batch_op.create_index('ix_enhancements_module_status', ['module_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_enhancements_requester', ['requester_id', 'id'], unique=False)
        batch_op.create_index('ix_enhancements_status_wsjf', ['status', 'wsjf', 'id'], unique=False)
        batch_op.create_index('ix_enhancements_votes', ['vote_count', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('enhancements', schema=None) as batch_op:
        batch_op.drop_index('ix_enhancements_votes')
        batch_op.drop_index('ix_enhancements_status_wsjf')
        batch_op.drop_index('ix_enhancements_requester')
        batch_op.drop_index('ix_enhancements_module_status')
        batch_op.drop_index('ix_enhancements_decided_at')
        batch_op.drop_index('ix_enhancements_created_at')

    op.drop_table('enhancements')

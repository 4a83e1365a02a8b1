"""Sprints, their items and tasks (with dependencies), the daily burndown, release notes.

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-01 20:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sprints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('goal', sa.Text(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('capacity_points', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('committed_points', sa.Integer(), nullable=False),
    sa.Column('committed_items', sa.Integer(), nullable=False),
    sa.Column('added_points', sa.Integer(), nullable=False),
    sa.Column('added_items', sa.Integer(), nullable=False),
    sa.Column('removed_points', sa.Integer(), nullable=False),
    sa.Column('removed_items', sa.Integer(), nullable=False),
    sa.Column('done_points', sa.Integer(), nullable=False),
    sa.Column('done_items', sa.Integer(), nullable=False),
    sa.Column('velocity', sa.Integer(), nullable=True),
    sa.Column('predictability', sa.Numeric(precision=7, scale=4), nullable=True),
    sa.Column('carry_over', sa.String(length=16), nullable=True),
    sa.Column('carried_points', sa.Integer(), nullable=False),
    sa.Column('carried_items', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_sprints_created_by_id_users')),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_sprints_module_id_modules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sprints'))
    )
    with op.batch_alter_table('sprints', schema=None) as batch_op:
        batch_op.create_index('ix_sprints_closed_at', ['closed_at', 'id'], unique=False)
        batch_op.create_index('ix_sprints_scope_status', ['module_id', 'status', 'start_date'], unique=False)
        batch_op.create_index('ix_sprints_start_date', ['start_date', 'id'], unique=False)

    op.create_table('sprint_burndown',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sprint_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('scope', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sprint_id'], ['sprints.id'], name=op.f('fk_sprint_burndown_sprint_id_sprints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sprint_burndown')),
    sa.UniqueConstraint('sprint_id', 'day', name='uq_sprint_burndown_day')
    )
    op.create_table('release_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sprint_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_release_notes_module_id_modules')),
    sa.ForeignKeyConstraint(['released_by_id'], ['users.id'], name=op.f('fk_release_notes_released_by_id_users')),
    sa.ForeignKeyConstraint(['sprint_id'], ['sprints.id'], name=op.f('fk_release_notes_sprint_id_sprints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_release_notes'))
    )
    with op.batch_alter_table('release_notes', schema=None) as batch_op:
        batch_op.create_index('ix_release_notes_module', ['module_id', 'released_at', 'id'], unique=False)
        batch_op.create_index('ix_release_notes_released_at', ['released_at', 'id'], unique=False)
        batch_op.create_index('ix_release_notes_sprint', ['sprint_id', 'id'], unique=False)

    op.create_table('sprint_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sprint_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('enhancement_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('committed', sa.Boolean(), nullable=False),
    sa.Column('added_after_start', sa.Boolean(), nullable=False),
    sa.Column('removed_after_start', sa.Boolean(), nullable=False),
    sa.Column('carried_over', sa.String(length=16), nullable=True),
    sa.Column('carried_to_id', sa.Integer(), nullable=True),
    sa.Column('release_note_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('carried_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['carried_to_id'], ['sprint_items.id'], name=op.f('fk_sprint_items_carried_to_id_sprint_items')),
    sa.ForeignKeyConstraint(['enhancement_id'], ['enhancements.id'], name=op.f('fk_sprint_items_enhancement_id_enhancements')),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_sprint_items_module_id_modules')),
    sa.ForeignKeyConstraint(['release_note_id'], ['release_notes.id'], name=op.f('fk_sprint_items_release_note_id_release_notes')),
    sa.ForeignKeyConstraint(['sprint_id'], ['sprints.id'], name=op.f('fk_sprint_items_sprint_id_sprints')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_sprint_items_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sprint_items'))
    )
    with op.batch_alter_table('sprint_items', schema=None) as batch_op:
        batch_op.create_index('ix_sprint_items_enhancement', ['enhancement_id'], unique=False)
        batch_op.create_index('ix_sprint_items_release_note', ['release_note_id'], unique=False)
        batch_op.create_index('ix_sprint_items_sprint', ['sprint_id', 'id'], unique=False)
        batch_op.create_index('ix_sprint_items_ticket', ['ticket_id'], unique=False)

    op.create_table('sprint_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sprint_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('estimate_days', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['sprint_items.id'], name=op.f('fk_sprint_tasks_item_id_sprint_items')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_sprint_tasks_owner_id_users')),
    sa.ForeignKeyConstraint(['sprint_id'], ['sprints.id'], name=op.f('fk_sprint_tasks_sprint_id_sprints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sprint_tasks'))
    )
    with op.batch_alter_table('sprint_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_sprint_tasks_item', ['item_id', 'id'], unique=False)
        batch_op.create_index('ix_sprint_tasks_sprint', ['sprint_id', 'id'], unique=False)

    op.create_table('sprint_task_dependencies',
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('blocked_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['blocked_by_id'], ['sprint_tasks.id'], name=op.f('fk_sprint_task_dependencies_blocked_by_id_sprint_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['sprint_tasks.id'], name=op.f('fk_sprint_task_dependencies_task_id_sprint_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'blocked_by_id', name=op.f('pk_sprint_task_dependencies'))
    )


def downgrade():
    op.drop_table('sprint_task_dependencies')
    with op.batch_alter_table('sprint_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_sprint_tasks_sprint')
        batch_op.drop_index('ix_sprint_tasks_item')

    op.drop_table('sprint_tasks')
    with op.batch_alter_table('sprint_items', schema=None) as batch_op:
        batch_op.drop_index('ix_sprint_items_ticket')
        batch_op.drop_index('ix_sprint_items_sprint')
        batch_op.drop_index('ix_sprint_items_release_note')
        batch_op.drop_index('ix_sprint_items_enhancement')

    op.drop_table('sprint_items')
    with op.batch_alter_table('release_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_release_notes_sprint')
        batch_op.drop_index('ix_release_notes_released_at')
        batch_op.drop_index('ix_release_notes_module')

    op.drop_table('release_notes')
    op.drop_table('sprint_burndown')
    with op.batch_alter_table('sprints', schema=None) as batch_op:
        batch_op.drop_index('ix_sprints_start_date')
        batch_op.drop_index('ix_sprints_scope_status')
        batch_op.drop_index('ix_sprints_closed_at')

    op.drop_table('sprints')

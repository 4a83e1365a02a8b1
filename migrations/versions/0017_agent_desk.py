"""The agents' desk: saved queue views, canned responses, round-robin per support group, and
two user settings (the reply box's default mode, away from round-robin).

Revision ID: 0017
Revises: 0012
Create Date: 2026-12-01 20:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_mode', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('absent', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table('saved_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['support_groups.id'], name=op.f('fk_saved_views_group_id_support_groups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_saved_views_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_views')),
    sa.UniqueConstraint('owner_id', 'name', name='uq_saved_views_owner_name')
    )
    with op.batch_alter_table('saved_views', schema=None) as batch_op:
        batch_op.create_index('ix_saved_views_group', ['group_id'], unique=False)

    op.create_table('canned_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_canned_responses_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_canned_responses_module_id_modules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_responses'))
    )
    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.create_index('ix_canned_responses_module', ['module_id', 'title'], unique=False)

    op.create_table('group_rotations',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('last_user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['support_groups.id'], name=op.f('fk_group_rotations_group_id_support_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['last_user_id'], ['users.id'], name=op.f('fk_group_rotations_last_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('group_id', name=op.f('pk_group_rotations'))
    )


def downgrade():
    op.drop_table('group_rotations')
    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_canned_responses_module')
    op.drop_table('canned_responses')
    with op.batch_alter_table('saved_views', schema=None) as batch_op:
        batch_op.drop_index('ix_saved_views_group')
    op.drop_table('saved_views')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('absent')
        batch_op.drop_column('reply_mode')

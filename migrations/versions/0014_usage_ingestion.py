"""Usage ingestion: known ERP accounts, days whose rollup changed, CSV back-fills.

Revision ID: 0014
Revises: 0018
Create Date: 2026-12-01 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('usage_accounts',
    sa.Column('account', sa.String(length=320), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('events', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('account', name=op.f('pk_usage_accounts'))
    )
    with op.batch_alter_table('usage_accounts', schema=None) as batch_op:
        batch_op.create_index('ix_usage_accounts_last_seen', ['last_seen_at', 'account'], unique=False)

    op.create_table('usage_changed_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_usage_changed_days'))
    )
    op.create_table('usage_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('rejected_count', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_usage_imports_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_imports'))
    )
    with op.batch_alter_table('usage_imports', schema=None) as batch_op:
        batch_op.create_index('ix_usage_imports_created_at', ['created_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('usage_imports', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_imports_created_at')

    op.drop_table('usage_imports')
    op.drop_table('usage_changed_days')
    with op.batch_alter_table('usage_accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_accounts_last_seen')

    op.drop_table('usage_accounts')

"""Incidents: tickets, comments, attachments, satisfaction, enhancement links, SLA policies.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:19:41.497877

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


DEFAULT_SLA = [
    # priority, first response, resolution (minutes; a business day = 480), business hours
    ("P1", 15, 240, False),
    ("P2", 60, 480, True),
    ("P3", 240, 3 * 480, True),
    ("P4", 480, 5 * 480, True),
    ("P5", 2 * 480, 10 * 480, True),
]


def _seed_sla_policies(table) -> None:
    op.bulk_insert(
        table,
        [
            {"priority": p, "response_minutes": r, "resolution_minutes": t,
             "business_hours": b, "version": 1}
            for p, r, t, b in DEFAULT_SLA
        ],
    )


def _text_search_indexes(upgrade: bool) -> None:
    """Trigram indexes make the queue's substring search fast on PostgreSQL."""
    if op.get_bind().dialect.name != "postgresql":
        return
    if upgrade:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_tickets_title_trgm ON tickets USING gin (title gin_trgm_ops)")
        op.execute(
            "CREATE INDEX ix_tickets_description_trgm ON tickets "
            "USING gin (description gin_trgm_ops)"
        )
    else:
        op.execute("DROP INDEX IF EXISTS ix_tickets_title_trgm")
        op.execute("DROP INDEX IF EXISTS ix_tickets_description_trgm")


def upgrade():
    sla_policies = op.create_table('sla_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.String(length=2), nullable=False),
    sa.Column('response_minutes', sa.Integer(), nullable=False),
    sa.Column('resolution_minutes', sa.Integer(), nullable=False),
    sa.Column('business_hours', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policies')),
    sa.UniqueConstraint('priority', name=op.f('uq_sla_policies_priority'))
    )
    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('impact', sa.String(length=8), nullable=False),
    sa.Column('urgency', sa.String(length=8), nullable=False),
    sa.Column('priority', sa.String(length=2), nullable=False),
    sa.Column('priority_reason', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('suggested_priority', sa.String(length=2), nullable=True),
    sa.Column('prequalification_note', sa.Text(), nullable=True),
    sa.Column('resolution_code', sa.String(length=32), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('triaged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_target_minutes', sa.Integer(), nullable=False),
    sa.Column('resolution_target_minutes', sa.Integer(), nullable=False),
    sa.Column('sla_business_hours', sa.Boolean(), nullable=False),
    sa.Column('paused_seconds', sa.Integer(), nullable=False),
    sa.Column('paused_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_warn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_warn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_warned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_warned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_breached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_breached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_tickets_assignee_id_users')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['tickets.id'], name=op.f('fk_tickets_duplicate_of_id_tickets')),
    sa.ForeignKeyConstraint(['group_id'], ['support_groups.id'], name=op.f('fk_tickets_group_id_support_groups')),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_tickets_module_id_modules')),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_tickets_reporter_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_assignee_status', ['assignee_id', 'status', 'next_due_at'], unique=False)
        batch_op.create_index('ix_tickets_created_at', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_tickets_updated_at', ['updated_at', 'id'], unique=False)
        batch_op.create_index('ix_tickets_reporter_updated', ['reporter_id', 'updated_at', 'id'], unique=False)
        batch_op.create_index('ix_tickets_group_status', ['group_id', 'status', 'next_due_at'], unique=False)
        batch_op.create_index('ix_tickets_module_status', ['module_id', 'status', 'next_due_at'], unique=False)
        batch_op.create_index('ix_tickets_next_due', ['next_due_at', 'id'], unique=False)
        batch_op.create_index('ix_tickets_reporter', ['reporter_id', 'id'], unique=False)
        batch_op.create_index('ix_tickets_resolution_scan', ['resolution_warn_at', 'status'], unique=False)
        batch_op.create_index('ix_tickets_resolved_at', ['status', 'resolved_at'], unique=False)
        batch_op.create_index('ix_tickets_response_scan', ['response_warn_at', 'status'], unique=False)
        batch_op.create_index('ix_tickets_status_due', ['status', 'next_due_at', 'id'], unique=False)

    op.create_table('ticket_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_attachments_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_ticket_attachments_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_attachments')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_ticket_attachments_storage_key'))
    )
    with op.batch_alter_table('ticket_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_attachments_ticket', ['ticket_id', 'id'], unique=False)

    op.create_table('ticket_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_ticket_comments_author_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_comments_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_comments'))
    )
    with op.batch_alter_table('ticket_comments', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_comments_ticket', ['ticket_id', 'id'], unique=False)

    op.create_table('ticket_enhancement_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('enhancement_ref', sa.String(length=16), nullable=False),
    sa.Column('linked_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['linked_by_id'], ['users.id'], name=op.f('fk_ticket_enhancement_links_linked_by_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_enhancement_links_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_enhancement_links')),
    sa.UniqueConstraint('ticket_id', 'enhancement_ref', name='uq_ticket_enh')
    )
    op.create_table('ticket_satisfaction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('rated_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rated_by_id'], ['users.id'], name=op.f('fk_ticket_satisfaction_rated_by_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_satisfaction_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_satisfaction')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_ticket_satisfaction_ticket_id'))
    )
    _seed_sla_policies(sla_policies)
    _text_search_indexes(upgrade=True)


def downgrade():
    _text_search_indexes(upgrade=False)
    op.drop_table('ticket_satisfaction')
    op.drop_table('ticket_enhancement_links')
    with op.batch_alter_table('ticket_comments', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_comments_ticket')

    op.drop_table('ticket_comments')
    with op.batch_alter_table('ticket_attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_attachments_ticket')

    op.drop_table('ticket_attachments')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_status_due')
        batch_op.drop_index('ix_tickets_response_scan')
        batch_op.drop_index('ix_tickets_resolved_at')
        batch_op.drop_index('ix_tickets_resolution_scan')
        batch_op.drop_index('ix_tickets_reporter')
        batch_op.drop_index('ix_tickets_next_due')
        batch_op.drop_index('ix_tickets_module_status')
        batch_op.drop_index('ix_tickets_group_status')
        batch_op.drop_index('ix_tickets_updated_at')
        batch_op.drop_index('ix_tickets_reporter_updated')
        batch_op.drop_index('ix_tickets_created_at')
        batch_op.drop_index('ix_tickets_assignee_status')

    op.drop_table('tickets')
    op.drop_table('sla_policies')

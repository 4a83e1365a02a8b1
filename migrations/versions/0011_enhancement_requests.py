"""Enhancement requests become a domain: comments, the decision log, real ticket links.

The ``ENH-`` references stored on tickets were free text; each one that names an existing
request now points at it (``enhancement_id``). A stored reference naming no request is kept as
it was typed, with no request behind it: nothing recorded is lost, and the ticket page says
that the reference is unknown. New links must name a real request.

Revision ID: 0011
Revises: 0016
Create Date: 2026-12-01 20:50:00

"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = "0016"
branch_labels = None
depends_on = None

REF = re.compile(r"^\s*ENH-0*(\d{1,12})\s*$", re.IGNORECASE)


def upgrade():
    op.create_table('enhancement_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enhancement_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_enhancement_comments_author_id_users')),
    sa.ForeignKeyConstraint(['enhancement_id'], ['enhancements.id'], name=op.f('fk_enhancement_comments_enhancement_id_enhancements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enhancement_comments'))
    )
    with op.batch_alter_table('enhancement_comments', schema=None) as batch_op:
        batch_op.create_index('ix_enhancement_comments_enhancement', ['enhancement_id', 'id'], unique=False)

    op.create_table('enhancement_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enhancement_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_enhancement_decisions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['enhancement_id'], ['enhancements.id'], name=op.f('fk_enhancement_decisions_enhancement_id_enhancements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_enhancement_decisions_module_id_modules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enhancement_decisions'))
    )
    with op.batch_alter_table('enhancement_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_enhancement_decisions_decided_at', ['decided_at', 'id'], unique=False)
        batch_op.create_index('ix_enhancement_decisions_enhancement', ['enhancement_id', 'id'], unique=False)
        batch_op.create_index('ix_enhancement_decisions_module', ['module_id', 'decided_at', 'id'], unique=False)

    with op.batch_alter_table('ticket_enhancement_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enhancement_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ticket_enhancement_links_enhancement_id_enhancements'), 'enhancements', ['enhancement_id'], ['id'])
        batch_op.create_index('ix_ticket_enhancement_links_enhancement', ['enhancement_id', 'ticket_id'], unique=False)

    convert_stored_refs(op.get_bind())


def convert_stored_refs(connection) -> None:
    """Point every stored ``ENH-`` reference at the request it names, when there is one."""
    links = sa.table(
        'ticket_enhancement_links',
        sa.column('id', sa.Integer),
        sa.column('enhancement_ref', sa.String),
        sa.column('enhancement_id', sa.Integer),
    )
    requests = sa.table('enhancements', sa.column('id', sa.Integer))
    known = set(connection.execute(sa.select(requests.c.id)).scalars())
    rows = connection.execute(
        sa.select(links.c.id, links.c.enhancement_ref).where(links.c.enhancement_id.is_(None))
    ).all()
    for link_id, ref in rows:
        match = REF.match(ref or "")
        number = int(match.group(1)) if match else None
        if number in known:
            connection.execute(
                sa.update(links).where(links.c.id == link_id).values(enhancement_id=number)
            )


def downgrade():
    with op.batch_alter_table('ticket_enhancement_links', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_enhancement_links_enhancement')
        batch_op.drop_constraint(batch_op.f('fk_ticket_enhancement_links_enhancement_id_enhancements'), type_='foreignkey')
        batch_op.drop_column('enhancement_id')

    with op.batch_alter_table('enhancement_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_enhancement_decisions_module')
        batch_op.drop_index('ix_enhancement_decisions_enhancement')
        batch_op.drop_index('ix_enhancement_decisions_decided_at')

    op.drop_table('enhancement_decisions')
    with op.batch_alter_table('enhancement_comments', schema=None) as batch_op:
        batch_op.drop_index('ix_enhancement_comments_enhancement')

    op.drop_table('enhancement_comments')

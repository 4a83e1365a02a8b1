"""Performance: indexes for every queue's order, bounded comment search, cache generations.

Each queue view's default order, ``coalesce(next_due_at, <never>), id``, gets an index (partial
on open statuses for the views within the open queue), replacing ``ix_tickets_status_due``,
which could not serve it. Comments get a trigram index on PostgreSQL so that searching them
stays bounded. ``cache_generations`` lets every process know when its cached catalogue and
identity rows went stale.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

OPEN_STATUSES = ("new", "triaged", "in_progress", "waiting_on_requester")
# (name, leading columns, partial on open statuses [and unassigned])
DUE_INDEXES = [
    ("ix_tickets_open_due", [], True),
    ("ix_tickets_unassigned_due", [], "unassigned"),
    ("ix_tickets_due", [], False),
    ("ix_tickets_status_due_key", ["status"], False),
    ("ix_tickets_assignee_open_due", ["assignee_id"], True),
    ("ix_tickets_group_open_due", ["group_id"], True),
    ("ix_tickets_reporter_due", ["reporter_id"], False),
    ("ix_tickets_module_due", ["module_id"], False),
]


def _open() -> str:
    """Open statuses; on PostgreSQL in the form it prints back (so a dump restores it as is)."""
    if op.get_bind().dialect.name == "postgresql":
        values = ", ".join(f"'{s}'::text" for s in OPEN_STATUSES)
        return f"status::text = ANY (ARRAY[{values}])"
    return f"status IN ({', '.join(repr(s) for s in OPEN_STATUSES)})"


def _never() -> str:
    """The sentinel deadline exactly as the queries write it (see app.incidents.models)."""
    if op.get_bind().dialect.name == "postgresql":
        return "'9999-12-31 00:00:00+00'::timestamptz"
    return "'9999-12-31 00:00:00.000000'"


def upgrade():
    op.create_table('cache_generations',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_cache_generations'))
    )
    # Plain DROP/CREATE INDEX, no batch: a rebuilt SQLite table would lose expression indexes.
    op.drop_index('ix_tickets_status_due', table_name='tickets')
    due = f"coalesce(next_due_at, {_never()})"
    for name, leading, open_only in DUE_INDEXES:
        columns = ", ".join([*leading, due, "id"])
        where = f" WHERE {_open()}" if open_only else ""
        if open_only == "unassigned":
            where += " AND assignee_id IS NULL"
        op.execute(f"CREATE INDEX {name} ON tickets ({columns}){where}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_ticket_comments_body_trgm ON ticket_comments "
            "USING gin (body gin_trgm_ops)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_ticket_comments_body_trgm")
    for name, _, _ in reversed(DUE_INDEXES):
        op.execute(f"DROP INDEX {name}")
    op.create_index('ix_tickets_status_due', 'tickets', ['status', 'next_due_at', 'id'])
    op.drop_table('cache_generations')

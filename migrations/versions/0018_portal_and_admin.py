"""Ticket watchers: people who follow a ticket they did not report.

Revision ID: 0018
Revises: 0010
Create Date: 2026-12-01 20:40:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ticket_watchers",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_watchers_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ticket_watchers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", "user_id", name=op.f("pk_ticket_watchers")),
    )
    with op.batch_alter_table("ticket_watchers", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_watchers_user", ["user_id", "ticket_id"], unique=False)


def downgrade():
    with op.batch_alter_table("ticket_watchers", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_watchers_user")

    op.drop_table("ticket_watchers")

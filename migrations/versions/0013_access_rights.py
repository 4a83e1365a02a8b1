"""ERP access rights: role catalogue, SoD rules, requests, approvals, exceptions, grants, reviews.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-01 20:38:14.430751

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():

    op.create_table(
        "access_sod_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role_key", sa.String(length=400), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_sod_rules")),
        sa.UniqueConstraint("role_key", name=op.f("uq_access_sod_rules_role_key")),
    )
    op.create_table(
        "access_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("modules", sa.JSON(), nullable=False),
        sa.Column("sensitivities", sa.JSON(), nullable=False),
        sa.Column("reviewer_ids", sa.JSON(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("auto_revoke", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["users.id"], name=op.f("fk_access_campaigns_closed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_access_campaigns_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_campaigns")),
    )
    op.create_table(
        "access_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("sod_conflicts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["users.id"], name=op.f("fk_access_requests_requester_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["users.id"], name=op.f("fk_access_requests_subject_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_requests")),
    )
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.create_index("ix_access_requests_created_at", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_access_requests_requester", ["requester_id", "id"], unique=False)
        batch_op.create_index("ix_access_requests_status", ["status", "id"], unique=False)
        batch_op.create_index("ix_access_requests_subject", ["subject_id", "id"], unique=False)

    op.create_table(
        "access_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("approver_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approves_exception", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approver_id"], ["users.id"], name=op.f("fk_access_approvals_approver_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["access_requests.id"],
            name=op.f("fk_access_approvals_request_id_access_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_approvals")),
        sa.UniqueConstraint("request_id", "approver_id", name="uq_access_approval"),
    )
    with op.batch_alter_table("access_approvals", schema=None) as batch_op:
        batch_op.create_index("ix_access_approvals_approver", ["approver_id", "id"], unique=False)

    op.create_table(
        "access_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("sensitivity", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["module_id"], ["modules.id"], name=op.f("fk_access_roles_module_id_modules")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_roles")),
        sa.UniqueConstraint("code", name=op.f("uq_access_roles_code")),
    )
    with op.batch_alter_table("access_roles", schema=None) as batch_op:
        batch_op.create_index("ix_access_roles_module", ["module_id", "code"], unique=False)

    op.create_table(
        "access_sod_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("mitigating_control", sa.Text(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filed_by_id", sa.Integer(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
            name=op.f("fk_access_sod_exceptions_approved_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["filed_by_id"], ["users.id"], name=op.f("fk_access_sod_exceptions_filed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["access_requests.id"],
            name=op.f("fk_access_sod_exceptions_request_id_access_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["users.id"], name=op.f("fk_access_sod_exceptions_subject_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_sod_exceptions")),
        sa.UniqueConstraint("request_id", name=op.f("uq_access_sod_exceptions_request_id")),
    )
    with op.batch_alter_table("access_sod_exceptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_access_sod_exceptions_status", ["status", "expires_on"], unique=False
        )

    op.create_table(
        "access_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provisioned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("deprovision_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dormant_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("holder_department", sa.String(length=120), nullable=True),
        sa.Column("review_flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_reason", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["users.id"], name=op.f("fk_access_grants_ended_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["module_id"], ["modules.id"], name=op.f("fk_access_grants_module_id_modules")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["access_requests.id"],
            name=op.f("fk_access_grants_request_id_access_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["access_roles.id"], name=op.f("fk_access_grants_role_id_access_roles")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_access_grants_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_grants")),
    )
    with op.batch_alter_table("access_grants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_access_grants_module_status", ["module_id", "status"], unique=False
        )
        batch_op.create_index("ix_access_grants_status", ["status", "id"], unique=False)
        batch_op.create_index("ix_access_grants_user_status", ["user_id", "status"], unique=False)

    op.create_table(
        "access_request_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["access_requests.id"],
            name=op.f("fk_access_request_roles_request_id_access_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["access_roles.id"],
            name=op.f("fk_access_request_roles_role_id_access_roles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_request_roles")),
        sa.UniqueConstraint("request_id", "role_id", name="uq_access_request_role"),
    )
    op.create_table(
        "access_sod_rule_roles",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["access_roles.id"],
            name=op.f("fk_access_sod_rule_roles_role_id_access_roles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["access_sod_rules.id"],
            name=op.f("fk_access_sod_rule_roles_rule_id_access_sod_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", "role_id", name=op.f("pk_access_sod_rule_roles")),
    )
    op.create_table(
        "access_campaign_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("dormant", sa.Boolean(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["access_campaigns.id"],
            name=op.f("fk_access_campaign_items_campaign_id_access_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_access_campaign_items_decided_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["access_grants.id"],
            name=op.f("fk_access_campaign_items_grant_id_access_grants"),
        ),
        sa.ForeignKeyConstraint(
            ["module_id"], ["modules.id"], name=op.f("fk_access_campaign_items_module_id_modules")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_access_campaign_items_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_campaign_items")),
        sa.UniqueConstraint("campaign_id", "grant_id", name="uq_access_campaign_item"),
    )
    with op.batch_alter_table("access_campaign_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_access_campaign_items_module", ["campaign_id", "module_id", "id"], unique=False
        )


def downgrade():

    with op.batch_alter_table("access_campaign_items", schema=None) as batch_op:
        batch_op.drop_index("ix_access_campaign_items_module")

    op.drop_table("access_campaign_items")
    op.drop_table("access_sod_rule_roles")
    op.drop_table("access_request_roles")
    with op.batch_alter_table("access_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_access_grants_user_status")
        batch_op.drop_index("ix_access_grants_status")
        batch_op.drop_index("ix_access_grants_module_status")

    op.drop_table("access_grants")
    with op.batch_alter_table("access_sod_exceptions", schema=None) as batch_op:
        batch_op.drop_index("ix_access_sod_exceptions_status")

    op.drop_table("access_sod_exceptions")
    with op.batch_alter_table("access_roles", schema=None) as batch_op:
        batch_op.drop_index("ix_access_roles_module")

    op.drop_table("access_roles")
    with op.batch_alter_table("access_approvals", schema=None) as batch_op:
        batch_op.drop_index("ix_access_approvals_approver")

    op.drop_table("access_approvals")
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_access_requests_subject")
        batch_op.drop_index("ix_access_requests_status")
        batch_op.drop_index("ix_access_requests_requester")
        batch_op.drop_index("ix_access_requests_created_at")

    op.drop_table("access_requests")
    op.drop_table("access_campaigns")
    op.drop_table("access_sod_rules")

"""LMS: LTI 1.3 platforms, identities, links, keys, nonces, the score outbox, sign-in links;
the users' LMS columns (e-mail, active, Canvas ids, section) and the Canvas assignment id

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:02:38.609916
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _keys_and_nonces()
    _platforms()
    _identities()
    _sign_in_links()
    _links_and_outbox()
    _columns()


def _keys_and_nonces() -> None:
    op.create_table(
        "lti_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kid"),
    )
    op.create_table(
        "lti_nonces",
        sa.Column("nonce", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    with op.batch_alter_table("lti_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_nonces_expires_at"), ["expires_at"], unique=False)


def _platforms() -> None:
    """A platform, its deployments and contexts."""
    op.create_table(
        "lti_platforms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("auth_login_url", sa.Text(), nullable=False),
        sa.Column("auth_token_url", sa.Text(), nullable=False),
        sa.Column("key_set_url", sa.Text(), nullable=False),
        sa.Column("auth_audience", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "client_id", name="uq_lti_platform"),
    )
    op.create_table(
        "lti_contexts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("memberships_url", sa.Text(), nullable=False),
        sa.Column("lineitems_url", sa.Text(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_note", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platforms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "context_id", name="uq_lti_context"),
    )
    with op.batch_alter_table("lti_contexts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lti_contexts_platform_id"), ["platform_id"], unique=False
        )

    op.create_table(
        "lti_deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platforms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "deployment_id", name="uq_lti_deployment"),
    )
    with op.batch_alter_table("lti_deployments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lti_deployments_platform_id"), ["platform_id"], unique=False
        )


def _identities() -> None:
    op.create_table(
        "lti_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("sub", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "sub", name="uq_lti_identity"),
    )
    with op.batch_alter_table("lti_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_identities_user_id"), ["user_id"], unique=False)


def _sign_in_links() -> None:
    op.create_table(
        "sign_in_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("sent_to", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("sign_in_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_links_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sign_in_links_status"), ["status"], unique=False)


def _links_and_outbox() -> None:
    op.create_table(
        "lti_resource_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("context_pk", sa.Integer(), nullable=True),
        sa.Column("resource_link_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("lineitem_url", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["context_pk"], ["lti_contexts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platforms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "resource_link_id", name="uq_lti_resource_link"),
    )
    with op.batch_alter_table("lti_resource_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lti_resource_links_assignment_id"), ["assignment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lti_resource_links_context_pk"), ["context_pk"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lti_resource_links_platform_id"), ["platform_id"], unique=False
        )

    op.create_table(
        "lti_score_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_link_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sent_version", sa.Integer(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("sent_score", sa.Float(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_link_pk"], ["lti_resource_links.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("resource_link_pk", "user_id", name="uq_lti_outbox"),
    )
    with op.batch_alter_table("lti_score_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lti_score_outbox_next_try_at"), ["next_try_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lti_score_outbox_resource_link_pk"), ["resource_link_pk"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_lti_score_outbox_user_id"), ["user_id"], unique=False)


def _columns() -> None:
    """The users' LMS columns and the Canvas assignment id."""
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "canvas_assignment_id", sa.String(length=50), server_default="", nullable=False
            )
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email", sa.String(length=320), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("lms_id", sa.String(length=100), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("sis_user_id", sa.String(length=100), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("sis_login_id", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("section", sa.String(length=200), server_default="", nullable=False)
        )


def downgrade() -> None:

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("section")
        batch_op.drop_column("sis_login_id")
        batch_op.drop_column("sis_user_id")
        batch_op.drop_column("lms_id")
        batch_op.drop_column("active")
        batch_op.drop_column("email")

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_column("canvas_assignment_id")

    with op.batch_alter_table("lti_score_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_score_outbox_user_id"))
        batch_op.drop_index(batch_op.f("ix_lti_score_outbox_resource_link_pk"))
        batch_op.drop_index(batch_op.f("ix_lti_score_outbox_next_try_at"))

    op.drop_table("lti_score_outbox")
    with op.batch_alter_table("lti_resource_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_resource_links_platform_id"))
        batch_op.drop_index(batch_op.f("ix_lti_resource_links_context_pk"))
        batch_op.drop_index(batch_op.f("ix_lti_resource_links_assignment_id"))

    op.drop_table("lti_resource_links")
    with op.batch_alter_table("sign_in_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_links_user_id"))
        batch_op.drop_index(batch_op.f("ix_sign_in_links_status"))

    op.drop_table("sign_in_links")
    with op.batch_alter_table("lti_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_identities_user_id"))

    op.drop_table("lti_identities")
    with op.batch_alter_table("lti_deployments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_deployments_platform_id"))

    op.drop_table("lti_deployments")
    with op.batch_alter_table("lti_contexts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_contexts_platform_id"))

    op.drop_table("lti_contexts")
    op.drop_table("lti_platforms")
    with op.batch_alter_table("lti_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_nonces_expires_at"))

    op.drop_table("lti_nonces")
    op.drop_table("lti_keys")

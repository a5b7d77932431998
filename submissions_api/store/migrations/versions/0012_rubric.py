"""Rubric grading: rubric items applied to manual grades (with the TA's adjustment and a version
against lost updates), annotations on a hand-in's lines, students' regrade requests

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _manual_grades()
    _rubric_items()
    _annotations()
    _regrade_requests()


def _manual_grades() -> None:
    with op.batch_alter_table("manual_grades") as batch:
        batch.add_column(sa.Column("adjustment", sa.Float(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("manual_grades") as batch:  # the ORM gives the values
        batch.alter_column("adjustment", server_default=None)
        batch.alter_column("version", server_default=None)


def _rubric_items() -> None:
    op.create_table(
        "rubric_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=50), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("key", sa.String(length=1), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["changed_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rubric_items_assignment_id", "rubric_items", ["assignment_id"])
    op.create_table(
        "rubric_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grade_id", sa.Integer(), nullable=False),
        sa.Column("rubric_item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["grade_id"], ["manual_grades.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rubric_item_id"], ["rubric_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("grade_id", "rubric_item_id", name="uq_applied_once"),
    )
    op.create_index("ix_rubric_applications_grade_id", "rubric_applications", ["grade_id"])
    op.create_index("ix_rubric_applications_rubric_item_id", "rubric_applications",
                    ["rubric_item_id"])


def _annotations() -> None:
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("first_line", sa.Integer(), nullable=False),
        sa.Column("last_line", sa.Integer(), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("rubric_item_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rubric_item_id"], ["rubric_items.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_annotations_submission_id", "annotations", ["submission_id"])


def _regrade_requests() -> None:
    op.create_table(
        "regrade_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=50), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("points_before", sa.Float(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("points_after", sa.Float(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["answered_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "assignment_id", "item_id", name="uq_request_once"),
    )
    op.create_index("ix_regrade_requests_assignment_id", "regrade_requests", ["assignment_id"])


def downgrade() -> None:
    op.drop_table("regrade_requests")
    op.drop_table("annotations")
    op.drop_table("rubric_applications")
    op.drop_table("rubric_items")
    with op.batch_alter_table("manual_grades") as batch:
        batch.drop_column("version")
        batch.drop_column("adjustment")

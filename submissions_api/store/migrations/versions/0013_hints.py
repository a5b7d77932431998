"""Cluster hints: a TA's hint per failure cluster of an assignment, and the students it reached

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_hints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("cluster", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("fix_first", sa.String(length=200), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["written_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assignment_id", "cluster"),
    )
    op.create_index("ix_cluster_hints_assignment_id", "cluster_hints", ["assignment_id"])
    op.create_table(
        "hint_reaches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hint_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["hint_id"], ["cluster_hints.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hint_id", "user_id"),
    )
    op.create_index("ix_hint_reaches_hint_id", "hint_reaches", ["hint_id"])


def downgrade() -> None:
    op.drop_index("ix_hint_reaches_hint_id", table_name="hint_reaches")
    op.drop_table("hint_reaches")
    op.drop_index("ix_cluster_hints_assignment_id", table_name="cluster_hints")
    op.drop_table("cluster_hints")

"""the class change log: which students of which assignments each step of the class revision
changed, so a kept view re-reads only those (store/revision.py)

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-07 13:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "class_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_class_changes_revision", "class_changes", ["revision"])


def downgrade() -> None:
    op.drop_index("ix_class_changes_revision", table_name="class_changes")
    op.drop_table("class_changes")

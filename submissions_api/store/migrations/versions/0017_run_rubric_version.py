"""the rubric a run was graded under

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 14:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The rubric's own content hash (grader.rubric.Assignment.version) beside the golden set's
    # and the grader's versions: an edited rubric (points, tolerances) shows on the runs graded
    # under it. Runs recorded before this are "" (unknown).
    with op.batch_alter_table("grading_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rubric_version", sa.String(length=40), nullable=False,
                                      server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("grading_runs", schema=None) as batch_op:
        batch_op.drop_column("rubric_version")

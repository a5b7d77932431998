"""grading progress; assignment visibility and score release

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A running submission's progress (when its attempt started, which test runs) for the
    # student's live status line; estimates read finished runs, this reads the running one.
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('progress', sa.JSON(), nullable=True))
    # Which assignments students see (hidden, or shown from a time) and when their scores and
    # feedback are released (NULL: at once).
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('visible_from', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('release_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_column('release_at')
        batch_op.drop_column('visible_from')
        batch_op.drop_column('hidden')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('progress')
        batch_op.drop_column('started_at')

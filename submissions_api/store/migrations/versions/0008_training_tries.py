"""how many times a training run was sent

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 01:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A training run that keeps crashing its worker, or whose result cannot be stored, is
    # re-sent by the reaper: the count caps it, so it ends failed instead of looping forever.
    with op.batch_alter_table('grading_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('training_tries', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('training_sent_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('grading_runs', schema=None) as batch_op:
        batch_op.drop_column('training_sent_at')
        batch_op.drop_column('training_tries')

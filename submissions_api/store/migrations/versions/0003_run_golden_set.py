"""the golden set a run was graded with

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 21:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The training run finds its run's golden set by id, not by matching version strings.
    with op.batch_alter_table('grading_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('golden_set_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_run_golden_set', 'golden_sets', ['golden_set_id'],
                                    ['id'])


def downgrade() -> None:
    with op.batch_alter_table('grading_runs', schema=None) as batch_op:
        batch_op.drop_constraint('fk_run_golden_set', type_='foreignkey')
        batch_op.drop_column('golden_set_id')

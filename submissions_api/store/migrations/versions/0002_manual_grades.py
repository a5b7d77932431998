"""manual grades, run artifacts and the deferred training run

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 14:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'manual_grades',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.String(length=50), nullable=False),
        sa.Column('points', sa.Float(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('graded_by_id', sa.Integer(), nullable=True),
        sa.Column('graded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['graded_by_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('submission_id', 'item_id', name='uq_manual_item'),
    )
    with op.batch_alter_table('manual_grades', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manual_grades_submission_id'), ['submission_id'],
                              unique=False)
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manual_score', sa.Float(), nullable=True))
    with op.batch_alter_table('grading_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('artifacts', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('summary', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('training', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('grading_runs', schema=None) as batch_op:
        batch_op.drop_column('training')
        batch_op.drop_column('summary')
        batch_op.drop_column('artifacts')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('manual_score')
    with op.batch_alter_table('manual_grades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manual_grades_submission_id'))
    op.drop_table('manual_grades')

"""manual points belong to (student, assignment, item); reusable comments

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('manual_grades', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('assignment_id', sa.Integer(), nullable=True))
    op.execute("UPDATE manual_grades SET "
               "user_id = (SELECT user_id FROM submissions s WHERE s.id = submission_id), "
               "assignment_id = (SELECT assignment_id FROM submissions s "
               "WHERE s.id = submission_id)")
    # a student graded on several submissions keeps the latest grade of each item
    op.execute("DELETE FROM manual_grades WHERE id NOT IN (SELECT max(id) FROM manual_grades "
               "GROUP BY user_id, assignment_id, item_id)")
    with op.batch_alter_table('manual_grades', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('assignment_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint('uq_manual_item', type_='unique')
        batch_op.create_unique_constraint('uq_manual_student_item',
                                          ['user_id', 'assignment_id', 'item_id'])
        batch_op.create_foreign_key('fk_manual_user', 'users', ['user_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_foreign_key('fk_manual_assignment', 'assignments', ['assignment_id'],
                                    ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_manual_grades_assignment_id'), ['assignment_id'],
                              unique=False)
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('manual_score')
    op.create_table(
        'saved_comments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.String(length=50), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('saved_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_comments_assignment_id'), ['assignment_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('saved_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_comments_assignment_id'))
    op.drop_table('saved_comments')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manual_score', sa.Float(), nullable=True))
    op.execute("UPDATE submissions SET manual_score = (SELECT sum(points) FROM manual_grades m "
               "WHERE m.submission_id = submissions.id)")
    with op.batch_alter_table('manual_grades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manual_grades_assignment_id'))
        batch_op.drop_constraint('fk_manual_assignment', type_='foreignkey')
        batch_op.drop_constraint('fk_manual_user', type_='foreignkey')
        batch_op.drop_constraint('uq_manual_student_item', type_='unique')
        batch_op.create_unique_constraint('uq_manual_item', ['submission_id', 'item_id'])
        batch_op.drop_column('assignment_id')
        batch_op.drop_column('user_id')

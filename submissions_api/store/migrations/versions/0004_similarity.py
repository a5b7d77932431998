"""similarity detection: fingerprinted hand-ins and scored pairs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'similarity_entries',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('assignment_id', sa.Integer(),
                  sa.ForeignKey('assignments.id', ondelete='CASCADE'), nullable=False),
        sa.Column('source', sa.String(20), nullable=False),
        sa.Column('submission_id', sa.Integer(),
                  sa.ForeignKey('submissions.id', ondelete='CASCADE'), nullable=True,
                  unique=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('student', sa.String(200), nullable=False),
        sa.Column('semester', sa.String(50), nullable=False),
        sa.Column('prints', sa.JSON(), nullable=False),
        sa.Column('sources', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False))
    op.create_index('ix_similarity_entries_assignment_id', 'similarity_entries',
                    ['assignment_id'])
    op.create_index('ix_similarity_entries_user_id', 'similarity_entries', ['user_id'])
    op.create_table(
        'similarity_pairs',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('assignment_id', sa.Integer(),
                  sa.ForeignKey('assignments.id', ondelete='CASCADE'), nullable=False),
        sa.Column('a_id', sa.Integer(),
                  sa.ForeignKey('similarity_entries.id', ondelete='CASCADE'), nullable=False),
        sa.Column('b_id', sa.Integer(),
                  sa.ForeignKey('similarity_entries.id', ondelete='CASCADE'), nullable=False),
        sa.Column('similarity', sa.Float(), nullable=False),
        sa.Column('matches', sa.JSON(), nullable=False),
        sa.Column('review', sa.String(20), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('reviewed_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('a_id', 'b_id'))
    for column in ('assignment_id', 'a_id', 'b_id', 'similarity'):
        op.create_index(f'ix_similarity_pairs_{column}', 'similarity_pairs', [column])


def downgrade() -> None:
    op.drop_table('similarity_pairs')
    op.drop_table('similarity_entries')

"""the class revision: one row that every committed write a class-wide view reads moves on

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:00:00
"""
import uuid

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Class-wide views (gradebook, statistics) are kept per process while this row is unchanged
    # (store/revision.py); the epoch is random, so a recreated database never matches.
    table = op.create_table(
        'class_revision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('epoch', sa.String(length=32), nullable=False),
        sa.Column('revision', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.bulk_insert(table, [{'id': 1, 'epoch': uuid.uuid4().hex, 'revision': 0}])


def downgrade() -> None:
    op.drop_table('class_revision')

"""Faults at the edges: uploads' idempotency keys, the lease of a golden set the service makes,
and the worker hosts' health

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 09:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
        batch.create_unique_constraint("uq_submission_key", ["user_id", "idempotency_key"])
    with op.batch_alter_table("golden_sets") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True),
                                   nullable=True))
    op.create_table(
        "worker_hosts",
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("sick", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("worker_hosts")
    with op.batch_alter_table("golden_sets") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint("uq_submission_key", type_="unique")
        batch.drop_column("idempotency_key")

"""Hardware warranty per account and the RMA replacement clock per case (seed 001).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warranty_option", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("warranty_starts_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("warranty_ends_on", sa.Date(), nullable=True))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warranty_option", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("warranty_ends_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("rma_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("replacement_due", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for name in ("replacement_due", "rma_started_at", "warranty_ends_on", "warranty_option"):
            batch_op.drop_column(name)
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        for name in ("warranty_ends_on", "warranty_starts_on", "warranty_option"):
            batch_op.drop_column(name)

"""Case deadlines (first response, resolution) and an index for monthly quota counts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_response_due", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolution_due", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_cases_account_opened", ["account_id", "opened_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_account_opened")
        batch_op.drop_column("resolution_due")
        batch_op.drop_column("first_response_due")

"""Retention and erasure: when a case's raw mail was purged, purged attachment contents, the erasure log.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_purged_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasures")),
    )
    op.create_index(op.f("ix_erasures_address_hash"), "erasures", ["address_hash"])


def downgrade() -> None:
    op.drop_index(op.f("ix_erasures_address_hash"), table_name="erasures")
    op.drop_table("erasures")
    # Plain DROP COLUMN (SQLite 3.35+): batch mode would copy `cases`, which the search index's FTS5 triggers
    # (migration 0014) forbid while they exist.
    op.drop_column("attachments", "content_purged_at")
    op.drop_column("cases", "raw_purged_at")

"""Alert sends (each alert once per address) and longer outbox kinds.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=32), type_=sa.String(length=160), existing_nullable=False)
    op.create_table(
        "alert_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_key", sa.String(length=128), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_alert_sends_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_sends")),
        sa.UniqueConstraint("alert_key", "recipient", name=op.f("uq_alert_sends_alert_key")),
    )


def downgrade() -> None:
    op.drop_table("alert_sends")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=160), type_=sa.String(length=32), existing_nullable=False)

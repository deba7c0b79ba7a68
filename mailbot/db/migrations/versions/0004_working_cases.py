"""Working cases by email: assignment, clocks, closing, surveys, events, account managers.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

def case_columns() -> tuple[sa.Column, ...]:  # type: ignore[type-arg]
    return (
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_to", sa.String(length=320), nullable=True),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.String(length=32), nullable=True),
        sa.Column("related_case_id", sa.Integer(), nullable=True),
        sa.Column("escalation_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remote_hours", sa.Float(), nullable=False, server_default="0"),
        sa.Column("survey_rating", sa.Integer(), nullable=True),
        sa.Column("survey_comment", sa.Text(), nullable=True),
        sa.Column("survey_at", sa.DateTime(timezone=True), nullable=True),
    )


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for column in case_columns():
            batch_op.add_column(column)
        batch_op.create_foreign_key(op.f("fk_cases_related_case_id_cases"), "cases", ["related_case_id"], ["id"])
    with op.batch_alter_table("case_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author", sa.String(length=16), nullable=False, server_default="customer"))
        batch_op.add_column(sa.Column("internal", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tam_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("cam_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("remote_hours_used", sa.Float(), nullable=False, server_default="0"))
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_events_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("case_events")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        for name in ("remote_hours_used", "cam_email", "tam_email"):
            batch_op.drop_column(name)
    with op.batch_alter_table("case_messages", schema=None) as batch_op:
        batch_op.drop_column("internal")
        batch_op.drop_column("author")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_cases_related_case_id_cases"), type_="foreignkey")
        for column in reversed(case_columns()):
            batch_op.drop_column(column.name)

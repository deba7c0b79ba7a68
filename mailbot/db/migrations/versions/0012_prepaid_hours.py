"""Prepaid remote-support hours: a card per account and contract period, its ledger, a contract's own hours.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prepaid_remote_hours", sa.Float(), nullable=True))
    op.create_table(
        "prepaid_hours_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("contract_reference", sa.String(length=128), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("granted", sa.Float(), nullable=False),
        sa.Column("low_statement_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exhausted_statement_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_prepaid_hours_cards_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prepaid_hours_cards")),
        sa.UniqueConstraint("account_id", "contract_reference", "starts_on", name=op.f("uq_prepaid_hours_cards_account_id")),
    )
    op.create_index(op.f("ix_prepaid_hours_cards_account_id"), "prepaid_hours_cards", ["account_id"])
    op.create_table(
        "prepaid_hours_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("engineer", sa.String(length=320), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overdraft", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["prepaid_hours_cards.id"],
                                name=op.f("fk_prepaid_hours_entries_card_id_prepaid_hours_cards"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_prepaid_hours_entries_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prepaid_hours_entries")),
    )
    op.create_index(op.f("ix_prepaid_hours_entries_card_id"), "prepaid_hours_entries", ["card_id"])
    op.create_index(op.f("ix_prepaid_hours_entries_case_id"), "prepaid_hours_entries", ["case_id"])


def downgrade() -> None:
    op.drop_table("prepaid_hours_entries")
    op.drop_table("prepaid_hours_cards")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_column("prepaid_remote_hours")

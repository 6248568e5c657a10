"""Each result keeps its test's description (promptfoo's ``description``, a CSV's
``__description``), so that reports name the row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL in rows written before, and for tests without a description.
    op.add_column("results", sa.Column("description", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_column("description")

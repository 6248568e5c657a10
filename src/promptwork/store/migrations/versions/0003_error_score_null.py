"""An error cell has no score: ``results.score`` may be NULL, and is NULL for errors.

Before, error cells (failed model calls, ...) were stored with ``score = 0.0``, so anyone averaging
the column counted errors as zeros.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.alter_column("score", existing_type=sa.Float, nullable=True)
    op.execute("UPDATE results SET score = NULL WHERE error IS NOT NULL")


def downgrade() -> None:
    op.execute("UPDATE results SET score = 0.0 WHERE score IS NULL")
    with op.batch_alter_table("results") as batch:
        batch.alter_column("score", existing_type=sa.Float, nullable=False)

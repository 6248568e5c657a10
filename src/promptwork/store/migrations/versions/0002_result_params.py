"""Each result keeps the generation parameters its call was made with.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL in rows written before: their parameters are in the run's settings.
    op.add_column("results", sa.Column("params", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_column("params")

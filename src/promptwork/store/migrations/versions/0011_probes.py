"""Probes: which probe derived a result cell, from which test, by which transformation (issue 21).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for cells of the suite's own tests (and every row written before).
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("probe_kind", sa.String(32)))
        batch.add_column(sa.Column("probe_origin", sa.Integer))
        batch.add_column(sa.Column("probe_transform", sa.Text))
        batch.add_column(sa.Column("probe_group", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        for name in ("probe_group", "probe_transform", "probe_origin", "probe_kind"):
            batch.drop_column(name)

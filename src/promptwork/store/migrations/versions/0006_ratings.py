"""Human ratings of result cells, kept next to the automated verdicts (never replacing them).

One row per rating act: a rater's pass/fail, optional 0-1 score and comment on one cell of a run.
The latest row per (cell, rater) counts; withdrawing marks that rater's rows of the cell
``withdrawn_at`` (the history stays). Deleting a run deletes its ratings.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("prompt_idx", sa.Integer, nullable=False),
        sa.Column("provider_idx", sa.Integer, nullable=False),
        sa.Column("test_idx", sa.Integer, nullable=False),
        sa.Column("repeat_idx", sa.Integer, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("comment", sa.Text),
        sa.Column("rater", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_ratings_cell", "ratings",
                    ["run_id", "test_idx", "prompt_idx", "provider_idx", "repeat_idx"])


def downgrade() -> None:
    op.drop_index("ix_ratings_cell", "ratings")
    op.drop_table("ratings")

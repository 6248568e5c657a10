"""Per-column figures of a finished run, stored once at run finish (issue 19).

``column_figures``: one row per prompt x model column of a run, holding what the workbench's
column summary shows (verdict counts, score sum, tokens, cost, cache hits, p50/p95 latency and
the named metrics' means). The runner writes them when a run finishes; a finished run stored
before this migration gets them on its first open. ``finished_at`` and ``cells`` record the run's
end time and stored cell count they were computed for: a resumed or extended run is computed
again. Deleting a run deletes its figures.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "column_figures",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("prompt_idx", sa.Integer, primary_key=True),
        sa.Column("provider_idx", sa.Integer, primary_key=True),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("cells", sa.Integer, nullable=False),
        sa.Column("passes", sa.Integer, nullable=False),
        sa.Column("fails", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("score_sum", sa.Float, nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("cost", sa.Float, nullable=False),
        sa.Column("cost_known", sa.Boolean, nullable=False),
        sa.Column("cached", sa.Integer, nullable=False),
        sa.Column("p50_ms", sa.Float),
        sa.Column("p95_ms", sa.Float),
        sa.Column("metrics", sa.JSON, nullable=False),  # [[name, mean], ...] in column order
    )


def downgrade() -> None:
    op.drop_table("column_figures")

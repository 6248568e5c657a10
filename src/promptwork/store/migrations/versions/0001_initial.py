"""Initial schema: prompts, runs, results, cache entries.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompts",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("suite_path", sa.Text),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("total_cells", sa.Integer, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("summary", sa.JSON),
    )
    op.create_table(
        "results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("prompt_idx", sa.Integer, nullable=False),
        sa.Column("provider_idx", sa.Integer, nullable=False),
        sa.Column("test_idx", sa.Integer, nullable=False),
        sa.Column("repeat_idx", sa.Integer, nullable=False),
        sa.Column("prompt_hash", sa.String(64), sa.ForeignKey("prompts.hash"), nullable=False),
        sa.Column("provider_id", sa.Text, nullable=False),
        sa.Column("vars", sa.JSON, nullable=False),
        sa.Column("prompt_text", sa.Text, nullable=False),
        sa.Column("output", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("error_kind", sa.String(32)),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("grading", sa.JSON),
        sa.Column("latency_ms", sa.Float),
        sa.Column("cost", sa.Float),
        sa.Column("prompt_tokens", sa.Integer),
        sa.Column("completion_tokens", sa.Integer),
        sa.Column("cached", sa.Boolean, nullable=False),
        sa.Column("finish_reason", sa.String(32)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("run_id", "prompt_idx", "provider_idx", "test_idx", "repeat_idx",
                            name="uq_results_cell"),
    )
    op.create_index("ix_results_run", "results", ["run_id", "test_idx"])
    op.create_table(
        "cache_entries",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cache_entries")
    op.drop_index("ix_results_run", "results")
    op.drop_table("results")
    op.drop_table("runs")
    op.drop_table("prompts")

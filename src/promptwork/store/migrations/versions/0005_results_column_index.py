"""An index on a run's results by column (prompt x model) then test, for the workbench's
per-column summaries and column filters, whose cost must not grow with other runs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_results_column", "results",
                    ["run_id", "prompt_idx", "provider_idx", "test_idx"])


def downgrade() -> None:
    op.drop_index("ix_results_column", table_name="results")

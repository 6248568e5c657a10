"""Partial indexes behind the workbench's per-column numbers, so that a matrix page of a
100,000-cell run stays fast.

* ``ix_results_answered``: the answered cells (``error IS NULL``) of a run by column, then
  latency, carrying every number the column summary adds up (verdict, score, cost, cache hit,
  tokens). The summary is read from this index alone (no table row is visited), and a latency
  percentile is one walk along it (``ORDER BY latency_ms OFFSET k``) instead of a sort.
* ``ix_results_errors``: the error cells of a run by column (usually few), counted apart
  (their rows are visited: the error texts stay out of the index).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# ``error`` is NULL in every entry (one byte each): carrying it lets SQLite see that the index
# alone answers ``WHERE error IS NULL`` (a covering index), without visiting the table.
ANSWERED = ["run_id", "prompt_idx", "provider_idx", "latency_ms", "success", "score", "cost",
            "cached", "prompt_tokens", "completion_tokens", "error"]


def upgrade() -> None:
    answered, errors = sa.text("error IS NULL"), sa.text("error IS NOT NULL")
    op.create_index("ix_results_answered", "results", ANSWERED,
                    sqlite_where=answered, postgresql_where=answered)
    op.create_index("ix_results_errors", "results", ["run_id", "prompt_idx", "provider_idx"],
                    sqlite_where=errors, postgresql_where=errors)


def downgrade() -> None:
    op.drop_index("ix_results_errors", table_name="results")
    op.drop_index("ix_results_answered", table_name="results")

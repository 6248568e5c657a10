"""Tables of the result store (SQLAlchemy Core).

The schema is created and upgraded only by the Alembic migrations in ``migrations/``; this module
describes it for queries. Prompts are content-addressed: a result points at the exact text (by
sha256) that produced it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

prompts = Table(
    "prompts",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("label", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),  # running | complete | interrupted | failed
    Column("description", Text),
    Column("suite_path", Text),
    Column("fingerprint", String(64), nullable=False),
    Column("total_cells", Integer, nullable=False),
    Column("settings", JSON, nullable=False),  # prompts, providers, options, decoding settings
    Column("summary", JSON),
)

results = Table(
    "results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("prompt_idx", Integer, nullable=False),
    Column("provider_idx", Integer, nullable=False),
    Column("test_idx", Integer, nullable=False),
    Column("repeat_idx", Integer, nullable=False),
    Column("prompt_hash", String(64), ForeignKey("prompts.hash"), nullable=False),
    Column("provider_id", Text, nullable=False),
    Column("vars", JSON, nullable=False),
    Column("prompt_text", Text, nullable=False),
    Column("output", Text),
    Column("error", Text),
    Column("error_kind", String(32)),
    Column("success", Boolean, nullable=False),
    Column("score", Float),  # NULL for an error cell: it has no verdict (migration 0003)
    Column("grading", JSON),
    Column("latency_ms", Float),
    Column("cost", Float),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("cached", Boolean, nullable=False),
    Column("finish_reason", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("params", JSON),  # the generation parameters of the call (migration 0002)
    Column("description", Text),  # the test's description, if it has one (migration 0004)
    UniqueConstraint("run_id", "prompt_idx", "provider_idx", "test_idx", "repeat_idx",
                     name="uq_results_cell"),
)
Index("ix_results_run", results.c.run_id, results.c.test_idx)
Index("ix_results_column", results.c.run_id, results.c.prompt_idx, results.c.provider_idx,
      results.c.test_idx)  # migration 0005
# Migration 0007: the per-column numbers of the workbench, read from the indexes alone.
Index("ix_results_answered", results.c.run_id, results.c.prompt_idx, results.c.provider_idx,
      results.c.latency_ms, results.c.success, results.c.score, results.c.cost, results.c.cached,
      results.c.prompt_tokens, results.c.completion_tokens, results.c.error,  # NULL: covering
      sqlite_where=results.c.error.is_(None), postgresql_where=results.c.error.is_(None))
Index("ix_results_errors", results.c.run_id, results.c.prompt_idx, results.c.provider_idx,
      sqlite_where=results.c.error.is_not(None), postgresql_where=results.c.error.is_not(None))

ratings = Table(
    "ratings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("prompt_idx", Integer, nullable=False),
    Column("provider_idx", Integer, nullable=False),
    Column("test_idx", Integer, nullable=False),
    Column("repeat_idx", Integer, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("score", Float),  # optional, 0 to 1
    Column("comment", Text),
    Column("rater", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True)),  # set when the rater withdrew it
)  # human ratings (migration 0006): the latest per (cell, rater) counts
Index("ix_ratings_cell", ratings.c.run_id, ratings.c.test_idx, ratings.c.prompt_idx,
      ratings.c.provider_idx, ratings.c.repeat_idx)

cache_entries = Table(
    "cache_entries",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),  # JSON text, never pickle
    Column("created_at", DateTime(timezone=True), nullable=False),
)

hook_events = Table(
    "hook_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),  # run.finished, label.moved, ...
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)  # the outbox of events for webhooks (migration 0010); delivery is promptwork.hooks' job
Index("ix_hook_events_kind", hook_events.c.kind, hook_events.c.id)

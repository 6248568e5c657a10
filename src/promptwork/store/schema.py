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
    # Set on cells of a test derived by a probe (migration 0011): which probe, from which of
    # the suite's tests, by which transformation, in which group of its figures.
    Column("probe_kind", String(32)),
    Column("probe_origin", Integer),
    Column("probe_transform", Text),
    Column("probe_group", Text),
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

column_figures = Table(
    "column_figures",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("prompt_idx", Integer, primary_key=True),
    Column("provider_idx", Integer, primary_key=True),
    Column("finished_at", DateTime(timezone=True)),  # the run's end time they were computed for
    Column("cells", Integer, nullable=False),  # the run's stored cells then
    Column("passes", Integer, nullable=False),
    Column("fails", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("score_sum", Float, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("cost", Float, nullable=False),
    Column("cost_known", Boolean, nullable=False),
    Column("cached", Integer, nullable=False),
    Column("p50_ms", Float),
    Column("p95_ms", Float),
    Column("metrics", JSON, nullable=False),  # [[name, mean], ...] in column order
)  # a finished run's per-column figures, stored once at its finish (migration 0008)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("scope", String(16), nullable=False),  # read | run | admin
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256; the token is not kept
    Column("prefix", String(16), nullable=False),  # the first characters, to recognise it
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)  # API tokens of `promptwork serve` (migration 0010)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),  # a token's name, or "cli"
    Column("action", String(64), nullable=False),  # label.moved, prompt.run, eval.started, ...
    Column("subject", Text, nullable=False),
    Column("detail", JSON),
)  # who moved which label, who ran what (migration 0010)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False),
    Column("events", JSON, nullable=False),  # the event kinds it subscribes to
    Column("secret", String(128), nullable=False),  # the HMAC key (needed to sign; never shown)
    Column("after_event", Integer, nullable=False),  # events up to this id predate the hook
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("removed_at", DateTime(timezone=True)),
)  # outgoing webhooks (migration 0010)

hook_deliveries = Table(
    "hook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", Integer, ForeignKey("hook_events.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("next_at", DateTime(timezone=True)),  # when a failed delivery is tried again
)  # every delivery attempt (migration 0010)
Index("ix_hook_deliveries_pair", hook_deliveries.c.webhook_id, hook_deliveries.c.event_id)

# The prompt library (migration 0009): identities, their files' history, the labels' mirror.
library_prompts = Table(
    "library_prompts",
    metadata,
    Column("name", String(300), primary_key=True),  # front matter name, else the file's path
    Column("path", Text),  # where its newest version was read (relative to the library folder)
    Column("description", Text),
    Column("tags", JSON, nullable=False),
    Column("latest_hash", String(64), ForeignKey("prompts.hash"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

library_versions = Table(
    "library_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(300), ForeignKey("library_prompts.name", ondelete="CASCADE"),
           nullable=False),
    Column("hash", String(64), ForeignKey("prompts.hash"), nullable=False),
    Column("path", Text),
    Column("source", String(16), nullable=False),  # sync | eval | optimize | import
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)  # a row each time a prompt's content or path changed
Index("ix_library_versions_name", library_versions.c.name, library_versions.c.id)
Index("ix_library_versions_hash", library_versions.c.hash)

library_labels = Table(
    "library_labels",
    metadata,
    Column("name", String(300), primary_key=True),
    Column("label", String(100), primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("path", Text),
    Column("who", String(100), nullable=False),
    Column("moved_at", DateTime(timezone=True), nullable=False),
)  # the mirror of prompts.lock.yaml, for serving

#: The searched text: an FTS5 virtual table on SQLite; on PostgreSQL a table with a generated
#: ``document`` tsvector (GIN-indexed) beside these columns. Searched with dialect SQL
#: (:mod:`promptwork.store.library_search`).
library_search = Table(
    "library_search",
    metadata,
    Column("name", String(300)),
    Column("tags", Text),
    Column("description", Text),
    Column("body", Text),
)

"""The prompt library: prompt identities, file versions, labels and full-text search (issue 20).

* ``library_prompts``: one row per prompt identity (front matter ``name``, else the file's path
  relative to the library folder), with what its newest version says of itself.
* ``library_versions``: the history of a prompt's file: which content (``prompts.hash``) was at
  which path, when, recorded by whom (``sync``, ``eval``, ``optimize``). A row is added when the
  content or the path changed, so renaming and editing keep the history.
* ``library_labels``: the store's mirror of ``prompts.lock.yaml`` (the labels are the file's).
* ``library_search``: the text searched: an FTS5 virtual table on SQLite; on PostgreSQL a table
  with a stored, weighted ``tsvector`` column and a GIN index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_PG_DOCUMENT = (
    "setweight(to_tsvector('english', coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(tags, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(body, '')), 'C')"
)


def upgrade() -> None:
    op.create_table(
        "library_prompts",
        sa.Column("name", sa.String(300), primary_key=True),
        sa.Column("path", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("latest_hash", sa.String(64), sa.ForeignKey("prompts.hash"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "library_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(300),
                  sa.ForeignKey("library_prompts.name", ondelete="CASCADE"), nullable=False),
        sa.Column("hash", sa.String(64), sa.ForeignKey("prompts.hash"), nullable=False),
        sa.Column("path", sa.Text),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_library_versions_name", "library_versions", ["name", "id"])
    op.create_index("ix_library_versions_hash", "library_versions", ["hash"])
    op.create_table(
        "library_labels",
        sa.Column("name", sa.String(300), primary_key=True),
        sa.Column("label", sa.String(100), primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("path", sa.Text),
        sa.Column("who", sa.String(100), nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE library_search USING fts5("
                   "name, tags, description, body, tokenize = 'porter unicode61')")
    else:
        op.create_table(
            "library_search",
            sa.Column("name", sa.String(300), primary_key=True),
            sa.Column("tags", sa.Text),
            sa.Column("description", sa.Text),
            sa.Column("body", sa.Text),
        )
        if op.get_bind().dialect.name == "postgresql":
            op.execute("ALTER TABLE library_search ADD COLUMN document tsvector "
                       f"GENERATED ALWAYS AS ({_PG_DOCUMENT}) STORED")
            op.execute("CREATE INDEX ix_library_search_document ON library_search "
                       "USING GIN (document)")


def downgrade() -> None:
    op.drop_table("library_search")
    op.drop_table("library_labels")
    op.drop_index("ix_library_versions_hash", table_name="library_versions")
    op.drop_index("ix_library_versions_name", table_name="library_versions")
    op.drop_table("library_versions")
    op.drop_table("library_prompts")

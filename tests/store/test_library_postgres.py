"""The prompt library on a real PostgreSQL server: migration 0009's tables and tsvector index,
ranked full-text search with snippets, the performance filters, labels and their mirror.
Skipped where PostgreSQL cannot be started (see test_postgres.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from evalkit import isolate_env
from librarykit import make_library, open_store, run_suite
from promptwork.library.cards import prompt_card, render_card
from promptwork.library.lock import move_label
from promptwork.library.search import search
from promptwork.library.sync import sync_folder
from promptwork.store.library import labelled_version, library_entry
from promptwork.store.library_search import text_search

from .test_postgres import pg_url, postgres_server  # noqa: F401  (the cluster fixtures)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


def test_the_library_on_postgres(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    suite = make_library(tmp_path)
    run_suite(suite, db=pg_url)
    store = open_store(tmp_path, pg_url)
    try:
        assert {"library_prompts", "library_versions", "library_labels", "library_search"} <= (
            set(inspect(store.engine).get_table_names()))
        with store.engine.connect() as conn:
            index = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = "
                                      "'ix_library_search_document'")).scalar_one()
        assert "gin" in index.lower()
        sync_folder(store, tmp_path)
        assert sync_folder(store, tmp_path).count("unchanged") == 3
        hits = text_search(store, "refund")
        assert [h.name for h in hits] == ["reply"] and ("refund", True) in hits[0].snippet
        assert [h.name for h in text_search(store, "replying")] == ["reply"]  # stemmed
        assert [h.name for h in text_search(store, "classif")] == ["classify"]  # prefix
        ranked = text_search(store, "support")  # tags of both; "reply" has it once
        assert sorted(h.name for h in ranked) == ["classify", "reply"]
        assert all(h.score > 0 for h in ranked)
        assert text_search(store, "refund billing") == []
        assert text_search(store, "'); DROP TABLE runs; --") == []
        good = search(store=store, suite="promptwork.yaml", model="bot", min_score=0.7)
        assert [(r.name, r.measured) for r in good] == [("reply", 0.75)]
        move_label(store, tmp_path, "reply", library_entry(store, "reply").latest_hash[:9],
                   "production", who="dora")
        served = labelled_version(store, "reply", "production")
        assert served is not None and served.who == "dora" and "{{ question }}" in served.text
        assert [r.name for r in search("support", store=store, label="production")] == ["reply"]
        assert "3/4 = 75.0%" in render_card(prompt_card(store, "reply"))
    finally:
        store.close()

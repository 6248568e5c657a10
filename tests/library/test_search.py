"""Searching the library: full-text ranking with snippets (FTS5), filters by tag, label and
measured performance, the semantic ranking and its plain fallback, and the Python API."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import promptwork.prompts
from evalkit import isolate_env
from librarykit import measured_library
from promptwork.checks.similarity import EmbeddingModel, EmbeddingUnavailable
from promptwork.library import search
from promptwork.library.lock import move_label
from promptwork.library.search import SEMANTIC_FALLBACK
from promptwork.store import Store
from promptwork.store.library import library_entry


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Store]:
    store = measured_library(tmp_path)
    yield store
    store.close()


def test_words_rank_names_first_and_snippets_mark_the_match(library: Store) -> None:
    rows = search("refund", store=library)
    assert [r.name for r in rows] == ["reply"]  # in its description only
    assert ("refund", True) in rows[0].snippet and rows[0].score > 0
    both = search("support", store=library)  # a tag of two prompts
    assert sorted(r.name for r in both) == ["classify", "reply"]
    prefix = search("classif", store=library)  # words match as prefixes; stems match
    assert [r.name for r in prefix] == ["classify"]
    assert [r.name for r in search("replying", store=library)] == ["reply"]
    assert [r.name for r in search("haiku", store=library)] == ["prompts/haiku.txt"]
    assert search("refund billing", store=library) == []  # every word is required
    assert search("\"); DROP TABLE x; --", store=library) == []  # words only, no syntax


def test_filters_by_tag_label_and_measured_performance(tmp_path: Path, library: Store) -> None:
    assert [r.name for r in search(store=library, tag="triage")] == ["classify"]
    move_label(library, tmp_path, "classify", library_entry(library, "classify").latest_hash,
               "production")
    assert [r.name for r in search("support", store=library, label="production")] == [
        "classify"]
    # reply passed 3 of 4 tests, classify 1 of 4 (librarykit.run_suite)
    good = search(store=library, suite="promptwork.yaml", model="bot", min_score=0.7)
    assert [(r.name, r.measured) for r in good] == [("reply", 0.75)]
    assert "bot" in good[0].measured_on
    both = search(store=library, min_score=0.2)
    assert [(r.name, r.measured) for r in both] == [("classify", 0.25), ("reply", 0.75)]
    assert search(store=library, model="other-model") == []
    assert search(store=library, suite="another-suite.yaml") == []
    tested = search(store=library, model_tested="scripted")  # the provider id works too
    assert [r.name for r in tested] == ["classify", "reply"]  # haiku was never evaluated
    assert [r.name for r in search("support", store=library, min_score=0.5)] == ["reply"]


def test_semantic_search_falls_back_plainly_without_embeddings(
        library: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> EmbeddingModel:
        raise EmbeddingUnavailable("not installed")

    monkeypatch.setattr(EmbeddingModel, "shared", staticmethod(unavailable))
    rows = search("refund", store=library, semantic=True)
    assert rows.note == SEMANTIC_FALLBACK and rows.ranking == "lexical"
    assert "falling back to lexical ranking" in rows.note
    assert [r.name for r in rows] == ["reply"]


class _Embeddings:
    """Similarity = the share of the query's words in the document (a stand-in model)."""

    def similarities(self, text: str, references: Sequence[str]) -> list[float]:
        words = set(text.lower().split())
        return [len(words & set(r.lower().split())) / len(words) for r in references]


def test_semantic_search_ranks_by_embedding_similarity(
        library: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EmbeddingModel, "shared", staticmethod(lambda: _Embeddings()))
    rows = search("sorts tickets refund", store=library, semantic=True, limit=2)
    assert rows.ranking == "semantic" and rows.note == ""
    assert [r.name for r in rows] == ["classify", "reply"]
    assert rows[0].score == pytest.approx(2 / 3) and rows[1].score == pytest.approx(1 / 3)


def test_the_python_api_opens_the_folders_store(tmp_path: Path, library: Store) -> None:
    rows = promptwork.prompts.search("refund", folder=str(tmp_path))
    assert [r.name for r in rows] == ["reply"]
    data = rows[0].to_dict()
    assert data["name"] == "reply" and data["snippet"].count("[refund]") == 1
    assert data["measured"] == 0.75 and data["score"] > 0

"""The library's store functions on SQLite: recording versions (new, moved, unchanged, events),
resolving version prefixes, the labels' mirror and the FTS5 search's ranking and scope."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from promptwork.errors import ConfigError
from promptwork.store import Store, schema
from promptwork.store.library import (
    FileVersion,
    LabelRow,
    label_rows,
    labelled_version,
    mirror_labels,
    record_versions,
    resolve_version,
    version_hashes,
)
from promptwork.store.library_search import text_search


def version(name: str, text: str, path: str | None = None, body: str = "",
            description: str = "") -> FileVersion:
    return FileVersion(name, path or f"{name}.prompt", text,
                       hashlib.sha256(text.encode()).hexdigest(), description or None, (),
                       body or text)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'lib.db'}")


def _events(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.hook_events).where(
            schema.hook_events.c.kind == "prompt.versioned")).scalar_one())


def test_record_versions_reports_what_changed(store: Store) -> None:
    a1 = version("a", "first text")
    assert [r.status for r in record_versions(store, [a1])] == ["new"]
    assert [r.status for r in record_versions(store, [a1])] == ["unchanged"]
    moved = version("a", "first text", path="moved/a.prompt")
    assert [(r.status, r.previous) for r in record_versions(store, [moved])] == [
        ("moved", a1.hash)]
    a2 = version("a", "second text", path="moved/a.prompt")
    back = version("a", "first text", path="moved/a.prompt")
    assert [r.status for r in record_versions(store, [a2])] == ["new"]
    assert [r.status for r in record_versions(store, [back])] == ["moved"]  # known content
    assert version_hashes(store) == {"a": [a1.hash, a2.hash]}
    assert _events(store) == 2
    assert store.prompt_text(a2.hash) == "second text"
    with pytest.raises(ValueError, match="unknown source"):
        record_versions(store, [a1], "cron")


def test_resolve_version_needs_a_unique_known_prefix(store: Store) -> None:
    texts = [f"text {i}" for i in range(40)]
    for t in texts:
        record_versions(store, [version("p", t)])
    hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    assert resolve_version(store, "p", hashes[3][:10]) == hashes[3]
    firsts = [h[:1] for h in hashes]
    shared = next(c for c in firsts if firsts.count(c) > 1)
    with pytest.raises(ConfigError, match="at least 4"):
        resolve_version(store, "p", shared)
    other = hashlib.sha256(b"not recorded").hexdigest()
    with pytest.raises(ConfigError, match="has no version"):
        resolve_version(store, "p", other[:12])


def test_the_labels_mirror_is_exactly_the_lock_file(store: Store) -> None:
    a = version("a", "text of a")
    record_versions(store, [a])
    now = datetime.now(UTC)
    mirror_labels(store, [LabelRow("a", "production", a.hash, "a.prompt", "eve", now),
                          LabelRow("a", "staging", a.hash, "a.prompt", "eve", now)])
    assert [r.label for r in label_rows(store, "a")] == ["production", "staging"]
    mirror_labels(store, [LabelRow("a", "staging", a.hash, "a.prompt", "eve", now)])
    assert [r.label for r in label_rows(store)] == ["staging"]
    assert labelled_version(store, "a", "production") is None
    found = labelled_version(store, "a", "staging")
    assert found is not None and found.text == "text of a"


def test_fts_ranks_a_match_in_the_name_above_one_in_the_text(store: Store) -> None:
    record_versions(store, [
        version("summarize", "Shorten this.", body="Shorten this."),
        version("translate", "t", body="Translate, then summarize the text in a line."),
        version("other", "o", body="Nothing to see."),
    ])
    hits = text_search(store, "summarize")
    assert [h.name for h in hits] == ["summarize", "translate"]
    assert hits[0].score > hits[1].score
    assert "[summarize]" in hits[1].snippet_text
    assert [h.name for h in text_search(store, "summarize", names=["translate"])] == [
        "translate"]
    assert text_search(store, "summarize", names=[]) == []
    assert text_search(store, "  ...  ") == []

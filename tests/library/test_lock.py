"""Labels in prompts.lock.yaml: moved by hash prefix, written sorted, mirrored in the store,
announced by label.moved events, and checked against the files (CI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from evalkit import isolate_env
from librarykit import CLASSIFY, REPLY, make_library, open_store
from promptwork.errors import ConfigError
from promptwork.library.lock import check_labels, move_label, read_lock, remove_label
from promptwork.library.sync import sync_folder
from promptwork.store import Store, schema
from promptwork.store.library import label_rows, labelled_version, library_entry


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.setenv("PROMPTWORK_USER", "alice")


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Store]:
    make_library(tmp_path)
    store = open_store(tmp_path)
    sync_folder(store, tmp_path)
    yield store
    store.close()


def _moves(store: Store) -> list[dict[str, Any]]:
    e = schema.hook_events
    with store.engine.connect() as conn:
        return [r.payload for r in conn.execute(
            select(e).where(e.c.kind == "label.moved").order_by(e.c.id))]


def test_a_label_is_written_sorted_and_mirrored(tmp_path: Path, library: Store) -> None:
    reply = library_entry(library, "reply").latest_hash
    classify = library_entry(library, "classify").latest_hash
    move_label(library, tmp_path, "reply", reply[:6], "staging")
    move_label(library, tmp_path, "classify", classify[:8], "production")
    move_label(library, tmp_path, "reply", reply, "production")
    text = (tmp_path / "prompts.lock.yaml").read_text()
    order = [line.split(": ")[1] for line in text.splitlines() if line.startswith("- name")]
    assert order == ["classify", "reply", "reply"]
    assert text.index("label: production\n  version: " + reply) > text.index("classify")
    assert "who: alice" in text
    assert [(r.name, r.label, r.hash) for r in read_lock(tmp_path)] == [
        ("classify", "production", classify), ("reply", "production", reply),
        ("reply", "staging", reply)]
    assert [(r.name, r.label) for r in label_rows(library)] == [
        ("classify", "production"), ("reply", "production"), ("reply", "staging")]
    served = labelled_version(library, "reply", "production")
    assert served is not None and served.text == REPLY and served.path == "prompts/reply.prompt"
    assert labelled_version(library, "reply", "canary") is None  # never a fallback
    assert [(m["name"], m["label"], m["previous"]) for m in _moves(library)] == [
        ("reply", "staging", None), ("classify", "production", None),
        ("reply", "production", None)]


def test_moving_a_label_records_where_it_was(tmp_path: Path, library: Store) -> None:
    v1 = library_entry(library, "reply").latest_hash
    move_label(library, tmp_path, "reply", v1, "production")
    (tmp_path / "prompts" / "reply.prompt").write_text(REPLY + "Thanks.\n")
    sync_folder(library, tmp_path)
    v2 = library_entry(library, "reply").latest_hash
    moved = move_label(library, tmp_path, "reply", v2[:10], "production")
    assert (moved.previous, moved.row.hash) == (v1, v2)
    assert _moves(library)[-1] == {"name": "reply", "label": "production", "version": v2,
                                   "previous": v1, "path": "prompts/reply.prompt",
                                   "who": "alice"}
    removed = remove_label(library, tmp_path, "reply", "production")
    assert removed.hash == v2 and read_lock(tmp_path) == [] and label_rows(library) == []
    assert _moves(library)[-1]["version"] is None


def test_bad_labels_and_versions_are_refused(tmp_path: Path, library: Store) -> None:
    with pytest.raises(ConfigError, match="not a label name"):
        move_label(library, tmp_path, "reply", "abcd", "pro duction")
    with pytest.raises(ConfigError, match="has no version 'abcd'"):
        move_label(library, tmp_path, "reply", "abcd", "production")
    with pytest.raises(ConfigError, match="no prompt 'nope'"):
        move_label(library, tmp_path, "nope", "abcd", "production")
    with pytest.raises(ConfigError, match="at least 4 hexadecimal"):
        move_label(library, tmp_path, "reply", "xyz", "production")
    assert not (tmp_path / "prompts.lock.yaml").exists()


def test_check_names_each_label_whose_file_changed(tmp_path: Path, library: Store) -> None:
    move_label(library, tmp_path, "reply", library_entry(library, "reply").latest_hash, "prod")
    move_label(library, tmp_path, "classify", library_entry(library, "classify").latest_hash,
               "prod")
    assert check_labels(tmp_path) == []
    (tmp_path / "prompts" / "reply.prompt").write_text(REPLY.replace("politely", "briefly"))
    (tmp_path / "prompts" / "classify.prompt").unlink()
    problems = check_labels(tmp_path)
    assert len(problems) == 2
    assert "classify@prod" in problems[0] and "prompts/classify.prompt is gone" in problems[0]
    assert "reply@prod" in problems[1] and "changed since it was labelled" in problems[1]
    (tmp_path / "prompts" / "reply.prompt").write_text(REPLY)
    (tmp_path / "prompts" / "classify.prompt").write_text(CLASSIFY)
    assert check_labels(tmp_path) == []


def test_a_malformed_lock_file_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "prompts.lock.yaml").write_text(
        "labels:\n- name: reply\n  label: production\n  version: abc\n")
    with pytest.raises(ConfigError, match=r"labels\[0\].version must be a full sha256") as info:
        read_lock(tmp_path)
    assert ":4" in str(info.value)


def test_sync_mirrors_an_edited_lock_file(tmp_path: Path, library: Store) -> None:
    reply = library_entry(library, "reply").latest_hash
    move_label(library, tmp_path, "reply", reply, "production")
    lock = tmp_path / "prompts.lock.yaml"
    lock.write_text(lock.read_text().replace("label: production", "label: live"))
    assert sync_folder(library, tmp_path).labels == 1
    assert [(r.label, r.hash) for r in label_rows(library)] == [("live", reply)]

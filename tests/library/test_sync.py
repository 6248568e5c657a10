"""Recording a library folder: every file's content is a version of its prompt (identity: the
front matter name, else the path); renames and edits keep the history; eval records its files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from evalkit import isolate_env, write_suite
from librarykit import REPLY, make_library, open_store, run_suite
from promptwork.errors import ConfigError
from promptwork.library.history import prompt_history
from promptwork.library.sync import record_suite, suite_files, sync_folder
from promptwork.store import Store, schema
from promptwork.store.library import library_entries, library_entry, version_history
from promptwork.suite import load_suite


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


def _events(store: Store, kind: str) -> list[dict[str, Any]]:
    e = schema.hook_events
    with store.engine.connect() as conn:
        return [r.payload for r in conn.execute(select(e).where(e.c.kind == kind)
                                                .order_by(e.c.id))]


def test_sync_records_each_file_once_by_name_else_path(tmp_path: Path) -> None:
    make_library(tmp_path)
    store = open_store(tmp_path)
    first = sync_folder(store, tmp_path)
    assert sorted((r.name, r.status) for r in first.recorded) == [
        ("classify", "new"), ("prompts/haiku.txt", "new"), ("reply", "new")]
    again = sync_folder(store, tmp_path)
    assert {r.status for r in again.recorded} == {"unchanged"}
    entries = {e.name: e for e in library_entries(store)}
    assert entries["reply"].description == "Answers a customer's refund question politely."
    assert entries["reply"].tags == ("support", "email")
    assert entries["reply"].path == "prompts/reply.prompt"
    assert [p["name"] for p in _events(store, "prompt.versioned")] == [
        "classify", "prompts/haiku.txt", "reply"]  # sorted by path; once each


def test_renaming_and_editing_a_file_keeps_its_history(tmp_path: Path) -> None:
    make_library(tmp_path)
    store = open_store(tmp_path)
    sync_folder(store, tmp_path)
    v1 = library_entry(store, "reply").latest_hash
    (tmp_path / "prompts" / "reply.prompt").rename(tmp_path / "prompts" / "answer.prompt")
    moved = {r.name: r for r in sync_folder(store, tmp_path).recorded}["reply"]
    assert (moved.status, moved.hash) == ("moved", v1)
    (tmp_path / "prompts" / "answer.prompt").write_text(REPLY + "Be brief.\n", encoding="utf-8")
    edited = {r.name: r for r in sync_folder(store, tmp_path).recorded}["reply"]
    assert edited.status == "new" and edited.previous == v1
    history = version_history(store, "reply")
    assert [(h.hash == v1, h.path) for h in history] == [
        (True, "prompts/reply.prompt"), (True, "prompts/answer.prompt"),
        (False, "prompts/answer.prompt")]
    rows = prompt_history(store, "reply")  # newest first, with what changed
    assert [r.change for r in rows] == [
        "+1 -0 lines", "moved from prompts/reply.prompt", "first version"]
    assert [r.number for r in rows] == [2, 1, 1]
    versioned = _events(store, "prompt.versioned")
    assert [(p["name"], p["previous"]) for p in versioned if p["name"] == "reply"] == [
        ("reply", None), ("reply", v1)]  # a move is no new version


def test_an_invalid_file_stops_the_sync_before_anything_is_recorded(tmp_path: Path) -> None:
    make_library(tmp_path)
    (tmp_path / "prompts" / "broken.prompt").write_text("---\nnmae: x\n---\nhi\n")
    store = open_store(tmp_path)
    with pytest.raises(ConfigError, match="unknown front matter key 'nmae'") as info:
        sync_folder(store, tmp_path)
    assert "broken.prompt" in str(info.value) and ":2" in str(info.value)
    assert library_entries(store) == []


def test_two_files_with_one_name_are_refused(tmp_path: Path) -> None:
    make_library(tmp_path)
    (tmp_path / "prompts" / "copy.prompt").write_text(REPLY)
    with pytest.raises(ConfigError, match=re.escape(
            "'reply' is used by prompts/copy.prompt and prompts/reply.prompt")):
        sync_folder(open_store(tmp_path), tmp_path)


def test_an_evaluation_records_the_files_it_uses(tmp_path: Path) -> None:
    suite = make_library(tmp_path)
    run_suite(suite)
    recorded = record_suite(load_suite(suite), None, "eval")
    assert sorted(r.name for r in recorded) == ["classify", "reply"]  # haiku is not in it
    store = open_store(tmp_path)
    assert [h.source for h in version_history(store, "reply")] == ["eval"]
    # the version recorded is the one the run used
    runs = schema.runs
    with store.engine.connect() as conn:
        settings = conn.execute(select(runs.c.settings)).scalar_one()
    assert library_entry(store, "reply").latest_hash in {p["hash"] for p in settings["prompts"]}


def test_prompt_functions_are_not_library_prompts(tmp_path: Path) -> None:
    (tmp_path / "make.py").write_text(
        "def prompt(context):\n    return 'Say ' + context['vars']['w']\n")
    (tmp_path / "say.txt").write_text("Say {{ w }}\n")
    suite = write_suite(tmp_path, {"prompts": ["file://make.py:prompt", "file://say.txt"],
                                   "providers": ["echo"], "tests": [{"vars": {"w": "hi"}}]})
    assert [f.name for f in suite_files(load_suite(suite))] == ["say.txt"]

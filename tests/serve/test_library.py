"""What the API serves: parsed versions by hash, and the lookups remembered only while the
SQLite store is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection

from promptwork.serve.library import NotFound, PromptCache, ReadConnection, message_templates
from promptwork.store.tokens import create_token

from .conftest import GREET, REPLY_V1, library_store, move_label, sha


def test_lookups_are_remembered_until_another_connection_commits(tmp_path: Path) -> None:
    store = library_store(tmp_path)
    reads = ReadConnection(store.engine)
    calls: list[str] = []

    def read(conn: Connection) -> int:
        calls.append("read")
        return len(calls)

    assert reads.lookup(("k",), read) == 1
    assert reads.lookup(("k",), read) == 2  # no request begun: nothing remembered
    reads.begin()
    assert reads.lookup(("k",), read) == 3
    assert reads.lookup(("k",), read) == 3  # remembered
    reads.begin()
    assert reads.lookup(("k",), read) == 3  # nothing changed
    create_token(store.engine, "read")  # a commit by another connection
    assert reads.lookup(("k",), read) == 3  # within the same request: as it began
    reads.begin()
    assert reads.lookup(("k",), read) == 4
    assert reads.lookup(("other",), read) == 5
    reads.close()


def test_a_label_moved_elsewhere_is_served_at_once(tmp_path: Path) -> None:
    store = library_store(tmp_path)
    reads, cache = ReadConnection(store.engine), PromptCache()
    reads.begin()
    assert cache.resolve(store, "reply", "production", reads=reads).version == sha(REPLY_V1)
    move_label(store, "reply", "production", sha(GREET))
    reads.begin()
    assert cache.resolve(store, "reply", "production", reads=reads).version == sha(GREET)
    move_label(store, "greet", "production", sha(GREET))
    reads.begin()
    with pytest.raises(NotFound):
        cache.resolve(store, "reply", "production", reads=reads)
    reads.close()


def test_message_templates() -> None:
    from promptwork.prompts import parse_prompt

    assert message_templates(parse_prompt("Hi {{ x }}\n", "a.txt", ".txt")) == [
        {"role": "user", "content": "Hi {{ x }}"}]
    chat = parse_prompt("---\nname: a\n---\nsystem:\nBe brief.\n\nuser:\n{{ q }}\n", "a")
    assert message_templates(chat) == [{"role": "system", "content": "Be brief."},
                                       {"role": "user", "content": "{{ q }}"}]

"""Fixtures of the serving tests: a library in a SQLite store (two prompts, labels), one token
of each scope, and the API served by uvicorn on 127.0.0.1 on a free port."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from promptwork.serve.app import ServeSettings, create_app
from promptwork.store import Store
from promptwork.store.library import FileVersion, LabelRow, mirror_labels, record_versions
from promptwork.store.tokens import create_token
from web.conftest import LiveServer, free_port

REPLY_V1 = """---
name: reply
description: Answer a customer.
model: echo
params: {temperature: 0.2}
inputs:
  customer: {type: string}
tags: [support]
---
system:
You answer kindly.

user:
{{ customer }} asks: {{ question }}
"""
REPLY_V2 = REPLY_V1.replace("kindly", "briefly")
GREET = "Hello {{ name }}, welcome to the orchard."
EVIL = "{{ name.__class__.__mro__ }}"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def library_store(folder: Path, url: str | None = None) -> Store:
    """A store (SQLite in ``folder``, else ``url``) whose library holds reply (v1, then v2),
    greet and evil; reply's production label points at v1, staging at v2."""
    store = Store(url or f"sqlite:///{folder / 'store.db'}")

    def version(name: str, path: str, text: str) -> FileVersion:
        return FileVersion(name, path, text, sha(text), body=text)

    record_versions(store, [version("reply", "reply.prompt", REPLY_V1),
                            version("greet", "greet.txt", GREET),
                            version("evil", "evil.txt", EVIL)])
    record_versions(store, [version("reply", "reply.prompt", REPLY_V2)])
    move_label(store, "reply", "production", sha(REPLY_V1), staging=sha(REPLY_V2))
    return store


def move_label(store: Store, name: str, label: str, target: str, **others: str) -> None:
    now = datetime.now(UTC)
    rows = [LabelRow(name, label, target, None, "test", now)]
    rows += [LabelRow(name, k, v, None, "test", now) for k, v in others.items()]
    mirror_labels(store, rows)


@dataclass
class Served:
    url: str
    store: Store
    tokens: dict[str, str]
    folder: Path

    def client(self, scope: str | None = "read") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[scope]}"} if scope else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def serve(folder: Path, settings: ServeSettings | None = None,
          url: str | None = None) -> Iterator[Served]:
    store = library_store(folder, url)
    tokens = {scope: create_token(store.engine, scope, f"{scope}-test")[1]
              for scope in ("read", "run", "admin")}
    port = free_port()
    app = create_app(store.url, settings or ServeSettings(rate=None, deliver_every_s=None,
                                                          root=folder))
    with LiveServer(app, "127.0.0.1", port) as server:
        yield Served(server.url, store, tokens, folder)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path)

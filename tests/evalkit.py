"""Helpers shared by the evaluation tests: suite files in a temporary folder, a clean environment.

Import it as a top-level module (``from evalkit import write_suite``): ``conftest.py`` puts the
``tests`` folder on ``sys.path``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

#: Environment variables that could point a test at a real service or leak a real key into it.
NETWORK_ENV = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "OLLAMA_BASE_URL", "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL", "GEMINI_API_KEY", "GOOGLE_API_KEY", "HTTP_PROXY", "HTTPS_PROXY",
    "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID",
)

#: The fake key the tests give the openai provider (the fake server accepts anything).
FAKE_KEY = "sk-test-fakeserver-0123456789abcdef"
#: Where an ``openai:`` model with no ``base_url`` of its own goes in these tests: a closed port
#: on 127.0.0.1. With the fake key set, a model-graded check that names no grader gets
#: promptfoo's default grader (``openai:gpt-5``); this keeps such a call off the network.
NOWHERE_URL = "http://127.0.0.1:9/v1"


def isolate_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real keys, proxies or user config file; a fake OpenAI key."""
    for name in NETWORK_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROMPTWORK_CONFIG", str(tmp_path / "absent-config.toml"))
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", NOWHERE_URL)


def clean_env(**extra: str) -> dict[str, str]:
    """``os.environ`` for a subprocess: no network variables, a fake key, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in NETWORK_ENV}
    env["OPENAI_API_KEY"] = FAKE_KEY
    env["OPENAI_BASE_URL"] = NOWHERE_URL
    env.update(extra)
    return env


def write_suite(folder: Path, suite: Mapping[str, Any], name: str = "promptwork.yaml") -> Path:
    """Write ``suite`` as YAML into ``folder``; return the file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(dict(suite), sort_keys=False), encoding="utf-8")
    return path


def fake_provider(base_url: str, model: str = "fake-model", **config: Any) -> dict[str, Any]:
    """A suite ``providers`` entry for an ``openai:chat:`` model served by the fake server."""
    return {"id": f"openai:chat:{model}",
            "config": {"base_url": base_url, "timeout": 5, "idle_timeout": 5, **config}}


def db_file(folder: Path) -> Path:
    return folder / ".promptwork" / "promptwork.db"


def sqlite_rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read a SQLite store directly (a second connection, as another process would)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()

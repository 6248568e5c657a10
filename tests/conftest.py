"""Shared pytest fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Test helpers (fakeserver.py) import as top-level modules, whatever the import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakeserver import FakeServer


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A fake OpenAI/Anthropic/Gemini HTTP server on 127.0.0.1 (see tests/fakeserver.py)."""
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()

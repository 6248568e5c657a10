"""Shared fixtures for the HTTP provider tests (OpenAI-compatible, Anthropic, Gemini).

A test module sets ``DEFAULT_MODEL`` (the id ``make()`` builds by default) and, when its SDK
wants the fake server's ``/v1`` URL, ``BASE_URL_ATTR = "base_url"`` (default: ``"url"``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from fakeserver import FakeServer, Make
from promptwork.providers.base import Provider
from promptwork.providers.registry import create_provider


@pytest.fixture
async def make(fake_server: FakeServer, request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    """Builds providers pointed at the fake server, and closes them after the test."""
    made: list[Provider] = []
    default_model: str = request.module.DEFAULT_MODEL
    base_url = getattr(fake_server, getattr(request.module, "BASE_URL_ATTR", "url"))

    def factory(model_id: str = default_model, **config: Any) -> Provider:
        config.setdefault("base_url", base_url)
        config.setdefault("timeout", 2)
        config.setdefault("idle_timeout", 2)
        made.append(create_provider(model_id, config))
        return made[-1]

    yield factory
    for provider in made:
        await provider.aclose()

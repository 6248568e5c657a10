"""Shared pytest fixtures."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Test helpers (fakeserver.py) import as top-level modules, whatever the import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakeserver import FakeServer
from promptwork.providers.local_models import cache_dir


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tests neither read nor write the user's promptwork cache (decoding calibrations) and never
    calibrate on their own, so the default decoding layout is the rule's on every machine. The
    user's verified-models stamp is copied so that model files are not re-hashed."""
    cache = tmp_path_factory.mktemp("promptwork-cache")
    stamp = cache_dir() / "verified-models.json"
    if stamp.is_file():
        shutil.copy(stamp, cache / stamp.name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROMPTWORK_CACHE_DIR", str(cache))
        mp.setenv("PROMPTWORK_AUTO_CALIBRATE", "0")
        yield cache


#: Keys whose presence picks a default grading model (promptwork.providers.defaults).
VENDOR_KEYS = (
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "PALM_API_KEY",
    "AZURE_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_DEPLOYMENT_NAME",
    "AZURE_OPENAI_DEPLOYMENT_NAME", "MISTRAL_API_KEY", "GITHUB_TOKEN",
)


@pytest.fixture(autouse=True)
def no_vendor_keys(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
                   ) -> None:
    """Tests never see the developer's API keys, in the environment or the user config file
    (they would change the default grader)."""
    for name in VENDOR_KEYS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROMPTWORK_CONFIG", str(tmp_path_factory.getbasetemp() / "no-keys.toml"))


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A fake OpenAI/Anthropic/Gemini HTTP server on 127.0.0.1 (see tests/fakeserver.py)."""
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()

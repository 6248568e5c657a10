"""Model ids to providers: built-ins load lazily, plugins come from entry points."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from promptwork.errors import ConfigError, ProviderNotFoundError
from promptwork.providers import registry
from promptwork.providers.base import Provider
from promptwork.providers.echo import EchoProvider
from promptwork.providers.registry import BUILTIN, EXAMPLES, create_provider, known_prefixes


def test_unknown_prefix_lists_known_ones_and_suggests() -> None:
    with pytest.raises(ProviderNotFoundError) as info:
        create_provider("opnai:gpt-4o-mini")
    message = str(info.value)
    assert "unknown provider 'opnai'" in message
    assert "(did you mean 'openai'?)" in message
    for prefix in BUILTIN:
        assert prefix in message


def test_unknown_prefix_without_close_match() -> None:
    with pytest.raises(ProviderNotFoundError) as info:
        create_provider("zzzzzz:model")
    assert "did you mean" not in str(info.value)
    assert "known providers: " + ", ".join(known_prefixes()) in str(info.value)


def test_provider_not_found_is_a_config_error() -> None:
    # The CLI turns ConfigError into exit code 2.
    with pytest.raises(ConfigError):
        create_provider("nope")


def test_every_builtin_has_an_example() -> None:
    assert set(EXAMPLES) == set(BUILTIN)
    assert set(BUILTIN) <= set(known_prefixes())


def test_id_is_stripped_and_split() -> None:
    provider = create_provider("  echo  ", label="mirror")
    assert isinstance(provider, EchoProvider)
    assert provider.id == "echo"
    assert provider.label == "mirror"


def test_config_is_copied() -> None:
    config = {"responses": ["a"]}
    create_provider("scripted", config)
    assert config == {"responses": ["a"]}


# Runs in a fresh interpreter: which modules does each step import?
_LAZY_PROBE = """
import json, sys
import promptwork
from promptwork.providers import registry
heavy = ("llama_cpp", "openai", "anthropic", "google.genai", "httpx",
         *(registry.BUILTIN[p].partition(":")[0] for p in registry.BUILTIN
           if p not in ("echo", "scripted")))
before = sorted(m for m in heavy if m in sys.modules)
loaded = {}
for prefix, ref in registry.BUILTIN.items():
    factory = registry._load_factory(prefix)
    loaded[prefix] = [callable(factory), ref.partition(":")[0] in sys.modules]
print(json.dumps({"before": before, "loaded": loaded}))
"""


def test_builtin_prefixes_resolve_lazily() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _LAZY_PROBE], capture_output=True, text=True, timeout=120,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    # Importing promptwork pulls in no vendor SDK, no HTTP client and no llama.cpp.
    assert report["before"] == []
    assert report["loaded"] == {prefix: [True, True] for prefix in BUILTIN}


class _FakeEntryPoint:
    def __init__(self, name: str, factory: Any):
        self.name = name
        self.factory = factory
        self.loads = 0

    def load(self) -> Any:
        self.loads += 1
        return self.factory


class _PluginProvider(Provider):
    async def complete(self, prompt: Any, params: Any) -> Any:  # pragma: no cover - not called
        raise NotImplementedError


def test_entry_point_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Any, ...]] = []

    def factory(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
        seen.append((model_id, rest, config, label))
        return _PluginProvider(model_id, label)

    plugin = _FakeEntryPoint("acme", factory)
    monkeypatch.setattr(registry, "_plugins", lambda: {"acme": plugin})

    assert "acme" in known_prefixes()
    assert plugin.loads == 0  # listing plugins does not import them
    provider = create_provider("acme:big:model", {"base_url": "http://x"}, label="Acme")
    assert isinstance(provider, _PluginProvider)
    assert (provider.id, provider.label) == ("acme:big:model", "Acme")
    assert seen == [("acme:big:model", "big:model", {"base_url": "http://x"}, "Acme")]
    assert plugin.loads == 1


def test_plugin_prefix_is_suggested(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = _FakeEntryPoint("acmecloud", lambda *a: None)
    monkeypatch.setattr(registry, "_plugins", lambda: {"acmecloud": plugin})
    with pytest.raises(ProviderNotFoundError) as info:
        create_provider("acmeclod:m")
    assert "(did you mean 'acmecloud'?)" in str(info.value)
    assert "acmecloud" in str(info.value).split("known providers:")[1]
    assert plugin.loads == 0


def test_missing_sdk_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    from promptwork.errors import MissingDependencyError

    with pytest.raises(MissingDependencyError, match=r"pip install 'promptwork\[extra\]'"):
        registry.require("promptwork_no_such_module", "extra")

"""Model ids (``provider:model``) to provider instances.

Built-in providers are registered exactly like plugins: by a lazy ``module:function`` reference,
so a missing vendor SDK only matters when that provider is used. Third-party packages add
providers through the ``promptwork.providers`` entry-point group, whose name is the id prefix and
whose object is a factory ``(model_id, rest, config, label) -> Provider``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from promptwork.errors import MissingDependencyError, ProviderNotFoundError
from promptwork.genkeys import split_config
from promptwork.providers.base import Provider
from promptwork.yamlfile import did_you_mean

Factory = Callable[[str, str, dict[str, Any], "str | None"], Provider]

BUILTIN: dict[str, str] = {
    "echo": "promptwork.providers.echo:create",
    "scripted": "promptwork.providers.scripted:create",
    "local": "promptwork.providers.local:create",
    "openai": "promptwork.providers.openai_compat:create_openai",
    "ollama": "promptwork.providers.openai_compat:create_ollama",
    "vllm": "promptwork.providers.openai_compat:create_vllm",
    "llamacpp": "promptwork.providers.openai_compat:create_llamacpp",
    "anthropic": "promptwork.providers.anthropic:create",
    "google": "promptwork.providers.google:create",
    "azure": "promptwork.providers.azure:create",
    "bedrock": "promptwork.providers.bedrock:create",
    "vertex": "promptwork.providers.vertex:create",
    "file": "promptwork.providers.python_file:create",
    # OpenAI-compatible vendors (one table: promptwork.providers.openai_vendors.ENDPOINTS)
    **{prefix: "promptwork.providers.openai_vendors:create" for prefix in (
        "mistral", "groq", "togetherai", "together", "deepseek", "perplexity", "xai",
        "openrouter", "fireworks", "hyperbolic", "cerebras", "github", "lambdalabs", "moonshot",
        "nvidia", "alibaba", "aimlapi",
    )},
}

EXAMPLES: dict[str, str] = {
    "echo": "echo",
    "scripted": "scripted (tests: answers from config)",
    "local": "local:gemma3-270m, local:smollm2, local:/path/to/model.gguf",
    "openai": "openai:gpt-4o-mini, openai:chat:MODEL, openai:completion:MODEL (+ base_url)",
    "ollama": "ollama:chat:llama3.2, ollama:completion:MODEL",
    "vllm": "vllm:MODEL (OpenAI-compatible, base_url http://127.0.0.1:8000/v1)",
    "llamacpp": "llamacpp:MODEL (llama.cpp server, base_url http://127.0.0.1:8080/v1)",
    "anthropic": "anthropic:messages:claude-sonnet-4-5",
    "google": "google:gemini-2.5-flash",
    "azure": "azure:chat:DEPLOYMENT, azure:completion:, azure:responses: (+ apiHost)",
    "bedrock": "bedrock:anthropic.claude-3-5-haiku-20241022-v1:0 (boto3 Converse API)",
    "vertex": "vertex:gemini-2.5-flash (+ projectId, region)",
    "file": "file://provider.py, file://provider.py:function_name (call_api)",
    "mistral": "mistral:mistral-large-latest",
    "groq": "groq:llama-3.3-70b-versatile",
    "togetherai": "togetherai:meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "together": "together:MODEL (same as togetherai:)",
    "deepseek": "deepseek:deepseek-chat",
    "perplexity": "perplexity:sonar",
    "xai": "xai:grok-4",
    "openrouter": "openrouter:openai/gpt-4o-mini",
    "fireworks": "fireworks:accounts/fireworks/models/llama-v3p1-8b-instruct",
    "hyperbolic": "hyperbolic:meta-llama/Llama-3.3-70B-Instruct",
    "cerebras": "cerebras:llama3.1-8b",
    "github": "github:openai/gpt-4.1 (GitHub Models, GITHUB_TOKEN)",
    "lambdalabs": "lambdalabs:MODEL",
    "moonshot": "moonshot:kimi-k2-0711-preview",
    "nvidia": "nvidia:meta/llama-3.1-8b-instruct",
    "alibaba": "alibaba:qwen-plus",
    "aimlapi": "aimlapi:MODEL",
}


def _plugins() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group="promptwork.providers")}


def known_prefixes() -> list[str]:
    return sorted(set(BUILTIN) | set(_plugins()))


def _load_factory(prefix: str) -> Factory:
    if prefix in BUILTIN:
        module_name, _, attr = BUILTIN[prefix].partition(":")
        module = importlib.import_module(module_name)
        factory: Factory = getattr(module, attr)
        return factory
    plugin = _plugins().get(prefix)
    if plugin is None:
        raise ProviderNotFoundError(
            f"unknown provider {prefix!r}{did_you_mean(prefix, known_prefixes())}; "
            f"known providers: {', '.join(known_prefixes())}"
        )
    loaded: Factory = plugin.load()
    return loaded


def create_provider(
    model_id: str, config: dict[str, Any] | None = None, label: str | None = None
) -> Provider:
    """Build the provider for ``model_id``.

    Args:
        model_id: ``provider:model`` (``local:gemma3-270m``, ``openai:gpt-4o-mini``, ``echo``).
        config: Provider options (``base_url``, ``api_key_env``, ``n_threads``...) and
            generation parameters in promptfoo's spellings (kept as ``config_params``).
        label: Display name.

    Raises:
        ProviderNotFoundError: Unknown prefix (lists the known ones).
        MissingDependencyError: The vendor SDK is missing (says what to pip install).
        ParamError: A generation parameter is bad or not supported by this model.
    """
    model_id = model_id.strip()
    prefix, _, rest = model_id.partition(":")
    factory = _load_factory(prefix)
    # promptfoo's generation keys (temperature, max_tokens, topP...) sit next to the options.
    options, params = split_config(config or {}, model_id)
    provider = factory(model_id, rest, options, label)
    if params.given():
        provider.check_params(params)
        provider.config_params = params
    return provider


def require(module: str, extra: str) -> Any:
    """Import an optional SDK or explain how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"this provider needs the {module!r} package: pip install 'promptwork[{extra}]'"
        ) from None

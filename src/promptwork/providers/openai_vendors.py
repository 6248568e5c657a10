"""Hosted vendors that speak OpenAI's API, by their promptfoo names.

Each vendor is one row of :data:`VENDORS`: the id prefix, the endpoint and the environment
variables holding its key (and, for some, its endpoint). They are presets of the
OpenAI-compatible provider (:mod:`promptwork.providers.openai_compat`), so retries, error
classification, usage, streaming and cost work alike; ``base_url`` (or promptfoo's
``apiBaseUrl``) and ``api_key_env`` in the provider config override the preset. Ids take the
same forms as ``openai:``: ``groq:MODEL``, ``groq:chat:MODEL``, ``groq:completion:MODEL``.
"""

from __future__ import annotations

from typing import Any

from promptwork.errors import ConfigError
from promptwork.providers.base import Provider
from promptwork.providers.openai_compat import Flavor, create_flavored
from promptwork.secrets import KEY_VARS

#: prefix -> (default base URL, environment variable overriding it); the key variables are
#: :data:`promptwork.secrets.KEY_VARS` (so that the keys are also scrubbed from messages).
ENDPOINTS: dict[str, tuple[str, str | None]] = {
    "mistral": ("https://api.mistral.ai/v1", "MISTRAL_API_BASE_URL"),
    "groq": ("https://api.groq.com/openai/v1", None),
    "togetherai": ("https://api.together.xyz/v1", None),
    "together": ("https://api.together.xyz/v1", None),  # promptfoo says togetherai
    "deepseek": ("https://api.deepseek.com/v1", None),
    "perplexity": ("https://api.perplexity.ai", None),
    "xai": ("https://api.x.ai/v1", None),
    "openrouter": ("https://openrouter.ai/api/v1", None),
    "fireworks": ("https://api.fireworks.ai/inference/v1", None),
    "hyperbolic": ("https://api.hyperbolic.xyz/v1", None),
    "cerebras": ("https://api.cerebras.ai/v1", None),
    "github": ("https://models.github.ai/inference", None),
    "lambdalabs": ("https://api.lambda.ai/v1", None),
    "moonshot": ("https://api.moonshot.ai/v1", None),
    "nvidia": ("https://integrate.api.nvidia.com/v1", None),
    "alibaba": ("https://dashscope-intl.aliyuncs.com/compatible-mode/v1", None),
    "aimlapi": ("https://api.aimlapi.com/v1", None),
}

#: Vendor presets by id prefix.
VENDORS: dict[str, Flavor] = {
    prefix: Flavor(prefix, url, url_env, KEY_VARS[prefix], local=False)
    for prefix, (url, url_env) in ENDPOINTS.items()
}


def create(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    """Factory for every vendor of :data:`VENDORS` (the prefix of ``model_id`` picks the row)."""
    prefix = model_id.strip().partition(":")[0]
    flavor = VENDORS.get(prefix)
    if flavor is None:  # pragma: no cover - the registry only routes known prefixes here
        raise ConfigError(f"{model_id}: no OpenAI-compatible vendor named {prefix!r}")
    return create_flavored(flavor, model_id, rest, config, label)

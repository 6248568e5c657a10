"""OpenAI's moderation endpoint as a provider: ``openai:moderation`` / ``openai:moderation:MODEL``.

The ``moderation`` check (:mod:`promptwork.checks.moderation`) sends the output to it through the
grader, so a moderation call goes through :class:`promptwork.calls.ModelCaller` like every other
model call: answered from the call cache when the same text was moderated before with the same
model and endpoint, retried on rate limits, server errors, timeouts and dropped connections.

The "answer" is the endpoint's first result as JSON text (``{"flagged": ..., "categories":
{...}, ...}``). The text moderated is the prompt's one message. Config: ``base_url`` (or
promptfoo's ``apiBaseUrl``; else ``OPENAI_BASE_URL``, else ``https://api.openai.com/v1``),
``api_key_env`` (or ``apiKeyEnvar``, default ``OPENAI_API_KEY``): the key is looked up when the
call is made (environment or promptwork's key file), never stored or put in the cache key.
Generation parameters are accepted and ignored (moderation has none).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import httpx

from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.base import Provider, Stopwatch
from promptwork.secrets import Secrets, redact
from promptwork.types import PARAM_NAMES, Capabilities, Completion, Params, RenderedPrompt

__all__ = ["DEFAULT_BASE", "DEFAULT_MODEL", "ModerationProvider", "create", "is_moderation"]

DEFAULT_MODEL = "omni-moderation-latest"
DEFAULT_BASE = "https://api.openai.com/v1"
TIMEOUT_S = 30.0
PREFIX = "openai:moderation"
CONFIG_KEYS = ("base_url", "apiBaseUrl", "api_key_env", "apiKeyEnvar")


def is_moderation(rest: str) -> bool:
    """Whether ``openai:REST`` names the moderation endpoint."""
    return rest == "moderation" or rest.startswith("moderation:")


def _kind(status: int) -> str:
    if status == 429:
        return "rate_limit"
    if status in (401, 403):
        return "auth"
    if status >= 500:
        return "server"
    return "bad_request"


class ModerationProvider(Provider):
    """POSTs the prompt's text to ``{base}/moderations``; the answer is the result as JSON."""

    capabilities = Capabilities(chat=True, completion=True)
    supported_params = frozenset(PARAM_NAMES)  # accepted, ignored: moderation has none

    def __init__(self, model_id: str, label: str | None, model: str, config: Mapping[str, Any]):
        super().__init__(model_id, label)
        self.model = model
        configured = config.get("base_url") or config.get("apiBaseUrl")
        self.base = str(configured or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE)
        self.base = self.base.rstrip("/")
        self.key_var = str(config.get("api_key_env") or config.get("apiKeyEnvar")
                           or "OPENAI_API_KEY")

    def cache_identity(self) -> dict[str, Any]:
        return {"provider": PREFIX, "model": self.model, "base_url": self.base}

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        text = "\n\n".join(m.content for m in prompt.messages)
        watch = Stopwatch()
        result = await self._moderate(text)
        return Completion(text=json.dumps(result, ensure_ascii=False, sort_keys=True),
                          provider=self.id, latency_ms=watch.ms(), finish_reason="stop")

    async def _moderate(self, text: str) -> Mapping[str, Any]:
        secrets = Secrets()
        key = secrets.get(self.key_var)
        if not key:  # no verdict: a grader error, never a failed check
            raise ProviderError(
                f"'moderation' calls OpenAI's moderation endpoint and needs {self.key_var} "
                "(in the environment or promptwork's key file); set it and resume the run",
                kind="auth")
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
                response = await client.post(
                    f"{self.base}/moderations", json={"model": self.model, "input": text},
                    headers={"Authorization": f"Bearer {key}"})
        except httpx.TimeoutException:
            raise ProviderError("moderation call timed out", kind="timeout") from None
        except httpx.HTTPError as exc:
            raise ProviderError(redact(f"moderation call failed: {exc}", secrets),
                                kind="connection") from None
        if response.status_code != 200:
            retry_after = response.headers.get("retry-after")
            raise ProviderError(
                redact(f"moderation call failed: {response.text[:300]}", secrets),
                kind=_kind(response.status_code), status=response.status_code,
                retry_after=float(retry_after) if _number(retry_after) else None)
        try:
            result = response.json()["results"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            result = None
        if not isinstance(result, Mapping):
            raise ProviderError("moderation response has no results", kind="invalid_response",
                                status=200)
        return result


def _number(text: str | None) -> bool:
    try:
        return text is not None and float(text) >= 0
    except ValueError:
        return False


def create(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    """Factory for ``openai:moderation[:MODEL]`` (called by the ``openai`` factory)."""
    unknown = sorted(str(k) for k in config if k not in CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"{model_id}: unknown config key {unknown[0]!r}; the moderation "
                          f"endpoint takes {', '.join(CONFIG_KEYS)}")
    model = rest.partition(":")[2] or DEFAULT_MODEL
    return ModerationProvider(model_id, label, model, config)

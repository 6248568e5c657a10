"""Anthropic's Messages API (``anthropic:messages:MODEL``) through the ``anthropic`` SDK.

System turns go to the ``system`` field; ``max_tokens`` is required by the API and defaults to
1024. The SDK never retries (``max_retries=0``): retries belong to the runner. Stop reasons are
reported in OpenAI's words (``end_turn`` -> ``stop``, ``max_tokens`` -> ``length``) so that checks
can compare providers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from promptwork.errors import ConfigError
from promptwork.providers.base import Provider, Stopwatch
from promptwork.providers.httpbase import (
    COMMON_CONFIG_KEYS,
    HttpProvider,
    as_int,
    check_config_keys,
    read_api_key,
    read_settings,
    tls_context,
)
from promptwork.providers.httperrors import invalid, status_error
from promptwork.providers.imageparts import anthropic_content
from promptwork.providers.registry import require
from promptwork.secrets import KEY_VARS, Secrets
from promptwork.types import Capabilities, Completion, Params, RenderedPrompt, Usage

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 1024

_STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


def finish_reason(stop_reason: object) -> str | None:
    """OpenAI-style finish reason for an Anthropic ``stop_reason``."""
    if stop_reason is None:
        return None
    return _STOP_REASONS.get(str(stop_reason), str(stop_reason))


class AnthropicProvider(HttpProvider):
    """Claude models through the Messages API.

    Args:
        id: Full model id.
        label: Display name.
        **kwargs: Model, settings, key and secrets, as for :class:`HttpProvider`.
    """

    capabilities = Capabilities(chat=True, completion=False, streaming=True, images=True)
    supported_params = frozenset({"temperature", "top_p", "top_k", "max_tokens", "stop"})

    def __init__(self, id: str, label: str | None, **kwargs: Any):
        super().__init__(id, label, sdk=require("anthropic", "anthropic"), **kwargs)

    def _new_client(self) -> Any:
        return self._sdk.AsyncAnthropic(
            api_key=self._api_key,
            base_url=self.settings.base_url,
            max_retries=0,
            timeout=self.settings.timeout,
            default_headers=dict(self.settings.headers) or None,
            http_client=self._sdk.DefaultAsyncHttpxClient(verify=tls_context()),
        )

    def _request(self, prompt: RenderedPrompt, params: Params) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in prompt.messages if m.role == "system")
        messages = [{"role": m.role, "content": anthropic_content(m)}
                    for m in prompt.messages if m.role != "system"]
        if not messages:
            raise ConfigError(f"{self.id}: the prompt has only system text; add a user turn")
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": params.max_tokens or DEFAULT_MAX_TOKENS,
        }
        if system:
            request["system"] = system
        if params.temperature is not None:
            request["temperature"] = params.temperature
        if params.top_p is not None:
            request["top_p"] = params.top_p
        if params.top_k is not None:
            request["top_k"] = params.top_k
        if params.stop:
            request["stop_sequences"] = list(params.stop)
        return request

    def _completion(
        self, text: str, usage: Usage, latency_ms: float, stop: object, raw: dict[str, Any]
    ) -> Completion:
        return Completion(
            text=text,
            provider=self.id,
            usage=usage,
            latency_ms=latency_ms,
            cost=self._cost(usage),
            finish_reason=finish_reason(stop),
            raw=raw,
        )

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        self.check_params(params)
        request = self._request(prompt, params)
        endpoint = self._sdk_client().messages.with_raw_response
        data, latency = await self._fetch_json(endpoint, request)
        if data.get("type") == "error":
            raise status_error(self._scrub, self.id, None, data)
        content = data.get("content")
        if not isinstance(content, list):
            raise invalid(self._scrub, self.id, "response has no content", data)
        text = "".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
        tokens: dict[str, int | None] = {"input_tokens": None, "output_tokens": None}
        self._count(tokens, data.get("usage"))
        usage = Usage(tokens["input_tokens"], tokens["output_tokens"])
        return self._completion(text, usage, latency, data.get("stop_reason"), data)

    async def _events(
        self, prompt: RenderedPrompt, params: Params
    ) -> AsyncIterator[str | Completion]:
        self.check_params(params)
        request = {**self._request(prompt, params), "stream": True}
        endpoint = self._sdk_client().messages
        watch = Stopwatch()
        stream = await self._attempt(lambda: endpoint.create(**request))
        pieces: list[str] = []
        meta: dict[str, Any] = {}
        tokens: dict[str, int | None] = {"input_tokens": None, "output_tokens": None}
        stop: object = None
        finished = False
        async for data in self._chunks(stream):
            kind = data.get("type")
            if kind == "message_start" and isinstance(data.get("message"), dict):
                message = data["message"]
                meta = {k: message.get(k) for k in ("id", "model")}
                self._count(tokens, message.get("usage"))
            elif kind == "content_block_delta" and isinstance(data.get("delta"), dict):
                piece = data["delta"].get("text")
                if isinstance(piece, str) and piece:
                    pieces.append(piece)
                    yield piece
            elif kind == "message_delta":
                delta = data.get("delta")
                if isinstance(delta, dict) and delta.get("stop_reason") is not None:
                    stop = delta["stop_reason"]
                self._count(tokens, data.get("usage"))
            elif kind == "message_stop":
                finished = True
        if not finished:
            raise invalid(self._scrub, self.id, "stream ended before the model finished")
        usage = Usage(tokens["input_tokens"], tokens["output_tokens"])
        raw = {**meta, "streamed": True, "stop_reason": stop,
               "usage": {"input_tokens": usage.prompt_tokens,
                         "output_tokens": usage.completion_tokens}}
        yield self._completion("".join(pieces), usage, watch.ms(), stop, raw)

    @staticmethod
    def _count(tokens: dict[str, int | None], usage: object) -> None:
        if isinstance(usage, dict):
            for key in tokens:
                value = as_int(usage.get(key))
                if value is not None:
                    tokens[key] = value


def create(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    """Factory for ``anthropic:messages:MODEL`` (``anthropic:MODEL`` works too)."""
    head, sep, tail = rest.partition(":")
    if sep and head == "completion":
        raise ConfigError(
            f"{model_id}: Anthropic's legacy completions API is not supported; "
            "use anthropic:messages:MODEL"
        )
    model = (tail if sep and head == "messages" else rest).strip()
    if not model:
        raise ConfigError(f"model id {model_id} names no model; e.g. anthropic:messages:MODEL")
    check_config_keys(config, COMMON_CONFIG_KEYS, model_id)
    require("anthropic", "anthropic")
    settings = read_settings(
        config, model_id, default_base_url=DEFAULT_BASE_URL, base_url_env="ANTHROPIC_BASE_URL"
    )
    secrets = Secrets()
    api_key = read_api_key(secrets, config, model_id, KEY_VARS["anthropic"])
    return AnthropicProvider(
        model_id, label, model=model, settings=settings, api_key=api_key, secrets=secrets
    )

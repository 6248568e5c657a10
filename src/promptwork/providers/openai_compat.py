"""OpenAI and OpenAI-compatible servers (Ollama, vLLM, llama.cpp server) via the ``openai`` SDK.

Ids (promptfoo spellings): ``openai:MODEL`` and ``openai:chat:MODEL`` use chat completions,
``openai:completion:MODEL`` the legacy text completions endpoint (the prompt is sent as text);
``ollama:``, ``vllm:`` and ``llamacpp:`` take the same forms and default to their local servers.

The SDK never retries (``max_retries=0``): retries belong to the runner. Non-streaming bodies are
read raw and parsed here, so that a truncated or HTML body is reported as ``invalid_response``
instead of surfacing as an SDK quirk.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

from promptwork.errors import ConfigError
from promptwork.providers.base import COMMON_PARAMS, Provider, Stopwatch
from promptwork.providers.httpbase import (
    COMMON_CONFIG_KEYS,
    HttpProvider,
    HttpSettings,
    as_int,
    check_config_keys,
    read_api_key,
    read_settings,
    tls_context,
)
from promptwork.providers.httperrors import invalid
from promptwork.providers.registry import require
from promptwork.secrets import Secrets
from promptwork.types import (
    Capabilities,
    Completion,
    Params,
    RenderedPrompt,
    TokenLogprob,
    Usage,
)


@dataclass(frozen=True, slots=True)
class Flavor:
    """How one id prefix finds its server and key."""

    prefix: str
    default_base_url: str
    base_url_env: str | None
    key_vars: tuple[str, ...]
    local: bool  # a local server: no key needed, and calls cost nothing unless a price is set


FLAVORS: dict[str, Flavor] = {
    "openai": Flavor("openai", "https://api.openai.com/v1", "OPENAI_BASE_URL",
                     ("OPENAI_API_KEY",), local=False),
    "ollama": Flavor("ollama", "http://127.0.0.1:11434/v1", "OLLAMA_BASE_URL", (), local=True),
    "vllm": Flavor("vllm", "http://127.0.0.1:8000/v1", None, (), local=True),
    "llamacpp": Flavor("llamacpp", "http://127.0.0.1:8080/v1", None, (), local=True),
}

_MODES = ("chat", "completion", "responses")
_UNSUPPORTED_MODES = frozenset(
    {"embedding", "embeddings", "assistant", "realtime", "image", "transcription",
     "moderation", "chatkit", "agents", "codex"}
)
# Reasoning models reject max_tokens and want max_completion_tokens.
_REASONING = re.compile(r"^(o\d|gpt-5)")


def _logprobs_of(items: object) -> list[TokenLogprob]:
    """Chat-style ``[{token, logprob}, ...]`` entries."""
    if not isinstance(items, list):
        return []
    return [
        TokenLogprob(str(item.get("token", "")), float(item["logprob"]),
                     tuple(_logprobs_of(item.get("top_logprobs"))))
        for item in items
        if isinstance(item, dict) and isinstance(item.get("logprob"), int | float)
    ]


class _StreamState:
    """Accumulates streamed chunks of choice 0."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.logprobs: list[TokenLogprob] = []
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.meta: dict[str, Any] = {}


class OpenAIProvider(HttpProvider):
    """Chat completions (``/v1/chat/completions``) on OpenAI or a compatible server.

    Args:
        id: Full model id.
        label: Display name.
        flavor: Which kind of server (defaults, pricing).
        stream_usage: Ask for token usage in streams (``stream_options.include_usage``).
        **kwargs: Model, settings, key and secrets, as for :class:`HttpProvider`.
    """

    capabilities = Capabilities(
        chat=True, completion=False, streaming=True, json_schema=True, logprobs=True, images=True
    )
    supported_params = COMMON_PARAMS | {
        "frequency_penalty", "presence_penalty", "response_schema", "logprobs", "top_logprobs",
        "json_object", "tools", "tool_choice", "reasoning_effort",
    }
    mode = "chat"
    #: Config keys of this endpoint besides the connection keys (read by :meth:`configure`).
    config_keys: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self, id: str, label: str | None, *, flavor: Flavor, stream_usage: bool = True,
        **kwargs: Any,
    ):
        super().__init__(id, label, sdk=require("openai", "openai"), **kwargs)
        self.flavor = flavor
        self.free = flavor.local
        if flavor.local:  # llama.cpp, vLLM and Ollama servers also take top_k
            self.supported_params = type(self).supported_params | {"top_k"}  # type: ignore[misc]
        self.stream_usage = stream_usage

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "endpoint": self.mode}

    def configure(self, config: dict[str, Any], where: str) -> None:
        """Read the endpoint's own config keys (:attr:`config_keys`); none by default."""

    def _new_client(self) -> Any:
        return self._sdk.AsyncOpenAI(
            api_key=self._api_key,
            base_url=self.settings.base_url,
            max_retries=0,
            timeout=self.settings.timeout,
            default_headers=dict(self.settings.headers) or None,
            http_client=self._sdk.DefaultAsyncHttpxClient(verify=tls_context()),
        )

    def _endpoint(self, client: Any) -> Any:
        return client.chat.completions

    # -- requests ---------------------------------------------------------------------------

    def _sampling(self, params: Params) -> dict[str, Any]:
        given = params.given()
        request: dict[str, Any] = {
            key: given[key]
            for key in ("temperature", "top_p", "seed", "frequency_penalty", "presence_penalty")
            if key in given
        }
        if params.stop:
            request["stop"] = list(params.stop)
        return request

    def _request(self, prompt: RenderedPrompt, params: Params) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "messages": prompt.to_list()}
        request.update(self._sampling(params))
        if params.max_tokens is not None:
            reasoning = self.flavor.prefix == "openai" and _REASONING.match(self.model)
            request["max_completion_tokens" if reasoning else "max_tokens"] = params.max_tokens
        if params.response_schema is not None:
            request["response_format"] = json_schema_format(params.response_schema)
        elif params.json_object:
            request["response_format"] = {"type": "json_object"}
        if params.logprobs:
            request["logprobs"] = True
            if params.top_logprobs:
                request["top_logprobs"] = params.top_logprobs
        given = params.given()
        # Sent as the API takes them (promptfoo passes them through the same way).
        request.update({k: given[k] for k in ("tools", "tool_choice", "reasoning_effort")
                        if k in given})
        if params.top_k is not None:  # local servers' extension (the SDK has no argument)
            request["extra_body"] = {"top_k": params.top_k}
        return request

    def _choice_text(self, choice: dict[str, Any], streaming: bool) -> str | None:
        """The text of a choice (``None`` when the choice has no text field at all)."""
        message = choice.get("delta" if streaming else "message")
        if not isinstance(message, dict):
            return "" if streaming else None
        content = message.get("content")
        if not streaming and not content and message.get("tool_calls"):
            # A tool call is the answer: its JSON, as promptfoo shows it.
            return json.dumps(message["tool_calls"])
        return content if isinstance(content, str) else ""

    def _choice_logprobs(self, choice: dict[str, Any]) -> list[TokenLogprob]:
        logprobs = choice.get("logprobs")
        return _logprobs_of(logprobs.get("content")) if isinstance(logprobs, dict) else []

    # -- results ----------------------------------------------------------------------------

    def _completion(
        self,
        text: str,
        usage_data: object,
        latency_ms: float,
        finish_reason: object,
        logprobs: list[TokenLogprob] | None,
        raw: dict[str, Any],
    ) -> Completion:
        usage_map = usage_data if isinstance(usage_data, dict) else {}
        usage = Usage(
            as_int(usage_map.get("prompt_tokens")), as_int(usage_map.get("completion_tokens"))
        )
        return Completion(
            text=text,
            provider=self.id,
            usage=usage,
            latency_ms=latency_ms,
            cost=self._cost(usage),
            finish_reason=str(finish_reason) if finish_reason is not None else None,
            logprobs=tuple(logprobs) if logprobs is not None else None,
            raw=raw,
        )

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        self.check_params(params)
        request = self._request(prompt, params)
        endpoint = self._endpoint(self._sdk_client()).with_raw_response
        data, latency = await self._fetch_json(endpoint, request)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise invalid(self._scrub, self.id, "response has no choices", data)
        text = self._choice_text(choices[0], streaming=False)
        if text is None:
            raise invalid(self._scrub, self.id, "response choice has no text", choices[0])
        logprobs = self._choice_logprobs(choices[0]) if params.logprobs else None
        return self._completion(
            text, data.get("usage"), latency, choices[0].get("finish_reason"), logprobs, data
        )

    # -- streaming --------------------------------------------------------------------------

    def _absorb(self, state: _StreamState, chunk: dict[str, Any]) -> str:
        """Fold one chunk into ``state``; return its new text."""
        if isinstance(chunk.get("usage"), dict):
            state.usage = chunk["usage"]
        for key in ("id", "model"):
            if chunk.get(key) is not None:
                state.meta[key] = chunk[key]
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            return ""
        for choice in choices:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                if choice.get("finish_reason") is not None:
                    state.finish_reason = str(choice["finish_reason"])
                state.logprobs += self._choice_logprobs(choice)
                return self._choice_text(choice, streaming=True) or ""
        return ""

    async def _events(
        self, prompt: RenderedPrompt, params: Params
    ) -> AsyncIterator[str | Completion]:
        self.check_params(params)
        request = {**self._request(prompt, params), "stream": True}
        if self.stream_usage:
            request["stream_options"] = {"include_usage": True}
        endpoint = self._endpoint(self._sdk_client())
        watch = Stopwatch()
        stream = await self._attempt(lambda: endpoint.create(**request))
        state = _StreamState()
        async for data in self._chunks(stream):
            piece = self._absorb(state, data)
            if piece:
                state.pieces.append(piece)
                yield piece
        if state.finish_reason is None:
            raise invalid(self._scrub, self.id, "stream ended before the model finished")
        raw = {**state.meta, "streamed": True, "finish_reason": state.finish_reason,
               "usage": state.usage or None}
        yield self._completion(
            "".join(state.pieces), state.usage, watch.ms(), state.finish_reason,
            state.logprobs if params.logprobs else None, raw,
        )


class OpenAICompletionProvider(OpenAIProvider):
    """Legacy text completions (``/v1/completions``): the prompt is sent as one text."""

    capabilities = Capabilities(
        chat=False, completion=True, streaming=True, json_schema=False, logprobs=True
    )
    supported_params = COMMON_PARAMS | {"frequency_penalty", "presence_penalty", "logprobs"}
    mode = "completion"

    def _endpoint(self, client: Any) -> Any:
        return client.completions

    def _request(self, prompt: RenderedPrompt, params: Params) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "prompt": prompt.as_text()}
        request.update(self._sampling(params))
        if params.max_tokens is not None:
            request["max_tokens"] = params.max_tokens
        if params.logprobs:
            request["logprobs"] = 1
        if params.top_k is not None:
            request["extra_body"] = {"top_k": params.top_k}
        return request

    def _choice_text(self, choice: dict[str, Any], streaming: bool) -> str | None:
        text = choice.get("text")
        return text if isinstance(text, str) else ("" if streaming else None)

    def _choice_logprobs(self, choice: dict[str, Any]) -> list[TokenLogprob]:
        logprobs = choice.get("logprobs")
        if not isinstance(logprobs, dict):
            return []
        if isinstance(logprobs.get("content"), list):  # llama.cpp answers in the chat shape
            return _logprobs_of(logprobs["content"])
        tokens, values = logprobs.get("tokens"), logprobs.get("token_logprobs")
        if not isinstance(tokens, list) or not isinstance(values, list):
            return []
        return [
            TokenLogprob(str(token), float(value))
            for token, value in zip(tokens, values, strict=False)
            if isinstance(value, int | float)
        ]


def json_schema_format(schema: dict[str, Any]) -> dict[str, Any]:
    """``response_format`` for a JSON schema (a bare schema, or OpenAI's ``{name, schema}``)."""
    if "name" in schema and isinstance(schema.get("schema"), dict):
        spec = dict(schema)
    else:
        spec = {"name": "response", "schema": schema}
    return {"type": "json_schema", "json_schema": spec}


def parse_model_id(prefix: str, rest: str) -> tuple[str, str]:
    """``(mode, model)`` from the part of an id after ``prefix:``."""
    head, sep, tail = rest.partition(":")
    if sep and head in _MODES:
        mode, model = head, tail
    elif sep and head in _UNSUPPORTED_MODES:
        raise ConfigError(
            f"{prefix}:{head}: is not supported; use {prefix}:chat:MODEL or "
            f"{prefix}:completion:MODEL"
        )
    else:
        mode, model = "chat", rest
    if not model.strip():
        raise ConfigError(
            f"model id {prefix}:{rest} names no model; e.g. {prefix}:chat:MODEL or {prefix}:MODEL"
        )
    return mode, model.strip()


def _ollama_url(url: str) -> str:
    """Ollama's OpenAI API lives under ``/v1``; accept the bare server URL too."""
    stripped = url.rstrip("/")
    return stripped + "/v1" if stripped.count("/") == 2 else stripped


def _create(
    flavor: Flavor, model_id: str, rest: str, config: dict[str, Any], label: str | None
) -> Provider:
    mode, model = parse_model_id(flavor.prefix, rest)
    cls = _provider_class(mode)
    check_config_keys(config, COMMON_CONFIG_KEYS | {"stream_usage"} | cls.config_keys, model_id)
    require("openai", "openai")
    settings = read_settings(
        config, model_id, default_base_url=flavor.default_base_url,
        base_url_env=flavor.base_url_env,
    )
    if flavor.prefix == "ollama" and settings.base_url:
        settings = HttpSettings(_ollama_url(settings.base_url), settings.timeout,
                                settings.idle_timeout, settings.headers, settings.price)
    secrets = Secrets()
    api_key = read_api_key(secrets, config, model_id, flavor.key_vars, required=not flavor.local)
    provider = cls(
        model_id, label, flavor=flavor, stream_usage=bool(config.get("stream_usage", True)),
        model=model, settings=settings, api_key=api_key, secrets=secrets,
    )
    provider.configure(config, model_id)
    return provider


def _provider_class(mode: str) -> type[OpenAIProvider]:
    if mode == "responses":
        from promptwork.providers.openai_responses import OpenAIResponsesProvider

        return OpenAIResponsesProvider
    return OpenAICompletionProvider if mode == "completion" else OpenAIProvider


def create_flavored(
    flavor: Flavor, model_id: str, rest: str, config: dict[str, Any], label: str | None
) -> Provider:
    """Factory for a server of ``flavor`` (the vendor presets of ``openai_vendors``)."""
    return _create(flavor, model_id, rest, config, label)


def create_openai(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    """Factory for ``openai:[chat:|completion:]MODEL`` (and ``openai:moderation[:MODEL]``)."""
    from promptwork.providers import openai_moderation

    if openai_moderation.is_moderation(rest):
        return openai_moderation.create(model_id, rest, config, label)
    return _create(FLAVORS["openai"], model_id, rest, config, label)


def create_ollama(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    """Factory for ``ollama:[chat:|completion:]MODEL`` (default ``http://127.0.0.1:11434/v1``)."""
    return _create(FLAVORS["ollama"], model_id, rest, config, label)


def create_vllm(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    """Factory for ``vllm:[chat:|completion:]MODEL`` (default ``http://127.0.0.1:8000/v1``)."""
    return _create(FLAVORS["vllm"], model_id, rest, config, label)


def create_llamacpp(
    model_id: str, rest: str, config: dict[str, Any], label: str | None
) -> Provider:
    """Factory for ``llamacpp:[chat:|completion:]MODEL`` (default ``http://127.0.0.1:8080/v1``)."""
    return _create(FLAVORS["llamacpp"], model_id, rest, config, label)

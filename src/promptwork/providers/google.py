"""Google Gemini (``google:MODEL``) through the ``google-genai`` SDK.

System turns become ``system_instruction``; assistant turns are sent with Gemini's ``model`` role.
Finish reasons are reported in OpenAI's words (``STOP`` -> ``stop``, ``MAX_TOKENS`` -> ``length``,
safety blocks -> ``content_filter``). A prompt that Gemini blocks outright comes back as an empty
answer with finish reason ``content_filter``: the model answered, it just refused. The SDK does
not retry unless asked (we never ask): retries belong to the runner.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

from promptwork.errors import ConfigError
from promptwork.providers.base import COMMON_PARAMS, Provider, Stopwatch
from promptwork.providers.httpbase import (
    COMMON_CONFIG_KEYS,
    HttpProvider,
    as_int,
    check_config_keys,
    read_api_key,
    read_settings,
    tls_context,
)
from promptwork.providers.httperrors import invalid, status_error, transport_error
from promptwork.providers.imageparts import gemini_parts
from promptwork.providers.registry import require
from promptwork.secrets import KEY_VARS, Secrets
from promptwork.types import Capabilities, Completion, Params, RenderedPrompt, TokenLogprob, Usage

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"

_FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}
_FILTERED = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)
_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def finish_reason(reason: object) -> str | None:
    """OpenAI-style finish reason for a Gemini ``finishReason``."""
    if reason is None:
        return None
    name = str(reason).rsplit(".", 1)[-1].upper()
    if name in _FILTERED:
        return "content_filter"
    return _FINISH.get(name, name.lower())


def retry_delay(details: object) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail (``"retryDelay": "12s"``), if any."""
    error = details.get("error", details) if isinstance(details, dict) else None
    items = error.get("details") if isinstance(error, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("retryDelay"), str):
            match = _DELAY.match(item["retryDelay"])
            if match:
                return float(match.group(1))
    return None


def generation_config(params: Params, system: str, sdk_fields: set[str]) -> dict[str, Any]:
    """``GenerateContentConfig`` arguments for ``params`` (only the fields that were set)."""
    config: dict[str, Any] = {}
    if system:
        config["system_instruction"] = system
    names = {
        "temperature": "temperature", "top_p": "top_p", "top_k": "top_k",
        "max_tokens": "max_output_tokens",
        "seed": "seed", "frequency_penalty": "frequency_penalty",
        "presence_penalty": "presence_penalty",
    }
    given = params.given()
    for ours, theirs in names.items():
        if ours in given:
            config[theirs] = given[ours]
    if params.stop:
        config["stop_sequences"] = list(params.stop)
    if params.response_schema is not None:
        config["response_mime_type"] = "application/json"
        field = "response_json_schema" if "response_json_schema" in sdk_fields else (
            "response_schema"
        )
        config[field] = params.bare_schema()
    elif params.json_object:
        config["response_mime_type"] = "application/json"
    if params.logprobs:
        config["response_logprobs"] = True
    return config


class GoogleProvider(HttpProvider):
    """Gemini models through the Gemini API.

    Args:
        id: Full model id.
        label: Display name.
        **kwargs: Model, settings, key and secrets, as for :class:`HttpProvider`.
    """

    capabilities = Capabilities(
        chat=True, completion=False, streaming=True, json_schema=True, logprobs=True, images=True
    )
    supported_params = COMMON_PARAMS | {
        "frequency_penalty", "presence_penalty", "response_schema", "logprobs", "top_k",
        "json_object",
    }

    def __init__(self, id: str, label: str | None, **kwargs: Any):
        super().__init__(id, label, sdk=require("google.genai", "google"), **kwargs)
        self._errors = require("google.genai.errors", "google")

    def _http_options(self) -> Any:
        """The SDK's HTTP options from the settings (base URL, timeout, headers, TLS)."""
        return self._sdk.types.HttpOptions(
            base_url=self.settings.base_url,
            timeout=int(self.settings.timeout * 1000),
            headers=dict(self.settings.headers) or None,
            client_args={"verify": tls_context()},
            async_client_args={"verify": tls_context(), "ssl": tls_context()},
        )

    def _new_client(self) -> Any:
        return self._sdk.Client(api_key=self._api_key, vertexai=False,
                                http_options=self._http_options())

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aio.aclose()
            with contextlib.suppress(Exception):
                client.close()

    def _error(self, exc: Exception) -> Exception:
        if isinstance(exc, self._errors.APIError):
            error = status_error(self._scrub, self.id, exc.code, exc.details, exc.response)
            if error.retry_after is None:
                error.retry_after = retry_delay(exc.details)
            return error
        return transport_error(exc, self._scrub, self.id, self.settings.timeout) or exc

    def _request(self, prompt: RenderedPrompt, params: Params) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in prompt.messages if m.role == "system")
        contents = [
            {"role": "model" if m.role == "assistant" else "user",
             "parts": gemini_parts(m, self.id)}
            for m in prompt.messages
            if m.role != "system"
        ]
        if not contents:
            raise ConfigError(f"{self.id}: the prompt has only system text; add a user turn")
        fields = set(self._sdk.types.GenerateContentConfig.model_fields)
        config = self._sdk.types.GenerateContentConfig(
            **generation_config(params, system, fields)
        )
        return {"model": self.model, "contents": contents, "config": config}

    def _dump(self, response: Any) -> dict[str, Any]:
        if not hasattr(response, "model_dump"):
            raise invalid(self._scrub, self.id, "response is not a Gemini response", response)
        data = response.model_dump(mode="json", exclude_none=True)
        data.pop("sdk_http_response", None)  # response headers: not worth keeping
        return data if isinstance(data, dict) else {}

    def _chunk_dict(self, chunk: Any) -> dict[str, Any]:
        return self._dump(chunk)

    @staticmethod
    def _candidate(data: dict[str, Any]) -> dict[str, Any] | None:
        candidates = data.get("candidates")
        if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
            return candidates[0]
        return None

    @staticmethod
    def _text(candidate: dict[str, Any]) -> str:
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        if not isinstance(parts, list):
            return ""
        return "".join(
            str(part.get("text", ""))
            for part in parts
            if isinstance(part, dict) and not part.get("thought")
        )

    @staticmethod
    def _logprobs(candidate: dict[str, Any]) -> list[TokenLogprob]:
        result = candidate.get("logprobs_result")
        chosen = result.get("chosen_candidates") if isinstance(result, dict) else None
        if not isinstance(chosen, list):
            return []
        return [
            TokenLogprob(str(item.get("token", "")), float(item["log_probability"]))
            for item in chosen
            if isinstance(item, dict) and isinstance(item.get("log_probability"), int | float)
        ]

    def _usage(self, data: dict[str, Any]) -> Usage:
        meta = data.get("usage_metadata")
        if not isinstance(meta, dict):
            return Usage()
        output = as_int(meta.get("candidates_token_count"))
        thoughts = as_int(meta.get("thoughts_token_count"))
        if thoughts is not None:  # thinking tokens are billed as output
            output = (output or 0) + thoughts
        return Usage(as_int(meta.get("prompt_token_count")), output)

    def _completion(
        self, text: str, data: dict[str, Any], latency_ms: float, reason: object,
        logprobs: list[TokenLogprob] | None,
    ) -> Completion:
        usage = self._usage(data)
        return Completion(
            text=text, provider=self.id, usage=usage, latency_ms=latency_ms,
            cost=self._cost(usage), finish_reason=finish_reason(reason),
            logprobs=tuple(logprobs) if logprobs is not None else None, raw=data,
        )

    def _blocked(self, data: dict[str, Any], latency_ms: float) -> Completion:
        feedback = data.get("prompt_feedback")
        if isinstance(feedback, dict) and feedback.get("block_reason"):
            return self._completion("", data, latency_ms, "SAFETY", None)
        raise invalid(self._scrub, self.id, "response has no candidates", data)

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        self.check_params(params)
        request = self._request(prompt, params)
        models = self._sdk_client().aio.models
        watch = Stopwatch()
        response = await self._attempt(lambda: models.generate_content(**request))
        latency = watch.ms()
        data = self._dump(response)
        candidate = self._candidate(data)
        if candidate is None:
            return self._blocked(data, latency)
        logprobs = self._logprobs(candidate) if params.logprobs else None
        return self._completion(
            self._text(candidate), data, latency, candidate.get("finish_reason"), logprobs
        )

    async def _events(
        self, prompt: RenderedPrompt, params: Params
    ) -> AsyncIterator[str | Completion]:
        self.check_params(params)
        request = self._request(prompt, params)
        models = self._sdk_client().aio.models
        watch = Stopwatch()
        stream = await self._attempt(lambda: models.generate_content_stream(**request))
        pieces: list[str] = []
        logprobs: list[TokenLogprob] = []
        last: dict[str, Any] = {}
        reason: object = None
        async for data in self._chunks(stream):
            last = data
            candidate = self._candidate(last)
            if candidate is None:
                continue
            reason = candidate.get("finish_reason") or reason
            logprobs += self._logprobs(candidate)
            piece = self._text(candidate)
            if piece:
                pieces.append(piece)
                yield piece
        if reason is None:
            if not pieces and last:
                yield self._blocked(last, watch.ms())
                return
            raise invalid(self._scrub, self.id, "stream ended before the model finished")
        raw = {**last, "streamed": True}
        yield self._completion(
            "".join(pieces), raw, watch.ms(), reason, logprobs if params.logprobs else None
        )


def create(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    """Factory for ``google:MODEL`` (``GEMINI_API_KEY`` or ``GOOGLE_API_KEY``)."""
    model = rest.strip().removeprefix("models/")
    if not model:
        raise ConfigError(f"model id {model_id} names no model; e.g. google:gemini-2.5-flash")
    check_config_keys(config, COMMON_CONFIG_KEYS, model_id)
    require("google.genai", "google")
    settings = read_settings(config, model_id, default_base_url=DEFAULT_BASE_URL)
    secrets = Secrets()
    api_key = read_api_key(secrets, config, model_id, KEY_VARS["google"])
    return GoogleProvider(
        model_id, label, model=model, settings=settings, api_key=api_key, secrets=secrets
    )


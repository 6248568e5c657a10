"""OpenAI's Responses API (``openai:responses:MODEL``, ``POST /responses``).

The rendered messages are sent as ``input`` (system turns keep their role), promptfoo's
``instructions`` config key as ``instructions``, ``max_tokens`` as ``max_output_tokens``, a
JSON schema (or JSON mode) as ``text.format`` and ``reasoning_effort`` as ``reasoning.effort``.
The answer is the text of the ``output_text`` parts of the ``message`` items in ``output``
(reasoning items are skipped); a response whose ``status`` is ``failed`` is a provider error,
and one ``incomplete`` because of the token limit finishes with ``length``. Requests go through
the same HTTP base as chat completions (retries belong to the runner; errors, usage and cost
are read alike).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from promptwork.errors import ConfigError
from promptwork.providers.base import Stopwatch
from promptwork.providers.httpbase import as_int
from promptwork.providers.httperrors import invalid, status_error
from promptwork.providers.imageparts import responses_input
from promptwork.providers.openai_compat import OpenAIProvider
from promptwork.types import Capabilities, Completion, Params, RenderedPrompt, Usage

_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def output_text(data: dict[str, Any]) -> str | None:
    """The answer in a Responses API body: ``output[].content[].text`` of message items.

    ``None`` when the body has no ``output`` list at all (an invalid response).
    """
    items = data.get("output")
    if not isinstance(items, list):
        return None
    pieces: list[str] = []
    for item in items:
        if not isinstance(item, dict) or item.get("type", "message") != "message":
            continue
        content = item.get("content")
        for part in content if isinstance(content, list) else []:
            if not isinstance(part, dict):
                continue
            if part.get("type") in ("output_text", "text") and isinstance(part.get("text"), str):
                pieces.append(part["text"])
            elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
                pieces.append(part["refusal"])
    return "".join(pieces)


def finish_reason(data: dict[str, Any]) -> str | None:
    """OpenAI-style finish reason for a response's ``status`` and ``incomplete_details``."""
    status = data.get("status")
    if status == "completed":
        return "stop"
    if status == "incomplete":
        details = data.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return _INCOMPLETE.get(str(reason), "length" if reason is None else str(reason))
    return str(status) if status is not None else None


def text_format(schema: dict[str, Any]) -> dict[str, Any]:
    """``text.format`` for a JSON schema (a bare schema, or OpenAI's ``{name, schema}``)."""
    if "name" in schema and isinstance(schema.get("schema"), dict):
        return {"type": "json_schema", **schema}
    return {"type": "json_schema", "name": "response", "schema": schema}


class OpenAIResponsesProvider(OpenAIProvider):
    """The Responses API on OpenAI or a server that implements it."""

    capabilities = Capabilities(
        chat=True, completion=False, streaming=True, json_schema=True, logprobs=False, images=True
    )
    supported_params = frozenset({
        "temperature", "top_p", "max_tokens", "response_schema", "json_object", "tools",
        "tool_choice", "reasoning_effort",
    })
    mode = "responses"
    config_keys: ClassVar[frozenset[str]] = frozenset({"instructions"})
    instructions: str | None = None

    def configure(self, config: dict[str, Any], where: str) -> None:
        instructions = config.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise ConfigError(f"{where}: instructions must be a text")
        self.instructions = instructions

    def cache_identity(self) -> dict[str, Any]:
        identity = super().cache_identity()
        if self.instructions:
            identity["instructions"] = self.instructions
        return identity

    def _endpoint(self, client: Any) -> Any:
        endpoint = getattr(client, "responses", None)
        if endpoint is None:
            raise ConfigError(
                f"{self.id}: the installed openai package has no Responses API; "
                "pip install -U 'openai>=1.66'"
            )
        return endpoint

    def _request(self, prompt: RenderedPrompt, params: Params) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "input": responses_input(prompt)}
        if self.instructions:
            request["instructions"] = self.instructions
        given = params.given()
        request.update({key: given[key] for key in ("temperature", "top_p") if key in given})
        if params.max_tokens is not None:
            request["max_output_tokens"] = params.max_tokens
        if params.response_schema is not None:
            request["text"] = {"format": text_format(params.response_schema)}
        elif params.json_object:
            request["text"] = {"format": {"type": "json_object"}}
        request.update({key: given[key] for key in ("tools", "tool_choice") if key in given})
        if "reasoning_effort" in given:
            request["reasoning"] = {"effort": given["reasoning_effort"]}
        return request

    def _result(self, data: dict[str, Any], latency_ms: float, raw: dict[str, Any]) -> Completion:
        if data.get("status") == "failed" or isinstance(data.get("error"), dict):
            raise status_error(self._scrub, self.id, None, {"error": data.get("error")})
        text = output_text(data)
        if text is None:
            raise invalid(self._scrub, self.id, "response has no output", data)
        usage_map = data.get("usage")
        usage_map = usage_map if isinstance(usage_map, dict) else {}
        usage = Usage(as_int(usage_map.get("input_tokens")), as_int(usage_map.get("output_tokens")))
        return Completion(
            text=text, provider=self.id, usage=usage, latency_ms=latency_ms,
            cost=self._cost(usage), finish_reason=finish_reason(data), logprobs=None, raw=raw,
        )

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        self.check_params(params)
        request = self._request(prompt, params)
        endpoint = self._endpoint(self._sdk_client()).with_raw_response
        data, latency = await self._fetch_json(endpoint, request)
        return self._result(data, latency, data)

    async def _events(
        self, prompt: RenderedPrompt, params: Params
    ) -> AsyncIterator[str | Completion]:
        self.check_params(params)
        request = {**self._request(prompt, params), "stream": True}
        endpoint = self._endpoint(self._sdk_client())
        watch = Stopwatch()
        stream = await self._attempt(lambda: endpoint.create(**request))
        pieces: list[str] = []
        final: dict[str, Any] | None = None
        async for event in self._chunks(stream):
            kind = event.get("type")
            if kind == "response.output_text.delta" and isinstance(event.get("delta"), str):
                pieces.append(event["delta"])
                yield event["delta"]
            elif kind in ("response.completed", "response.incomplete", "response.failed"):
                final = event.get("response") if isinstance(event.get("response"), dict) else {}
            elif kind == "error":
                raise status_error(self._scrub, self.id, None, {"error": event})
        if final is None:
            raise invalid(self._scrub, self.id, "stream ended before the model finished")
        raw = {"id": final.get("id"), "model": final.get("model"), "streamed": True,
               "status": final.get("status"), "usage": final.get("usage")}
        completion = self._result(final, watch.ms(), raw)
        if not completion.text and pieces:  # a final record without its output
            completion = Completion(
                text="".join(pieces), provider=completion.provider, usage=completion.usage,
                latency_ms=completion.latency_ms, cost=completion.cost,
                finish_reason=completion.finish_reason, logprobs=None, raw=raw,
            )
        yield completion


"""AWS Bedrock (``bedrock:MODEL_ID``) through boto3's Converse API (``promptwork[bedrock]``).

``bedrock:converse:MODEL_ID`` is accepted too (promptfoo's explicit form). Credentials come from
boto3's usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE`` or config
``profile``, instance roles); they are never read from the suite. The region is config
``region``, else ``$AWS_BEDROCK_REGION``, ``$AWS_REGION``, ``$AWS_DEFAULT_REGION``, else
``us-east-1``; ``endpoint`` (or ``base_url``) points at another endpoint. boto3 never retries
(retries belong to the runner); its calls run in a worker thread so the event loop goes on.
System turns become ``system``; stop reasons are reported in OpenAI's words.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.base import COMMON_PARAMS, Provider, Stopwatch
from promptwork.providers.httperrors import Scrubber, invalid
from promptwork.providers.pricing import cost_of, parse_price
from promptwork.providers.registry import require
from promptwork.secrets import Secrets
from promptwork.types import Capabilities, Completion, Params, RenderedPrompt, Usage

CONFIG_KEYS = frozenset({"region", "profile", "endpoint", "base_url", "timeout", "price"})
_SECRET_KEYS = frozenset({"accessKeyId", "secretAccessKey", "sessionToken", "apiKey"})
REGION_VARS = ("AWS_BEDROCK_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")

_STOP = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
         "guardrail_intervened": "content_filter", "content_filtered": "content_filter",
         "tool_use": "tool_calls"}
#: Bedrock error codes -> promptwork error kinds.
_KINDS = {
    "ThrottlingException": "rate_limit", "TooManyRequestsException": "rate_limit",
    "ServiceQuotaExceededException": "quota",
    "AccessDeniedException": "auth", "UnrecognizedClientException": "auth",
    "ExpiredTokenException": "auth", "InvalidSignatureException": "auth",
    "ValidationException": "bad_request", "ResourceNotFoundException": "bad_request",
    "ModelErrorException": "server", "InternalServerException": "server",
    "ServiceUnavailableException": "server", "ModelNotReadyException": "server",
    "ModelTimeoutException": "timeout",
}


def converse_request(model: str, prompt: RenderedPrompt, params: Params) -> dict[str, Any]:
    """The keyword arguments of ``client.converse`` for a prompt and its parameters."""
    system = [{"text": m.content} for m in prompt.messages if m.role == "system"]
    messages = [{"role": m.role, "content": [{"text": m.content}]}
                for m in prompt.messages if m.role != "system"]
    if not messages:
        raise ConfigError(f"bedrock:{model}: the prompt has only system text; add a user turn")
    inference: dict[str, Any] = {}
    given = params.given()
    names = {"max_tokens": "maxTokens", "temperature": "temperature", "top_p": "topP"}
    inference.update({theirs: given[ours] for ours, theirs in names.items() if ours in given})
    if params.stop:
        inference["stopSequences"] = list(params.stop)
    request: dict[str, Any] = {"modelId": model, "messages": messages}
    if system:
        request["system"] = system
    if inference:
        request["inferenceConfig"] = inference
    return request


def error_kind(code: str | None, status: int | None) -> str:
    """The error kind of a Bedrock error code (else from the HTTP status)."""
    if code in _KINDS:
        return _KINDS[code]
    if status == 429:
        return "rate_limit"
    if status in (401, 403):
        return "auth"
    if status is not None and status >= 500:
        return "server"
    if status is not None and status >= 400:
        return "bad_request"
    return "other"


class BedrockProvider(Provider):
    """A Bedrock model through the Converse API.

    Args:
        id: Full model id.
        label: Display name.
        model: Bedrock model id (``anthropic.claude-3-5-haiku-20241022-v1:0``).
        client: A boto3 ``bedrock-runtime`` client.
        region: Its region (shown and part of the cache key).
        endpoint: A custom endpoint URL, if any.
        price: Price override, dollars per million tokens.
    """

    capabilities = Capabilities(chat=True, completion=False)
    supported_params = COMMON_PARAMS - {"seed"}

    def __init__(self, id: str, label: str | None, *, model: str, client: Any, region: str,
                 endpoint: str | None, timeout: float, price: Any = None):
        super().__init__(id, label)
        self.model = model
        self.region = region
        self.endpoint = endpoint
        self.timeout = timeout
        self.price = price
        self._client = client
        self._botocore = require("botocore.exceptions", "bedrock")
        self._scrub = Scrubber(Secrets())

    def cache_identity(self) -> dict[str, Any]:
        return {"provider": self.id, "model": self.model, "region": self.region,
                "endpoint": self.endpoint}

    def describe(self) -> dict[str, Any]:
        return {**self.cache_identity(), "timeout": self.timeout}

    def _error(self, exc: Exception) -> ProviderError | None:
        errors = self._botocore
        if isinstance(exc, errors.ClientError):
            response: Mapping[str, Any] = exc.response or {}
            error = response.get("Error") or {}
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            code = error.get("Code")
            message = error.get("Message") or str(exc)
            shown = f"HTTP {status}: " if status else ""
            return ProviderError(self._scrub(f"{self.id}: {shown}{code}: {message}"),
                                 kind=error_kind(code, status),
                                 status=status if isinstance(status, int) else None)
        if isinstance(exc, errors.ReadTimeoutError | errors.ConnectTimeoutError):
            return ProviderError(f"{self.id}: timed out after {self.timeout:g} s", kind="timeout")
        if isinstance(exc, errors.EndpointConnectionError | errors.ConnectionClosedError):
            return ProviderError(self._scrub(f"{self.id}: {exc}"), kind="connection")
        if isinstance(exc, errors.NoCredentialsError | errors.PartialCredentialsError):
            return ProviderError(f"{self.id}: {exc}; set AWS credentials", kind="auth")
        return None

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        self.check_params(params)
        request = converse_request(self.model, prompt, params)
        watch = Stopwatch()
        try:
            response = await asyncio.to_thread(self._client.converse, **request)
        except Exception as exc:
            error = self._error(exc)
            if error is None:
                raise
        else:
            return self._completion(response, watch.ms())
        raise error

    def _completion(self, response: Mapping[str, Any], latency_ms: float) -> Completion:
        message = ((response.get("output") or {}).get("message") or {})
        content = message.get("content")
        if not isinstance(content, list):
            raise invalid(self._scrub, self.id, "response has no output message", response)
        text = "".join(part["text"] for part in content
                       if isinstance(part, dict) and isinstance(part.get("text"), str))
        usage_map = response.get("usage") or {}
        usage = Usage(usage_map.get("inputTokens"), usage_map.get("outputTokens"))
        cost = (self.price.cost(usage.prompt_tokens, usage.completion_tokens) if self.price
                else cost_of(self.model, usage.prompt_tokens, usage.completion_tokens))
        reason = response.get("stopReason")
        raw = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        return Completion(
            text=text, provider=self.id, usage=usage, latency_ms=latency_ms, cost=cost,
            finish_reason=_STOP.get(str(reason), str(reason)) if reason else None, raw=raw,
        )


def _region(config: Mapping[str, Any], env: Mapping[str, str]) -> str:
    region = config.get("region") or next((env[v] for v in REGION_VARS if env.get(v)), None)
    return str(region or "us-east-1")


def create(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    """Factory for ``bedrock:MODEL_ID`` and ``bedrock:converse:MODEL_ID``."""
    model = rest.strip().removeprefix("converse:")
    if not model:
        raise ConfigError(f"model id {model_id} names no model; e.g. "
                          "bedrock:anthropic.claude-3-5-haiku-20241022-v1:0")
    secrets = sorted(_SECRET_KEYS & set(config))
    if secrets:
        raise ConfigError(f"{model_id}: do not write AWS credentials in suite files "
                          f"({', '.join(secrets)}); use the AWS environment variables or a "
                          "profile")
    unknown = sorted(set(config) - CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"{model_id}: unknown config key{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(unknown)}; allowed: {', '.join(sorted(CONFIG_KEYS))}, "
                          "and generation parameters (temperature, max_tokens, top_p, stop)")
    boto3 = require("boto3", "bedrock")
    botocore_config = require("botocore.config", "bedrock")
    timeout = config.get("timeout", 60)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{model_id}: timeout must be a number of seconds > 0")
    endpoint = config.get("endpoint", config.get("base_url"))
    if endpoint is not None and not (isinstance(endpoint, str)
                                     and endpoint.startswith(("http://", "https://"))):
        raise ConfigError(f"{model_id}: endpoint must be an http(s) URL, got {endpoint!r}")
    region = _region(config, os.environ)
    try:
        session = boto3.session.Session(profile_name=config.get("profile"), region_name=region)
    except require("botocore.exceptions", "bedrock").ProfileNotFound as exc:
        raise ConfigError(f"{model_id}: {exc}") from None
    if session.get_credentials() is None:
        raise ConfigError(f"{model_id} needs AWS credentials: set AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (or config profile)")
    client = session.client(
        "bedrock-runtime", region_name=region, endpoint_url=endpoint,
        config=botocore_config.Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                      connect_timeout=timeout, read_timeout=timeout),
    )
    price = parse_price(config["price"], model_id) if "price" in config else None
    return BedrockProvider(model_id, label, model=model, client=client, region=region,
                           endpoint=endpoint, timeout=float(timeout), price=price)

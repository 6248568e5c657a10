"""What the HTTP providers share: config reading, a base class, streaming with idle timeouts.

Error classification lives in :mod:`promptwork.providers.httperrors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import os
import re
import ssl
import weakref
from abc import abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.base import Provider, Stopwatch
from promptwork.providers.httperrors import Scrubber, json_object, sdk_error
from promptwork.providers.pricing import Price, cost_of, parse_price
from promptwork.secrets import Secrets
from promptwork.types import Completion, Params, RenderedPrompt, Usage

T = TypeVar("T")

#: Config keys every HTTP provider accepts (promptfoo spellings included).
COMMON_CONFIG_KEYS = frozenset(
    {"base_url", "apiBaseUrl", "api_key_env", "apiKeyEnvar", "timeout", "idle_timeout",
     "headers", "price"}
)


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Connection settings of one HTTP provider (never the API key).

    Attributes:
        base_url: Endpoint root, or ``None`` for the SDK's default.
        timeout: Seconds allowed for one attempt (for streams: until the response starts).
        idle_timeout: Seconds a stream may go without data before it counts as stalled.
        headers: Extra request headers.
        price: Price override, dollars per million tokens.
    """

    base_url: str | None
    timeout: float = 60.0
    idle_timeout: float = 30.0
    headers: Mapping[str, str] = field(default_factory=dict)
    price: Price | None = None

    def display_url(self) -> str | None:
        """The base URL without any ``user:password@`` part."""
        return strip_userinfo(self.base_url) if self.base_url else None


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS context every SDK client shares (httpx's default: certifi, ``SSL_CERT_FILE``).

    Loading certificates costs ~25 ms, and each SDK client would otherwise load its own. It is
    built once per process, so later changes to ``SSL_CERT_FILE`` are not seen.
    """
    return httpx.create_ssl_context()


def strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def check_config_keys(config: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Reject unknown config keys, and keys written inline (keys belong in the environment)."""
    allowed = frozenset(allowed)
    unknown = sorted(set(config) - allowed)
    if {"apiKey", "api_key"} & set(unknown):
        raise ConfigError(
            f"{where}: do not write API keys in suite files; put the key in an environment "
            "variable (or the [keys] table of ~/.config/promptwork/config.toml) and name it "
            "with api_key_env"
        )
    if unknown:
        raise ConfigError(
            f"{where}: unknown config key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}, and generation parameters (temperature, "
            "max_tokens, top_p, stop, seed, response_format...)"
        )


def _seconds(config: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{where}: {key} must be a number of seconds > 0, got {value!r}")
    return float(value)


def read_settings(
    config: Mapping[str, Any],
    where: str,
    *,
    default_base_url: str | None,
    base_url_env: str | None = None,
    env: Mapping[str, str] | None = None,
) -> HttpSettings:
    """Build :class:`HttpSettings` from provider config, an environment variable and defaults."""
    env = os.environ if env is None else env
    base_url = config.get("base_url", config.get("apiBaseUrl"))
    if base_url is None and base_url_env:
        base_url = env.get(base_url_env) or None
    base_url = base_url or default_base_url
    if base_url is not None and (
        not isinstance(base_url, str) or urlsplit(base_url).scheme not in ("http", "https")
    ):
        raise ConfigError(f"{where}: base_url must be an http(s) URL, got {base_url!r}")
    headers = config.get("headers", {})
    if not isinstance(headers, Mapping) or not all(isinstance(v, str) for v in headers.values()):
        raise ConfigError(f"{where}: headers must be a mapping of names to strings")
    timeout = _seconds(config, "timeout", 60.0, where)
    idle = _seconds(config, "idle_timeout", min(30.0, timeout), where)
    price = parse_price(config["price"], where) if "price" in config else None
    return HttpSettings(
        base_url=base_url.rstrip("/") if base_url else None,
        timeout=timeout,
        idle_timeout=idle,
        headers={str(k): v for k, v in headers.items()},
        price=price,
    )


def read_api_key(
    secrets: Secrets,
    config: Mapping[str, Any],
    where: str,
    default_vars: tuple[str, ...],
    *,
    required: bool = True,
    dummy: str = "local",
) -> str:
    """The API key named by config ``api_key_env`` or else by ``default_vars``.

    Raises:
        ConfigError: The key is required (or ``api_key_env`` was given) and is not set; the
            message names the variable to set.
    """
    named = config.get("api_key_env", config.get("apiKeyEnvar"))
    if named is not None and (not isinstance(named, str) or not named):
        raise ConfigError(f"{where}: api_key_env must be the name of an environment variable")
    names = (named,) if named else default_vars
    key = secrets.get(*names) if names else None
    if key:
        return key
    if named or required:
        raise ConfigError(
            f"{where} needs an API key: set the environment variable {' or '.join(names)} "
            "(or add it to the [keys] table of ~/.config/promptwork/config.toml)"
        )
    return dummy


async def idle_limited(source: AsyncIterator[T], idle: float, where: str) -> AsyncIterator[T]:
    """Yield from ``source``, failing with a ``timeout`` error if no item comes for ``idle`` s."""
    iterator = aiter(source)
    while True:
        try:
            async with asyncio.timeout(idle):
                item = await anext(iterator)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise ProviderError(
                f"{where}: stream stalled (no data for {idle:g} s)", kind="timeout"
            ) from None
        yield item


def as_int(value: object) -> int | None:
    """A token count from a JSON value (``None`` unless it is a non-negative integer)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


async def collect(events: AsyncIterator[str | T], on_text: Callable[[str], object]) -> T:
    """Drive a stream of text pieces ending with a final record; report pieces to ``on_text``."""
    final: T | None = None
    async for event in events:
        if isinstance(event, str):
            on_text(event)
        else:
            final = event
    if final is None:  # pragma: no cover - the event generators always end with a record
        raise ProviderError("stream ended without a result", kind="invalid_response")
    return final


#: Header names that carry credentials: never part of a cache key (not even hashed).
_SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie|session|passw|credential|signature",
                            re.IGNORECASE)
_SECRET_VALUE = re.compile(r"\b(sk-|AIza|bearer\s|basic\s)", re.IGNORECASE)


def headers_digest(headers: Mapping[str, str]) -> str | None:
    """A digest of the custom request headers, for cache keys; credentials are left out (by
    name, and any value that looks like a key). ``None`` when no header is left."""
    kept = sorted((name.lower(), value) for name, value in headers.items()
                  if not _SECRET_HEADER.search(name) and not _SECRET_VALUE.search(value))
    if not kept:
        return None
    return hashlib.sha256(json.dumps(kept).encode()).hexdigest()[:16]


class HttpProvider(Provider):
    """Base of the SDK-backed HTTP providers: client per event loop, errors, streaming, cost.

    Subclasses implement :meth:`_new_client`, :meth:`complete` and :meth:`_events` (an async
    generator of text pieces that ends with the :class:`Completion`), calling the SDK through
    :meth:`_attempt` and reading streams through :meth:`_chunks`, which apply the timeouts and
    turn every failure into a :class:`ProviderError`.

    Args:
        id: Full model id.
        label: Display name.
        model: Model name sent to the vendor.
        settings: Endpoint, timeouts, headers, price.
        api_key: The key (kept private: never shown, cached or recorded).
        secrets: Known secrets, for scrubbing error messages.
        sdk: The vendor SDK module.
    """

    free = False  # calls cost nothing unless a price is configured (local servers)

    def __init__(
        self,
        id: str,
        label: str | None,
        *,
        model: str,
        settings: HttpSettings,
        api_key: str,
        secrets: Secrets,
        sdk: Any,
    ):
        super().__init__(id, label)
        self.model = model
        self.settings = settings
        self._sdk = sdk
        self._api_key = api_key
        self._scrub = Scrubber(secrets, api_key)
        self._client: Any = None
        self._client_loop: weakref.ref[asyncio.AbstractEventLoop] | None = None

    def cache_identity(self) -> dict[str, Any]:
        identity = {"provider": self.id, "base_url": self.settings.display_url(),
                    "model": self.model}
        digest = headers_digest(self.settings.headers)
        if digest is not None:  # custom headers can change the answer (routing, versions...)
            identity["headers"] = digest
        return identity

    def describe(self) -> dict[str, Any]:
        return {**self.cache_identity(), "timeout": self.settings.timeout}

    @abstractmethod
    def _new_client(self) -> Any:
        """A new SDK client (never retrying: retries belong to the runner)."""

    def _sdk_client(self) -> Any:
        """The SDK client for the running event loop (connection pools cannot cross loops)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is None or self._client_loop() is not loop:
            self._client = self._new_client()
            self._client_loop = weakref.ref(loop)
        return self._client

    def _error(self, exc: Exception) -> Exception:
        """The :class:`ProviderError` for an exception (unknown ones are returned unchanged)."""
        return sdk_error(exc, self._sdk, self._scrub, self.id, self.settings.timeout) or exc

    async def _attempt(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run one SDK call within the per-attempt timeout; failures become ProviderError.

        The error is raised outside the ``except`` block so that it does not keep the SDK
        exception (whose request holds the API key) as its ``__context__``.
        """
        try:
            async with asyncio.timeout(self.settings.timeout):
                return await call()
        except Exception as exc:
            error = self._error(exc)
            if error is exc:
                raise
        raise error

    async def _fetch_json(
        self, endpoint: Any, request: Mapping[str, Any]
    ) -> tuple[dict[str, Any], float]:
        """One request through an SDK ``with_raw_response`` endpoint: its JSON body (parsed and
        checked here, so broken bodies are classified alike) and the latency in ms."""
        watch = Stopwatch()

        async def fetch() -> Any:
            response = await endpoint.create(**request)
            await response.http_response.aread()
            return response

        response = await self._attempt(fetch)
        latency = watch.ms()
        return json_object(response.http_response.text, self._scrub, self.id), latency

    def _chunk_dict(self, chunk: Any) -> dict[str, Any]:
        """A streamed SDK object as plain JSON data."""
        data = chunk.to_dict(mode="json", warnings=False)
        return data if isinstance(data, dict) else {}

    async def _chunks(self, stream: Any) -> AsyncIterator[dict[str, Any]]:
        """The stream's chunks as dicts, with the idle timeout; closes the stream at the end."""
        error: Exception | None = None
        try:
            async for chunk in idle_limited(stream, self.settings.idle_timeout, self.id):
                yield self._chunk_dict(chunk)
        except Exception as exc:
            error = self._error(exc)
            if error is exc:
                raise
        finally:
            close = getattr(stream, "aclose", None) or getattr(stream, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
        if error is not None:
            raise error

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()

    def _cost(self, usage: Usage) -> float | None:
        if self.settings.price is not None:
            return self.settings.price.cost(usage.prompt_tokens, usage.completion_tokens)
        if self.free:
            return 0.0
        return cost_of(self.model, usage.prompt_tokens, usage.completion_tokens)

    @abstractmethod
    def _events(self, prompt: RenderedPrompt, params: Params) -> AsyncIterator[str | Completion]:
        """Stream: text pieces, then the final :class:`Completion`."""

    async def stream(self, prompt: RenderedPrompt, params: Params) -> AsyncIterator[str]:
        async for event in self._events(prompt, params):
            if isinstance(event, str):
                yield event

    async def stream_complete(
        self, prompt: RenderedPrompt, params: Params, on_text: Callable[[str], object]
    ) -> Completion:
        return await collect(self._events(prompt, params), on_text)

"""Failed HTTP calls as :class:`ProviderError`: classification, Retry-After, scrubbing.

Vendor SDKs differ in their exception classes but not in what a failure *means*; this module turns
an HTTP status, headers and body into a :class:`ProviderError` with the right ``kind`` so that the
runner's retry policy works the same for every vendor. Every message is scrubbed of API keys.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from promptwork.errors import ProviderError
from promptwork.secrets import Secrets, redact

_CONTEXT_MARKERS = (
    "context_length_exceeded", "maximum context length", "context window", "prompt is too long",
    "too many tokens", "exceeds the maximum number of tokens", "input token count",
)
_QUOTA_MARKERS = ("insufficient_quota", "credit balance is too low", "billing_hard_limit")

#: Vendor error ``type``/``status`` strings, for errors that arrive without a telling HTTP status
#: (an ``error`` event inside a 200 stream).
_TYPE_KINDS = {
    "insufficient_quota": "quota",
    "rate_limit_error": "rate_limit",
    "rate_limit_exceeded": "rate_limit",
    "resource_exhausted": "rate_limit",
    "overloaded_error": "server",
    "api_error": "server",
    "server_error": "server",
    "internal": "server",
    "unavailable": "server",
    "authentication_error": "auth",
    "permission_error": "auth",
    "unauthenticated": "auth",
    "permission_denied": "auth",
    "invalid_request_error": "bad_request",
    "not_found_error": "bad_request",
    "invalid_argument": "bad_request",
    "context_length_exceeded": "context_length",
}


class Scrubber:
    """Removes the provider's own key, and every other known or key-shaped secret, from text."""

    __slots__ = ("_secrets", "_values")

    def __init__(self, secrets: Secrets, *values: str):
        self._secrets = secrets
        self._values = tuple(v for v in values if len(v) >= 6)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "[REDACTED]")
        return redact(text, self._secrets)


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = (lowered.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_detail(body: object) -> tuple[str | None, str | None]:
    """``(message, type_or_code)`` from a vendor error body (OpenAI, Anthropic or Google shape)."""
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    if not isinstance(body, Mapping):
        return (body.strip()[:500] or None, None) if isinstance(body, str) else (None, None)
    inner = body.get("error", body)
    if not isinstance(inner, Mapping):
        return (str(inner)[:500], None)
    message = inner.get("message")
    names = [inner.get(k) for k in ("code", "type", "status")]
    etype = next((n for n in names if isinstance(n, str) and n), None)
    return (str(message)[:500] if message is not None else None, etype)


def classify(status: int | None, text: str, etype: str | None = None) -> str:
    """The :class:`ProviderError` kind for an HTTP status and error body.

    Args:
        status: HTTP status (``None`` or 200 for errors reported inside a stream).
        text: The error body, or its message.
        etype: The vendor's error type or code, if known.
    """
    lowered = text.lower()
    etype_kind = _TYPE_KINDS.get((etype or "").lower())
    if any(marker in lowered for marker in _QUOTA_MARKERS) or etype_kind == "quota":
        return "quota"
    in_stream = status is None or status < 400
    client_side = status in (400, 404, 413, 422) or (
        in_stream and etype_kind in (None, "bad_request", "context_length")
    )
    if etype_kind == "context_length" or (
        client_side and any(marker in lowered for marker in _CONTEXT_MARKERS)
    ):
        return "context_length"
    if status is None or status < 400:
        return etype_kind or "server"
    if status == 429:
        return "rate_limit"
    if status in (401, 403):
        return "auth"
    if status == 408:
        return "timeout"
    if status == 409 or status >= 500:
        return "server"
    return "bad_request"


def body_text(response: Any) -> str:
    """An HTTP response's body as text, or ``""`` if it cannot be read (never raises)."""
    try:
        text = response.text
    except Exception:
        return ""
    return text if isinstance(text, str) else ""


def status_error(
    scrub: Scrubber,
    where: str,
    status: int | None,
    body: object,
    response: Any = None,
) -> ProviderError:
    """A :class:`ProviderError` for a failed HTTP exchange (``response`` is an httpx response)."""
    raw_text = body_text(response) if response is not None else ""
    if not raw_text:
        raw_text = body if isinstance(body, str) else json.dumps(body, default=str)
    message, etype = error_detail(body)
    if message is None:
        message, etype2 = error_detail(_maybe_json(raw_text))
        etype = etype or etype2
    kind = classify(status, f"{raw_text}\n{message or ''}", etype)
    shown = message or raw_text.strip()[:300] or "no error message"
    headers = getattr(response, "headers", None) if response is not None else None
    code = f"HTTP {status}" if status and status >= 400 else "error"
    return ProviderError(
        scrub(f"{where}: {code}: {shown}"),
        kind=kind,
        status=status if status and status >= 400 else None,
        retry_after=parse_retry_after(headers) if headers is not None else None,
    )


def _maybe_json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _timed_out(where: str, timeout: float | None) -> ProviderError:
    after = f" after {timeout:g} s" if timeout else ""
    return ProviderError(f"{where}: timed out{after}", kind="timeout")


def transport_error(
    exc: BaseException, scrub: Scrubber, where: str, timeout: float | None = None
) -> ProviderError | None:
    """Classify a non-SDK failure (httpx, asyncio, JSON decoding), or ``None`` if it is not one."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return _timed_out(where, timeout)
    if isinstance(exc, httpx.TransportError):
        return ProviderError(
            scrub(f"{where}: connection failed ({type(exc).__name__}: {exc})"), kind="connection"
        )
    if isinstance(exc, ValueError):
        # json.JSONDecodeError, UnicodeDecodeError and pydantic errors: a body we could not read.
        return ProviderError(
            scrub(f"{where}: unreadable response ({type(exc).__name__}: {str(exc)[:200]})"),
            kind="invalid_response",
        )
    return None


def sdk_error(
    exc: BaseException, sdk: Any, scrub: Scrubber, where: str, timeout: float | None = None
) -> ProviderError | None:
    """Classify an exception of a Stainless-generated SDK (``openai``, ``anthropic``)."""
    if isinstance(exc, sdk.APIStatusError):
        return status_error(scrub, where, exc.status_code, exc.body, exc.response)
    if isinstance(exc, sdk.APITimeoutError):
        return _timed_out(where, timeout)
    if isinstance(exc, sdk.APIConnectionError):
        cause = exc.__cause__
        detail = f" ({type(cause).__name__}: {cause})" if cause else ""
        return ProviderError(scrub(f"{where}: connection failed{detail}"), kind="connection")
    if isinstance(exc, sdk.APIResponseValidationError):
        return ProviderError(
            scrub(f"{where}: response did not match the API schema"), kind="invalid_response"
        )
    if isinstance(exc, sdk.APIError):  # an error event inside a stream
        return status_error(scrub, where, None, exc.body if exc.body is not None else exc.message)
    return transport_error(exc, scrub, where, timeout)


def invalid(scrub: Scrubber, where: str, what: str, sample: object = None) -> ProviderError:
    """An ``invalid_response`` error, quoting the start of the offending body."""
    shown = f": {str(sample).strip()[:200]!r}" if sample is not None else ""
    return ProviderError(scrub(f"{where}: {what}{shown}"), kind="invalid_response")


def json_object(text: str, scrub: Scrubber, where: str) -> dict[str, Any]:
    """Parse a response body that must be a JSON object (else ``invalid_response``)."""
    try:
        data = json.loads(text)
    except ValueError:
        what = "response is an HTML page, not JSON" if "<html" in text[:500].lower() else (
            "response is not valid JSON (truncated?)"
        )
        raise invalid(scrub, where, what, text) from None
    if not isinstance(data, dict):
        raise invalid(scrub, where, "response is not a JSON object", text)
    if data.get("error"):  # some servers and proxies answer 200 with an error body
        raise status_error(scrub, where, None, data)
    return data

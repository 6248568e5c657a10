"""Access to the API: bearer tokens, their scopes, and a per-token rate limit.

:class:`AuthMiddleware` (pure ASGI, before any route) refuses every request without a valid,
unrevoked token (401, with ``WWW-Authenticate: Bearer``) and every request over its token's
rate (429, with ``Retry-After``); it puts the token on ``scope["state"]["token"]``. Routes then
ask for a scope with :func:`needs` (403 when the token's scope is lower). A server bound to a
loopback address also refuses a request naming another ``Host`` (421), as the workbench does
(:meth:`promptwork.web.security.WebSettings.allowed_hosts`): a page of another site that
rebinds its DNS name to 127.0.0.1 does not reach the API, with or without a token. The rate
limit is a token bucket per API token, held by the middleware (one per application, nothing
global).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from promptwork.serve.library import ReadConnection
from promptwork.store.tokens import TokenInfo, find_token, scope_allows, token_hash

__all__ = ["AuthMiddleware", "RateLimiter", "needs", "token_of"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """A token bucket per key: ``rate`` requests a second on average, bursts of ``burst``.

    Args:
        rate: Refill rate (requests per second).
        burst: Bucket size.
        clock: Monotonic clock (injected by tests).
    """

    def __init__(self, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic):
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.rate, self.burst, self._clock = rate, burst, clock
        self._buckets: dict[int, _Bucket] = {}

    def take(self, key: int) -> float:
        """Spend one request of ``key``'s bucket: 0 when allowed, else the seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


class AuthMiddleware:
    """Bearer tokens and the rate limit, for every HTTP request (see the module docstring)."""

    def __init__(self, app: ASGIApp, reads: ReadConnection, limiter: RateLimiter | None,
                 hosts: frozenset[str] | None = None):
        self.app, self.reads, self.limiter = app, reads, limiter
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = host = ""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value.decode("latin-1")
            elif name == b"host":
                host = value.decode("latin-1").lower()
        if self.hosts is not None and host not in self.hosts:
            await _refuse(send, 421, f"this server does not answer for Host {host!r}", [])
            return
        kind, _, text = header.partition(" ")
        if kind.lower() != "bearer" or not text.strip():
            await _refuse(send, 401, "missing bearer token: send 'Authorization: Bearer TOKEN' "
                          "(promptwork tokens create)", [(b"www-authenticate", b"Bearer")])
            return
        text = text.strip()
        self.reads.begin()
        token = self.reads.lookup(("token", token_hash(text)),
                                  lambda conn: find_token(conn, text))
        if token is None or not token.active:
            await _refuse(send, 401, "invalid or revoked token",
                          [(b"www-authenticate", b'Bearer error="invalid_token"')])
            return
        if self.limiter is not None:
            wait = self.limiter.take(token.id)
            if wait > 0:
                await _refuse(send, 429, "rate limit exceeded for this token",
                              [(b"retry-after", str(max(1, math.ceil(wait))).encode())])
                return
        scope.setdefault("state", {})["token"] = token
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, detail: str,
                  headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *headers]})
    await send({"type": "http.response.body", "body": body})


def token_of(request: Request) -> TokenInfo:
    """The request's token (set by :class:`AuthMiddleware`)."""
    token: TokenInfo = request.state.token
    return token


def needs(scope: str) -> Callable[[Request], Awaitable[TokenInfo]]:
    """A route dependency: the request's token, if its scope allows ``scope`` (else 403)."""

    async def check(request: Request) -> TokenInfo:  # async: no trip through a worker thread
        token = token_of(request)
        if not scope_allows(token.scope, scope):
            raise HTTPException(403, f"this needs a token of scope {scope!r} "
                                     f"(this one is {token.scope!r})")
        return token

    return check

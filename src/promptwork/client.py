"""A Python client of ``promptwork serve``: fetch, render and run the library's prompts.

Example::

    from promptwork.client import Client

    pw = Client("http://127.0.0.1:8800", token="pw_...")
    prompt = pw.get_prompt("reply", label="production")      # cached 60 s in this process
    messages = pw.render("reply", {"customer": "Ada"}, label="production")
    answer = pw.run("reply", {"customer": "Ada"}, label="production")["text"]

``get_prompt`` keeps each answer for ``ttl`` seconds; after that a stale copy is returned at
once while a background thread fetches a fresh one (stale-while-revalidate). ``fallback`` is
used only when there is no cached copy *and* the server cannot be reached: an unknown prompt or
label, or a refused token, is always an error (:class:`ServerError`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from promptwork.errors import PromptworkError

__all__ = ["Client", "ServerError", "Unreachable"]

DEFAULT_TTL_S = 60.0


class ServerError(PromptworkError):
    """The server answered with an error (``status``: 401, 403, 404, 422, 429, ...)."""

    def __init__(self, status: int, detail: str):
        super().__init__(f"HTTP {status}: {detail}")
        self.status, self.detail = status, detail


class Unreachable(PromptworkError):
    """The server could not be reached (and there was no cached copy or fallback)."""


@dataclass
class _Entry:
    value: dict[str, Any]
    fetched: float
    refreshing: bool = False


class Client:
    """A client of one server.

    Args:
        url: The server's base URL (``http://127.0.0.1:8800``).
        token: An API token (``promptwork tokens create``).
        ttl: Seconds a fetched prompt counts as fresh.
        timeout: Seconds allowed per request.
        transport: An httpx transport (tests).
        clock: Monotonic clock (tests).
    """

    def __init__(self, url: str, token: str, *, ttl: float = DEFAULT_TTL_S, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._clock = clock
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {token}"})
        self._cache: dict[tuple[str, str | None, str | None], _Entry] = {}
        self._lock = threading.Lock()
        self._refreshers: list[threading.Thread] = []

    def close(self) -> None:
        """Wait for background refreshes, then close the connections."""
        for thread in list(self._refreshers):
            thread.join(5)
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(f"cannot reach {self._http.base_url}: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("detail"))
            except ValueError:
                detail = response.text[:200]
            raise ServerError(response.status_code, detail)
        data: dict[str, Any] = response.json()
        return data

    @staticmethod
    def _path(name: str, action: str = "") -> str:
        return f"/v1/prompts/{quote(name, safe='/')}" + (f"/{action}" if action else "")

    def _fetch(self, name: str, label: str | None, version: str | None) -> dict[str, Any]:
        params = {k: v for k, v in (("label", label), ("version", version)) if v}
        return self._request("GET", self._path(name), params=params)

    def get_prompt(self, name: str, label: str | None = None, version: str | None = None,
                   fallback: Mapping[str, Any] | str | None = None) -> dict[str, Any]:
        """The prompt (template, messages, params, model, version), cached for ``ttl`` seconds.

        Args:
            name: The prompt.
            label: A label (``production``); ``version``: a version hash. Neither: the newest.
            fallback: Returned (a text is taken as the template) only when nothing is cached
                and the server cannot be reached; marked ``"fallback": True``.

        Raises:
            ServerError: The server refused (unknown prompt or label: 404; bad token: 401...).
            Unreachable: The server cannot be reached, with nothing cached and no fallback.
        """
        key = (name, label, version)
        now = self._clock()
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                if now - entry.fetched >= self.ttl and not entry.refreshing:
                    entry.refreshing = True
                    thread = threading.Thread(target=self._refresh, args=(key,), daemon=True)
                    self._refreshers = [t for t in self._refreshers if t.is_alive()] + [thread]
                    thread.start()
                return entry.value
        try:
            value = self._fetch(name, label, version)
        except Unreachable:
            if fallback is None:
                raise
            base = {"template": fallback} if isinstance(fallback, str) else dict(fallback)
            return {"name": name, "label": label, "version": None, **base, "fallback": True}
        with self._lock:
            self._cache[key] = _Entry(value, self._clock())
        return value

    def _refresh(self, key: tuple[str, str | None, str | None]) -> None:
        """Fetch a fresh copy; on any failure keep the stale one (tried again when next read)."""
        try:
            value = self._fetch(*key)
        except (Unreachable, ServerError):
            with self._lock:
                entry = self._cache.get(key)
                if entry is not None:
                    entry.refreshing = False
            return
        with self._lock:
            self._cache[key] = _Entry(value, self._clock())

    def render(self, name: str, vars: Mapping[str, Any] | None = None, *,
               label: str | None = None, version: str | None = None) -> list[dict[str, Any]]:
        """The prompt's messages rendered on the server with ``vars``."""
        body = {"vars": dict(vars or {}), "label": label, "version": version}
        messages: list[dict[str, Any]] = self._request(
            "POST", self._path(name, "render"), json=body)["messages"]
        return messages

    def run(self, name: str, vars: Mapping[str, Any] | None = None, *, label: str | None = None,
            version: str | None = None, params: Mapping[str, Any] | None = None
            ) -> dict[str, Any]:
        """Run the prompt on its model: text, tokens, latency, cost and the version served."""
        body = {"vars": dict(vars or {}), "label": label, "version": version,
                "params": dict(params or {})}
        return self._request("POST", self._path(name, "run"), json=body)

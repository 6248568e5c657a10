"""The workbench's guard: every request passes through :class:`SecurityMiddleware`.

What it enforces (shared/notes/reliability.md items 20-21):

* **Host**: the ``Host`` header must name the address the server is bound to (``127.0.0.1``,
  ``localhost`` and ``[::1]`` for a loopback bind), with its port. A web page on another site
  that points a DNS name at 127.0.0.1 (DNS rebinding) is refused with 421. Bound to every
  address (``0.0.0.0``), any Host is answered but only with the token.
* **Token**: bound to any non-loopback address, every request needs the access token: an
  ``Authorization: Bearer`` header, the ``pw_token`` cookie, or ``?token=`` once (the answer sets
  the cookie, HttpOnly and SameSite=Strict, and redirects to the same URL without it). Without
  it: 401.
* **Origin and CSRF**: POST, PUT, PATCH and DELETE must come from the app's own origin (the
  ``Origin`` header, else ``Referer``, when the browser sends one) and carry the CSRF token of
  the page: the ``X-CSRF-Token`` header (``app.js`` adds it to htmx requests) or a
  ``csrf_token`` field of a urlencoded form. Otherwise: 403.
* **Headers of every answer**: a strict Content-Security-Policy (scripts only from the app
  itself, no inline script or style, nothing from elsewhere), ``nosniff``, no referrer, no
  framing. There is no CORS middleware, so no ``Access-Control-Allow-Origin`` ever.

Tokens are compared in constant time. The CSRF token is an HMAC of a random per-process secret:
a page from another origin cannot read it (the same-origin policy and the Host check).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

__all__ = ["CSP", "SecurityMiddleware", "WebSettings", "is_loopback"]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

TOKEN_COOKIE = "pw_token"  # noqa: S105 (a cookie name)
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_FORM_BYTES = 1 << 20

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class WebSettings:
    """How the workbench is served.

    Attributes:
        host: The bound address.
        port: The bound port.
        token: The access token; required (and must be set) when ``host`` is not loopback.
        secret: Key of the CSRF token (random per process unless given, e.g. in tests).
        rater: Default name of who rates cells (ratings pages).
    """

    host: str = "127.0.0.1"
    port: int = 8484
    token: str | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    rater: str | None = None

    def __post_init__(self) -> None:
        if not self.loopback and not self.token:
            raise ValueError(f"a token is required to serve on {self.host} (not loopback)")

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def any_host(self) -> bool:
        """Bound to every address (``0.0.0.0``, ``::``): the machine's names are not known, so
        any Host is answered, the token guarding every request (a rebound DNS name carries no
        cookie of ours); state-changing requests must then come from the Host they name."""
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_unspecified
        except ValueError:
            return False

    @property
    def csrf_token(self) -> str:
        """The CSRF token every page embeds (stable for this process)."""
        return hmac.new(self.secret, b"promptwork-csrf", hashlib.sha256).hexdigest()

    def allowed_hosts(self) -> set[str]:
        """Accepted ``Host`` header values (lower case, with the port)."""
        names = {self.host.lower()}
        if self.loopback:
            names |= {"127.0.0.1", "localhost", "[::1]"}
        names = {f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names}
        return {f"{n}:{self.port}" for n in names} | ({*names} if self.port == 80 else set())

    def origins(self) -> set[str]:
        """The app's own origins (scheme, host and port)."""
        return {f"http://{h}" for h in self.allowed_hosts()}


class SecurityMiddleware:
    """ASGI middleware enforcing :class:`WebSettings` (see the module docstring)."""

    def __init__(self, app: ASGIApp, settings: WebSettings):
        self.app = app
        self.settings = settings
        self._hosts = settings.allowed_hosts()
        self._origins = settings.origins()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        host = headers.get("host", "").lower()
        if scope["type"] == "websocket":  # none are served; if one ever is, it is guarded too
            known = host in self._hosts or self.settings.any_host
            origin = headers.get("origin")
            if not known or (self.settings.token and self._token(scope, headers) == "refused") \
                    or (origin is not None and origin.lower() not in
                        self._origins | {f"http://{host}"}):
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        if host not in self._hosts and not self.settings.any_host:
            await _plain(send, 421, "unknown Host header: this server answers only to its "
                                    "own address")
            return
        if self.settings.token:
            verdict = self._token(scope, headers)
            if verdict == "redirect":
                await _redirect_with_cookie(scope, send, self.settings.token)
                return
            if verdict != "ok":
                await _plain(send, 401, "a token is required: open the URL printed by "
                                        "'promptwork ui' (it ends in ?token=...)")
                return
        method = scope.get("method", "GET").upper()
        if method in STATE_CHANGING:
            origin = headers.get("origin")
            if origin is None and headers.get("referer"):
                parts = urlsplit(headers["referer"])
                origin = f"{parts.scheme}://{parts.netloc}"
            own = self._origins | ({f"http://{host}"} if self.settings.any_host else set())
            if origin is not None and origin.lower() not in own:
                await _plain(send, 403, "cross-origin request refused")
                return
            given = headers.get(CSRF_HEADER)
            body = b""
            if given is None and headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"):
                read = await _read_body(receive)
                if read is None:
                    await _plain(send, 413, "form too large")
                    return
                body = read
                fields = dict(parse_qsl(body.decode("utf-8", "replace"),
                                        keep_blank_values=True))
                given = fields.get(CSRF_FIELD)
            if not given or not hmac.compare_digest(given.encode(),
                                                    self.settings.csrf_token.encode()):
                await _plain(send, 403, "missing or wrong CSRF token: reload the page")
                return
            if body:
                receive = _replay(body, receive)
        await self.app(scope, receive, _with_headers(send))

    def _token(self, scope: Scope, headers: dict[str, str]) -> str:
        expected = (self.settings.token or "").encode()
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and hmac.compare_digest(
                auth[7:].strip().encode(), expected):
            return "ok"
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header counts as none
            cookie = SimpleCookie()
        if TOKEN_COOKIE in cookie and hmac.compare_digest(
                cookie[TOKEN_COOKIE].value.encode(), expected):
            return "ok"
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if "token" in query and hmac.compare_digest(query["token"].encode(), expected):
            return "redirect" if scope.get("method", "GET") == "GET" else "ok"
        return "refused"


def security_headers() -> list[tuple[bytes, bytes]]:
    """Headers added to every answer."""
    return [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        # same-origin, not no-referrer: under no-referrer a browser's form post says
        # "Origin: null" (Fetch spec) and would be refused; other sites still get no referrer.
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in security_headers() if k not in names]
            message["headers"] = [
                (k, v) for k, v in message.get("headers", [])
                if k.lower() != b"access-control-allow-origin"
            ] + extra
        await send(message)
    return wrapped


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            *security_headers()]})
    await send({"type": "http.response.body", "body": body})


async def _redirect_with_cookie(scope: Scope, send: Send, token: str) -> None:
    query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                          keep_blank_values=True) if k != "token"]
    # The path as sent (still percent-encoded), with one leading slash: "//host/..." or
    # "/\\host" would be read by the browser as another site.
    raw = scope.get("raw_path") or quote(scope.get("path", "/")).encode()
    path = "/" + raw.decode("latin-1").split("?", 1)[0].lstrip("/\\")
    location = path + (f"?{urlencode(query)}" if query else "")
    cookie = f"{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode()), (b"set-cookie", cookie.encode()),
                            (b"content-length", b"0"), *security_headers()]})
    await send({"type": "http.response.body", "body": b""})


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, upstream: Receive) -> Receive:
    """A receive callable that gives the already read body first, then the client's events."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await upstream()
    return receive

"""A real HTTP server on 127.0.0.1 that imitates OpenAI, Anthropic and Gemini endpoints.

Tests script faults (status, headers, body, delays, hangs, stalled streams, broken bodies) and
read back a log of what the server received, including how many requests were in flight at once.

Endpoints: ``GET /v1/models``, ``POST /v1/chat/completions`` (JSON or SSE), ``POST
/v1/completions`` (JSON or SSE), ``POST /v1/messages`` (Anthropic, JSON or SSE) and ``POST
/v1beta/models/MODEL:generateContent`` / ``:streamGenerateContent`` (Gemini), ``POST
/v1/responses`` (OpenAI Responses API, JSON or SSE) and Azure OpenAI's
``/openai/deployments/NAME/chat/completions`` and ``/openai/responses``, AWS Bedrock's
``POST /model/MODEL_ID/converse`` and Vertex AI's ``.../publishers/google/models/MODEL:...``.

Example::

    server.push(Fault(status=429, headers={"Retry-After": "2"}))
    ...
    assert len(server.requests) == 2
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

from promptwork.providers.base import Provider

HTML_PAGE = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Portal</body></html>"


@dataclass
class Fault:
    """What the server does with one request instead of answering normally.

    Attributes:
        status: HTTP status to answer with (200 keeps the normal body unless ``body`` is set).
        headers: Extra response headers (``Retry-After``...).
        body: Body to send instead of the normal one (a dict is sent as JSON).
        delay: Seconds to wait before answering.
        hang: Never answer (until the server stops).
        stall: Streams: send the first chunk, then go silent.
        truncate: Send only the first half of the normal JSON body (valid HTTP framing).
        html: Answer 200 with an HTML page.
        empty_choices: Answer 200 with ``"choices": []``.
        malformed_sse: Streams: send one good chunk, then a broken ``data:`` line.
        echo_auth: Answer ``status`` (401 unless set) with a body quoting the request's key headers.
        drop: Close the connection without answering.
        events: Streams: send these framed SSE events (``"data: ...\\n\\n"``) instead.
        path: Apply only to requests whose path contains this; others skip this fault.
        text: Answer text for this request.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | bytes | dict[str, Any] | list[Any] | None = None
    delay: float = 0.0
    hang: bool = False
    stall: bool = False
    truncate: bool = False
    html: bool = False
    empty_choices: bool = False
    malformed_sse: bool = False
    echo_auth: bool = False
    drop: bool = False
    events: list[str] | None = None
    path: str | None = None
    text: str | None = None


@dataclass
class LoggedRequest:
    method: str
    path: str
    headers: httpx.Headers  # case-insensitive
    json: Any
    arrived: float  # time.monotonic()


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) overflows on a loaded machine when several clients connect
    # at once (or die mid-request), and the kernel then resets connections: a fault no test
    # scripted.
    request_queue_size = 128


class FakeServer:
    """Start with :meth:`start`, stop with :meth:`stop` (the fixture does both).

    Attributes:
        answer: Text of normal answers.
        delay: Seconds every request waits before being answered.
        requests: Log of received requests, in arrival order.
        max_in_flight: Most requests being handled at the same moment.
    """

    def __init__(self, answer: str = "Hello from the fake server.") -> None:
        self.answer = answer
        #: Writes the answer from the request body instead of ``answer`` (a scripted model).
        self.responder: Callable[[dict[str, Any]], str] | None = None
        self.delay = 0.0
        self.requests: list[LoggedRequest] = []
        self.max_in_flight = 0
        self.in_flight = 0
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``.../v1``)."""
        return self.url + "/v1"

    def push(self, *faults: Fault) -> None:
        """Queue faults; each request takes the first one that applies to its path."""
        with self._lock:
            self._faults.extend(faults)

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path is None or fault.path in path:
                    self._faults.remove(fault)
                    return fault
        return None

    def log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(entry)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def start(self) -> FakeServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _words(text: str) -> list[str]:
    """The answer in stream pieces: words with their trailing spaces."""
    parts = text.split(" ")
    return [p + " " for p in parts[:-1]] + [parts[-1]]


def _prompt_tokens(body: dict[str, Any]) -> int:
    if "messages" in body:
        return sum(len(str(m.get("content", "")).split()) for m in body["messages"])
    if isinstance(body.get("input"), list):  # OpenAI Responses API
        return sum(len(str(m.get("content", "")).split()) for m in body["input"])
    if "contents" in body:
        return sum(len(str(p.get("text", "")).split())
                   for c in body["contents"] for p in c.get("parts", []))
    return len(str(body.get("prompt", "")).split())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the
    # client's delayed ACK add ~40 ms to every answer.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    @property
    def fake(self) -> FakeServer:
        return self.server.fake  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    # -- plumbing ---------------------------------------------------------------------------

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        fake = self.fake
        headers = httpx.Headers(list(self.headers.items()))
        fake.log(LoggedRequest(method, self.path, headers, body, time.monotonic()))
        try:
            self._respond(method, body if isinstance(body, dict) else {})
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            fake.done()

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), "application/json", headers or {})

    def _sse(
        self, events: list[str], cut: int, fault: Fault | None, headers: dict[str, str]
    ) -> None:
        """Send SSE ``events`` (each framed); stall or break after the first ``cut`` events."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True
        for number, event in enumerate(events):
            if number == cut and fault is not None and fault.stall:
                self.fake.stopping.wait(30)
                return
            if number == cut and fault is not None and fault.malformed_sse:
                broken = b'event: content_block_delta\ndata: {"choices": [{"delta": "br\n\n'
                self.wfile.write(broken)
                self.wfile.flush()
                return
            self.wfile.write(event.encode())
            self.wfile.flush()

    def _respond(self, method: str, body: dict[str, Any]) -> None:
        fake = self.fake
        path = urlsplit(self.path).path
        fault = fake.take_fault(self.path)
        delay = fake.delay + (fault.delay if fault else 0.0)
        if delay:
            fake.stopping.wait(delay)
        if fault is not None and fault.hang:
            fake.stopping.wait(30)
            return
        if fault is not None and fault.drop:
            self.close_connection = True
            return
        headers = dict(fault.headers) if fault else {}
        if fault is not None and fault.echo_auth:
            keys = {k: v for k, v in self.headers.items()
                    if k.lower() in ("authorization", "x-api-key", "x-goog-api-key", "api-key")}
            status = fault.status if fault.status >= 400 else 401
            message = f"Incorrect API key provided. Received headers: {keys}"
            self._json(status, {"error": {"message": message, "type": "invalid_request_error",
                                          "code": "invalid_api_key"}}, headers)
            return
        if fault is not None and fault.html:
            self._send(200, HTML_PAGE.encode(), "text/html; charset=utf-8", headers)
            return
        if fault is not None and (fault.body is not None or fault.status >= 400):
            data = fault.body
            if data is None:
                data = {"error": {"message": f"fake error {fault.status}", "type": "fake_error"}}
            if isinstance(data, dict | list):
                self._json(fault.status, data, headers)
            else:
                raw = data.encode() if isinstance(data, str) else data
                self._send(fault.status, raw, "text/plain", headers)
            return
        text = fault.text if fault and fault.text is not None else (
            fake.responder(body) if fake.responder is not None else fake.answer)
        route = self._route(method, path)
        if route is None:
            self._json(404, {"error": {"message": f"no route {method} {path}",
                                       "type": "invalid_request_error"}})
            return
        stream = bool(body.get("stream")) or path.endswith(":streamGenerateContent")
        reply, events, cut = route(body, text, fault)
        if stream and fault is not None and fault.events is not None:
            events = fault.events
        if stream:
            self._sse(events, cut, fault, headers)
        elif fault is not None and fault.truncate:
            encoded = json.dumps(reply).encode()
            self._send(200, encoded[: len(encoded) // 2], "application/json", headers)
        else:
            self._json(200, reply, headers)

    def _route(self, method: str, path: str) -> Any:
        if method == "GET" and path == "/v1/models":
            return lambda body, text, fault: (
                {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}, [], 0)
        if method != "POST":
            return None
        if path == "/v1/chat/completions":
            return _openai_reply
        if path == "/v1/completions":
            return _openai_reply
        if path == "/v1/messages":
            return _anthropic_reply
        if path in ("/v1/responses", "/openai/responses"):
            return _responses_reply
        if path.startswith("/openai/deployments/") and path.endswith("/completions"):
            return _openai_reply  # Azure: /openai/deployments/NAME/[chat/]completions
        if path.startswith("/model/") and path.endswith("/converse"):
            return _bedrock_reply  # AWS Bedrock's Converse API
        if "/publishers/google/models/" in path and (  # Vertex AI
            path.endswith(":generateContent") or path.endswith(":streamGenerateContent")
        ):
            return _gemini_reply
        if path.startswith("/v1beta/models/") and (
            path.endswith(":generateContent") or path.endswith(":streamGenerateContent")
        ):
            return _gemini_reply
        return None


def _limit(body: dict[str, Any], text: str, limit_key: str) -> tuple[str, bool]:
    limit = body.get(limit_key) or body.get("max_completion_tokens")
    words = text.split(" ")
    if isinstance(limit, int) and len(words) > limit:
        return " ".join(words[:limit]), True
    return text, False


Reply = tuple[Any, list[str], int]  # JSON reply, framed SSE events, index of the fault cut


def _openai_reply(body: dict[str, Any], text: str, fault: Fault | None) -> Reply:
    chat = "messages" in body
    text, cut = _limit(body, text, "max_tokens")
    finish = "length" if cut else "stop"
    pieces = _words(text)
    usage = {"prompt_tokens": _prompt_tokens(body), "completion_tokens": len(pieces),
             "total_tokens": _prompt_tokens(body) + len(pieces)}
    model = body.get("model", "fake-model")
    logprobs: Any = None
    if body.get("logprobs"):
        entries: list[dict[str, Any]] = [
            {"token": p, "logprob": -0.5 * (i + 1), "bytes": None, "top_logprobs": []}
            for i, p in enumerate(pieces)
        ]
        logprobs = {"content": entries} if chat else {
            "tokens": pieces, "token_logprobs": [e["logprob"] for e in entries],
            "top_logprobs": None, "text_offset": []}
    if chat:
        choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text},
                                  "finish_reason": finish, "logprobs": logprobs}
    else:
        choice = {"index": 0, "text": text, "finish_reason": finish, "logprobs": logprobs}
    empty = fault is not None and fault.empty_choices
    reply = {"id": "cmpl-fake", "object": "chat.completion" if chat else "text_completion",
             "created": 1700000000, "model": model, "choices": [] if empty else [choice],
             "usage": usage}
    events = []
    for i, piece in enumerate(pieces):
        lp = None
        if logprobs is not None and chat:
            lp = {"content": [logprobs["content"][i]]}
        delta: dict[str, Any] = (
            {"index": 0, "delta": {"content": piece}, "finish_reason": None, "logprobs": lp}
            if chat else {"index": 0, "text": piece, "finish_reason": None, "logprobs": lp})
        events.append({"id": "cmpl-fake", "model": model, "choices": [delta]})
    last: dict[str, Any] = ({"index": 0, "delta": {}, "finish_reason": finish} if chat
                            else {"index": 0, "text": "", "finish_reason": finish})
    events.append({"id": "cmpl-fake", "model": model, "choices": [last]})
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append({"id": "cmpl-fake", "model": model, "choices": [], "usage": usage})
    framed = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
    return reply, framed, 1


def _anthropic_reply(body: dict[str, Any], text: str, fault: Fault | None) -> Reply:
    text, cut = _limit(body, text, "max_tokens")
    pieces = _words(text)
    model = body.get("model", "claude-fake")
    usage = {"input_tokens": _prompt_tokens(body), "output_tokens": len(pieces)}
    stop = "max_tokens" if cut else "end_turn"
    reply = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
             "content": [{"type": "text", "text": text}], "stop_reason": stop,
             "stop_sequence": None, "usage": usage}
    start = {**reply, "content": [], "stop_reason": None,
             "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1}}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
    ]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                         "delta": {"type": "text_delta", "text": p}})
               for p in pieces]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": {"output_tokens": len(pieces)}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    framed = [f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events]
    return reply, framed, 3  # faults hit after the first text delta


def _gemini_reply(body: dict[str, Any], text: str, fault: Fault | None) -> Reply:
    config = body.get("generationConfig") or {}
    text, cut = _limit(config, text, "maxOutputTokens")
    pieces = _words(text)
    finish = "MAX_TOKENS" if cut else "STOP"
    usage = {"promptTokenCount": _prompt_tokens(body), "candidatesTokenCount": len(pieces),
             "totalTokenCount": _prompt_tokens(body) + len(pieces)}
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish,
        "index": 0}
    if config.get("responseLogprobs"):
        candidate["logprobsResult"] = {"chosenCandidates": [
            {"token": p, "logProbability": -0.25 * (i + 1)} for i, p in enumerate(pieces)]}
    empty = fault is not None and fault.empty_choices
    reply = {"candidates": [] if empty else [candidate], "usageMetadata": usage,
             "modelVersion": "gemini-fake"}
    events = []
    for i, piece in enumerate(pieces):
        part: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": piece}]},
                                "index": 0}
        if i == len(pieces) - 1:
            part["finishReason"] = finish
        events.append({"candidates": [part], "usageMetadata": usage,
                       "modelVersion": "gemini-fake"})
    return reply, [f"data: {json.dumps(e)}\r\n\r\n" for e in events], 1


def _responses_reply(body: dict[str, Any], text: str, fault: Fault | None) -> Reply:
    """OpenAI's Responses API: a reasoning item, then the message; SSE events when streaming."""
    text, cut = _limit(body, text, "max_output_tokens")
    pieces = _words(text)
    usage = {"input_tokens": _prompt_tokens(body), "output_tokens": len(pieces),
             "total_tokens": _prompt_tokens(body) + len(pieces)}
    message = {"type": "message", "id": "msg_fake", "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": text, "annotations": []}]}
    empty = fault is not None and fault.empty_choices
    reply = {"id": "resp_fake", "object": "response", "created_at": 1700000000,
             "model": body.get("model", "fake-model"),
             "status": "incomplete" if cut else "completed", "error": None,
             "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
             "output": [] if empty else [{"type": "reasoning", "id": "rs_fake", "summary": []},
                                         message],
             "usage": usage}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "sequence_number": 0,
         "response": {**reply, "status": "in_progress", "output": [], "usage": None}}]
    events += [{"type": "response.output_text.delta", "sequence_number": i + 1,
                "item_id": "msg_fake", "output_index": 1, "content_index": 0, "delta": p}
               for i, p in enumerate(pieces)]
    done = "response.incomplete" if cut else "response.completed"
    events.append({"type": done, "sequence_number": len(pieces) + 1, "response": reply})
    framed = [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events]
    return reply, framed, 2


def _bedrock_reply(body: dict[str, Any], text: str, fault: Fault | None) -> Reply:
    """AWS Bedrock's Converse API (no streaming)."""
    text, cut = _limit(body.get("inferenceConfig") or {}, text, "maxTokens")
    words = sum(len(str(part.get("text", "")).split())
                for m in body.get("messages", []) for part in m.get("content", []))
    usage = {"inputTokens": words, "outputTokens": len(_words(text)),
             "totalTokens": words + len(_words(text))}
    reply = {"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
             "stopReason": "max_tokens" if cut else "end_turn", "usage": usage,
             "metrics": {"latencyMs": 1}}
    return reply, [], 0


#: Builds a provider pointed at the fake server (the `make` fixture in tests/providers).
Make = Callable[..., Provider]

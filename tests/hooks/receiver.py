"""A real webhook receiver on 127.0.0.1: checks each delivery's signature and answers the next
scripted status (then 200)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from promptwork.hooks.signing import verify


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    valid: bool
    answered: int


@dataclass
class Receiver:
    secret: str = ""
    script: deque[int] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                valid = verify(outer.secret, headers.get("x-promptwork-signature", ""), body)
                status = outer.script.popleft() if outer.script else 200
                if not valid:
                    status = 401
                outer.received.append(Received(headers, body, valid, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

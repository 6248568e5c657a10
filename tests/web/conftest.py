"""Fixtures of the workbench tests: a store with runs made by the echo and scripted providers
(hostile text in answers, vars, labels and descriptions), and the app over it."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

import promptwork as pw
from evalkit import write_suite
from promptwork.errors import ProviderError
from promptwork.providers.scripted import ScriptedProvider
from promptwork.web.app import create_app
from promptwork.web.security import WebSettings

#: The report tests' corpus, plus a CSS url() and a remote Markdown image.
HOSTILE = [
    "<script>document.title='pwned'</script>",
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">",
    "<svg onload=\"document.body.setAttribute('data-pwned','2')\">",
    "<a href=\"javascript:document.body.setAttribute('data-pwned','3')\">x</a>",
    "</pre></details></td></tr></table><script>document.title='pwned2'</script>",
    "\"'><style>@import 'http://127.0.0.1:{port}/css';</style>",
]


def hostile(port: int) -> list[str]:
    """The corpus with URLs that point at a listening local server on ``port``."""
    return [p.replace("{port}", str(port)) for p in HOSTILE] + [
        f"<img src=\"http://127.0.0.1:{port}/img\">",
        f"![tracker](http://127.0.0.1:{port}/markdown)",
        f"<div style=\"background:url(http://127.0.0.1:{port}/style)\">y</div>",
        f"<link rel=stylesheet href=\"http://127.0.0.1:{port}/link\">",
    ]


def make_store(folder: Path, trap_port: int = 9) -> tuple[str, list[str]]:
    """Two runs in ``folder``'s store: a plain one and a hostile one (newest). Returns the
    store URL and the run ids, oldest first."""
    payloads = hostile(trap_port)
    plain = write_suite(folder / "plain", {
        "description": "plain suite",
        "prompts": [{"id": "Say {{ word }}", "label": "say"},
                    {"id": "Shout {{ word }}!", "label": "shout"}],
        "providers": ["echo"],
        "tests": [{"vars": {"word": w}, "assert": [{"type": "icontains", "value": "apple",
                                                     "metric": "fruit"}]}
                  for w in ("apple", "banana", "cherry apple", "date")],
    })
    db = f"sqlite:///{folder / 'store.db'}"
    first = pw.evaluate(plain, db=db, config=pw.RunConfig(repeat=2))
    evil = write_suite(folder / "evil", {
        "description": payloads[0],
        "prompts": [{"id": "{{ q }}", "label": payloads[1]},
                    {"id": "Q: {{ q }}", "label": payloads[2]}],
        "providers": ["echo", {"id": "scripted", "label": payloads[3]}],
        "tests": [{"vars": {"q": p}, "description": p if i % 2 else None,
                   "assert": [{"type": "contains", "value": "<"}]}
                  for i, p in enumerate(payloads)],
    })
    errors: dict[str, Any] = {payloads[4]: ProviderError(payloads[4], "server")}
    script = ScriptedProvider({**errors, "*": payloads[5] + payloads[7]}, label=payloads[3])
    second = pw.evaluate(evil, db=db, providers={1: script})
    return db, [first.id, second.id]


@pytest.fixture(scope="module")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    return make_store(tmp_path_factory.mktemp("web"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app served by uvicorn on 127.0.0.1 in a thread."""

    def __init__(self, app: FastAPI, host: str, port: int):
        self.host, self.port = host, port
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the workbench did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def live(web_store: tuple[str, list[str]]) -> Iterator[LiveServer]:
    port = free_port()
    app = create_app(web_store[0], WebSettings(port=port))
    with LiveServer(app, "127.0.0.1", port) as server:
        yield server


@contextlib.contextmanager
def launched_chromium() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (skips with a reason where either is missing).

    Open it after the store is made: Playwright's sync API runs an event loop in this thread,
    in which the synchronous ``evaluate()`` that makes a store refuses to run.
    """
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium on this machine (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()

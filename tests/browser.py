"""Headless Chromium for the report tests: find it, count requests a page makes, dump its DOM."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def find_browser() -> str:
    """The Chromium binary; skips the test when there is none (.ci/run installs it)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on this machine (.ci/run installs it); the static checks cover "
                "escaping, the CSP and the absence of scripts and remote references")


@contextmanager
def request_counter() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every path requested: yields (base URL, paths)."""
    hits: list[str] = []

    class Counter(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()


def dump_dom(browser: str, page: Path, profile: Path) -> str:
    """The DOM of ``page`` after headless Chromium loaded it."""
    return subprocess.run(
        [browser, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout

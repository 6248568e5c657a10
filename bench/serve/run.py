"""bench/serve: the REST API's throughput and latency against a bare FastAPI endpoint, and
search over a 10,000-prompt library.

Usage::

    nice -n 10 .venv/bin/python bench/serve/run.py --seconds 10 --clients 32 --rounds 3

Each server runs alone in its own process (uvicorn, one worker, on 127.0.0.1); one load process
drives 32 concurrent keep-alive clients (httpx, asyncio) for a bounded time against:

1. ``bare``: a FastAPI app whose one endpoint returns a constant (no store, no auth);
2. ``get``: ``GET /v1/prompts/reply?label=production`` (token check, rate limiter, label lookup,
   parsed-version cache);
3. ``render``: ``POST /v1/prompts/reply/render`` with two variables.

Then search: 10,000 prompts recorded in the library, 200 two-word queries through
:func:`promptwork.library.search` (the library's Python API) and 100 through
``GET /v1/search``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

_VOCABULARY = """refund shipping invoice kettle warranty tone apology summary translate classify
sentiment extract orchard billing support escalate policy brand legal medical finance travel
recipe garden poem haiku code review sql"""
WORDS = _VOCABULARY.split()
PROMPT = """---
name: reply
model: echo
---
system:
You answer for {{ brand }} kindly.

user:
{{ customer }} asks about the kettle.
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_child(kind: str, db: str, port: int) -> None:
    """Run one server (in the child process)."""
    import uvicorn
    from fastapi import FastAPI

    if kind == "bare":
        app = FastAPI()

        @app.get("/const")
        async def const() -> dict[str, str]:
            return {"name": "reply", "template": "constant"}
    else:
        from promptwork.serve.app import ServeSettings, create_app

        app = create_app(db, ServeSettings(rate=1e9, burst=10**9, deliver_every_s=None))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_library(folder: Path, n: int) -> tuple[str, str]:
    """A store with ``reply`` (labelled production) and ``n`` other prompts; (url, token)."""
    from datetime import UTC, datetime

    from promptwork.store import Store
    from promptwork.store.library import FileVersion, LabelRow, mirror_labels, record_versions
    from promptwork.store.tokens import create_token

    store = Store(f"sqlite:///{folder / 'bench.db'}")
    rng = random.Random(7)
    files = [FileVersion("reply", "reply.prompt", PROMPT, sha(PROMPT), "Reply kindly",
                         ("support",), PROMPT)]
    for i in range(n):
        words = " ".join(rng.choice(WORDS) for _ in range(40))
        text = f"Prompt {i}: {words} {{{{ input }}}}"
        files.append(FileVersion(f"p{i:05d}", f"lib/p{i:05d}.txt", text, sha(text),
                                 f"about {rng.choice(WORDS)}", (rng.choice(WORDS),), text))
    for start in range(0, len(files), 1000):
        record_versions(store, files[start:start + 1000])
    mirror_labels(store, [LabelRow("reply", "production", sha(PROMPT), "reply.prompt", "bench",
                                   datetime.now(UTC))])
    return store.url, create_token(store.engine, "read", "bench")[1]


async def load(url: str, method: str, path: str, body: Mapping[str, object] | None,
               token: str, clients: int, seconds: float) -> tuple[float, list[float], int]:
    """Requests/s, latencies (ms) and non-200 answers of ``clients`` keep-alive connections
    sending one request after another for ``seconds``.

    A minimal HTTP/1.1 client on asyncio streams: a full client library (httpx) costs more CPU
    per request than the servers measured, and would measure itself.
    """
    host, port = url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode() if body is not None else b""
    head = (f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode()
    request = head + payload
    latencies: list[float] = []
    errors = 0

    async def one(stop: float) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append((time.perf_counter() - t0) * 1000)
                if b" 200 " not in status_line:
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(one(time.perf_counter() + 0.5) for _ in range(clients)))  # warm-up
    latencies.clear()
    t0 = time.perf_counter()
    await asyncio.gather(*(one(t0 + seconds) for _ in range(clients)))
    elapsed = time.perf_counter() - t0
    return len(latencies) / elapsed, latencies, errors


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def started(kind: str, db: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, db, str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/")
            return proc, url
        except httpx.ConnectError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the {kind} server did not start") from None
            time.sleep(0.1)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        serve_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--library", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        db, token = make_library(Path(tmp), args.library)
        print(f"library of {args.library + 1} prompts recorded in {time.perf_counter() - t0:.1f} s")
        cases = [("bare", "GET", "/const", None),
                 ("get", "GET", "/v1/prompts/reply?label=production", None),
                 ("render", "POST", "/v1/prompts/reply/render",
                  {"label": "production", "vars": {"brand": "Hearth", "customer": "Ada"}})]
        results: dict[str, list[tuple[float, list[float], int]]] = {c[0]: [] for c in cases}
        for _ in range(args.rounds):  # interleaved: a busy moment hits every side alike
            for name, method, path, body in cases:
                proc, url = started("bare" if name == "bare" else "app", db)
                try:
                    results[name].append(asyncio.run(load(url, method, path, body, token,
                                                          args.clients, args.seconds)))
                finally:
                    proc.terminate()
                    proc.wait(20)
        bare = statistics.median(r[0] for r in results["bare"])
        for name, runs in results.items():
            rps = statistics.median(r[0] for r in runs)
            lat = [x for r in runs for x in r[1]]
            share = f"{rps / bare:.0%} of bare" if name != "bare" else ""
            print(f"{name:7s} {rps:8.0f} req/s (median of {len(runs)}: "
                  f"{', '.join(f'{r[0]:.0f}' for r in runs)})  p50 {pct(lat, 0.5):6.1f} ms  "
                  f"p99 {pct(lat, 0.99):6.1f} ms  errors {sum(r[2] for r in runs)}  {share}")
        search(db, token)


def search(db: str, token: str) -> None:
    from promptwork.library import search as library_search
    from promptwork.store import Store

    store = Store(db)
    rng = random.Random(11)
    queries = [f"{rng.choice(WORDS)} {rng.choice(WORDS)}" for _ in range(200)]
    times, hits = [], 0
    for q in queries:
        t0 = time.perf_counter()
        hits += len(library_search(q, store=store, limit=20))
        times.append((time.perf_counter() - t0) * 1000)
    print(f"search (promptwork.library.search, 20 hits) p50 {pct(times, 0.5):.1f} ms  "
          f"p95 {pct(times, 0.95):.1f} ms  max {max(times):.1f} ms  ({hits} hits)")
    proc, url = started("app", db)
    try:
        http_times = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
            for q in queries[:100]:
                t0 = time.perf_counter()
                assert http.get("/v1/search", params={"q": q}).status_code == 200
                http_times.append((time.perf_counter() - t0) * 1000)
    finally:
        proc.terminate()
        proc.wait(20)
    print(f"search (GET /v1/search, 1 client) p50 {pct(http_times, 0.5):.1f} ms  "
          f"p95 {pct(http_times, 0.95):.1f} ms")
    print(f"(machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()

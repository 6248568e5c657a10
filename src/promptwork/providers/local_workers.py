"""Worker processes for batched embedded decoding.

On small CPUs, several processes with one thread each beat one process with several threads
(measured on 2 cores: 2 x 1 thread was 10-20% faster than 1 x 2 threads), because single-token
decode steps do not parallelise well across threads. Each worker loads the model file itself
(the OS shares the memory-mapped weights) and runs a :class:`BatchDecoder` on its share of a
group; the parent tokenizes and splits the group into contiguous chunks, so each worker still
shares its chunk's prompt prefix.

Fast decoding (:mod:`promptwork.providers.local_fast`) has pools of its own: their processes
load the model with llama.cpp's stock kernels (which it reads once per process) and decode with
:class:`~promptwork.providers.local_fast.FastBatchDecoder`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict
from multiprocessing.connection import Connection
from typing import Any

from promptwork.errors import ProviderError
from promptwork.providers.local_batch import BatchDecoder, Request, Result
from promptwork.types import Params


def _serve(conn: Connection, model_path: str, width: int, n_ctx: int, fast: bool = False,
           threads: int = 1) -> None:
    """Worker main loop: load the model once, then decode chunks until told to stop."""
    from promptwork.providers.local_models import load_llama

    llama = load_llama(model_path, stock=fast, n_ctx=512, n_threads=threads,
                       n_threads_batch=threads)
    if fast:
        from promptwork.providers.local_fast import FastBatchDecoder

        decoder: BatchDecoder = FastBatchDecoder(llama, width, n_ctx, threads)
    else:
        decoder = BatchDecoder(llama, width, n_ctx, threads)
    # A parent that was killed (or interrupted) closes its end: the worker then just stops,
    # without a BrokenPipeError traceback on the user's terminal.
    with contextlib.suppress(OSError):
        conn.send("ready")
        while True:
            try:
                message = conn.recv()
            except EOFError:  # the parent process is gone (killed): nothing left to answer
                break
            if message is None:
                break
            requests = [Request(tokens=r["tokens"], params=Params.model_validate(r["params"]),
                                max_tokens=r["max_tokens"], stops=tuple(r["stops"]),
                                seed=r["seed"]) for r in message]
            results = decoder.run(requests)
            conn.send([_encode(r) for r in results])
    decoder.close()
    with contextlib.suppress(OSError):
        conn.close()


def _encode(result: Result) -> dict[str, Any]:
    data = asdict(result)
    error = result.error
    data["error"] = None if error is None else {"message": error.message, "kind": error.kind}
    return data


def _decode(data: dict[str, Any]) -> Result:
    error = data.pop("error")
    result = Result(**data)
    if error is not None:
        result.error = ProviderError(error["message"], kind=error["kind"])
    return result


class WorkerPool:
    """``n`` decoding processes with ``threads`` threads each (batch invariant, or with the stock
    kernels when ``fast``)."""

    def __init__(self, n: int, model_path: str, width: int, n_ctx: int, fast: bool = False,
                 threads: int = 1):
        env = None
        if fast:  # llama.cpp's default (tiled products on), not this process's setting
            env = {k: v for k, v in os.environ.items() if k != "GGML_CPU_TILED_MM"}
        # Fresh interpreters (never fork a process holding llama.cpp threads), started as
        # `python -m` rather than through multiprocessing's spawn, which would re-import the
        # user's main script (and fail in scripts without an `if __name__ == "__main__"` guard).
        self._conns: list[Connection] = []
        self._procs: list[subprocess.Popen[bytes]] = []
        for _ in range(n):
            parent, child = socket.socketpair()
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "promptwork.providers.local_workers",
                 str(child.fileno()), model_path, str(width), str(n_ctx), str(int(fast)),
                 str(threads)],
                pass_fds=[child.fileno()], stdin=subprocess.DEVNULL, env=env)
            child.close()
            self._conns.append(Connection(parent.detach()))
            self._procs.append(proc)
        for conn in self._conns:
            try:
                ready = conn.recv()
            except (EOFError, OSError):
                ready = None
            if ready != "ready":
                raise ProviderError("a decoding worker failed to start", kind="other")

    @property
    def size(self) -> int:
        return len(self._conns)

    def run(self, requests: Sequence[Request]) -> list[Result]:
        """Split ``requests`` into contiguous chunks, one per worker, and decode them."""
        n = min(self.size, len(requests))
        bounds = [round(i * len(requests) / n) for i in range(n + 1)]
        results: list[Result] = []
        try:
            for i in range(n):
                chunk = requests[bounds[i]:bounds[i + 1]]
                self._conns[i].send([{"tokens": r.tokens,
                                      "params": r.params.model_dump(mode="json"),
                                      "max_tokens": r.max_tokens, "stops": list(r.stops),
                                      "seed": r.seed} for r in chunk])
            for i in range(n):
                results.extend(_decode(d) for d in self._conns[i].recv())
        except (EOFError, OSError):  # BrokenPipeError, ConnectionResetError: a killed worker
            raise ProviderError("a decoding worker died", kind="other") from None
        return results

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError):  # a worker that already died
                conn.send(None)
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._conns.clear()
        self._procs.clear()


if __name__ == "__main__":
    # Ctrl-C reaches the whole process group: the parent handles it and closes its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fast, threads = (sys.argv[5] == "1", int(sys.argv[6])) if len(sys.argv) > 6 else (False, 1)
    _serve(Connection(int(sys.argv[1])), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), fast,
           threads)

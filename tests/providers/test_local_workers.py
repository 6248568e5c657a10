"""Decoding workers stop quietly when the other side is gone (no BrokenPipeError traceback)."""

from __future__ import annotations

import socket
from multiprocessing.connection import Connection
from typing import Any

import pytest

from promptwork.errors import ProviderError
from promptwork.providers import local_models, local_workers
from promptwork.providers.local_batch import Request
from promptwork.types import Params


class _FakeDecoder:
    def __init__(self, *args: Any) -> None:
        self.closed = False

    def run(self, requests: list[Request]) -> list[Any]:
        return []

    def close(self) -> None:
        self.closed = True


def _pair() -> tuple[Connection, Connection]:
    a, b = socket.socketpair()
    return Connection(a.detach()), Connection(b.detach())


def test_worker_returns_quietly_when_the_parent_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_models, "load_llama", lambda *a, **k: object())
    decoders: list[_FakeDecoder] = []

    def make(*args: Any) -> _FakeDecoder:
        decoders.append(_FakeDecoder())
        return decoders[-1]

    monkeypatch.setattr(local_workers, "BatchDecoder", make)
    parent, child = _pair()
    parent.send([])  # one chunk to decode; the parent dies before reading the answer
    parent.close()
    local_workers._serve(child, "model.gguf", 4, 512)  # must not raise BrokenPipeError
    assert decoders and decoders[0].closed


def test_pool_reports_a_killed_worker_as_a_provider_error() -> None:
    pool = object.__new__(local_workers.WorkerPool)
    parent, child = _pair()
    child.close()  # the worker was killed
    pool._conns = [parent]
    pool._procs = []
    request = Request(tokens=[1, 2], params=Params(), max_tokens=4, stops=(), seed=0)
    with pytest.raises(ProviderError, match="worker died"):
        pool.run([request])

"""The Python client against a real server: the in-process cache (60 s TTL, stale while
revalidating), the fallback (only with nothing cached and no server), render and run."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.client import Client, ServerError, Unreachable
from web.conftest import free_port

from .conftest import REPLY_V1, REPLY_V2, Served, move_label, serve, sha

pytestmark = pytest.mark.server


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cached_then_stale_while_revalidate(served: Served) -> None:
    clock = Clock()
    with Client(served.url, served.tokens["read"], clock=clock) as client:
        assert client.get_prompt("reply", label="production")["version"] == sha(REPLY_V1)
        move_label(served.store, "reply", "production", sha(REPLY_V2))
        clock.now += 59
        assert client.get_prompt("reply", label="production")["version"] == sha(REPLY_V1)
        clock.now += 2  # stale: the old copy at once, a fresh one fetched behind it
        assert client.get_prompt("reply", label="production")["version"] == sha(REPLY_V1)
        for thread in client._refreshers:
            thread.join(10)
        assert client.get_prompt("reply", label="production")["version"] == sha(REPLY_V2)


def test_unknown_label_is_an_error_even_with_a_fallback(served: Served) -> None:
    with Client(served.url, served.tokens["read"]) as client:
        with pytest.raises(ServerError) as caught:
            client.get_prompt("reply", label="canary", fallback="Hi {{ name }}")
        assert caught.value.status == 404
    with Client(served.url, "pw_wrong") as client, pytest.raises(ServerError) as refused:
        client.get_prompt("reply", fallback="Hi")
    assert refused.value.status == 401


def test_fallback_only_when_the_server_cannot_be_reached() -> None:
    with Client(f"http://127.0.0.1:{free_port()}", "pw_x", timeout=5) as client:
        got = client.get_prompt("reply", label="production", fallback="Hi {{ name }}")
        assert got["fallback"] is True and got["template"] == "Hi {{ name }}"
        with pytest.raises(Unreachable):
            client.get_prompt("reply", label="production")


def test_a_cached_copy_outlives_the_server(tmp_path: Path) -> None:
    clock = Clock()
    running = serve(tmp_path)
    s = next(running)
    client = Client(s.url, s.tokens["read"], clock=clock, timeout=5)
    first = client.get_prompt("greet")
    for _ in running:  # the server stops
        pass
    clock.now += 3600  # stale, and the refresh fails: the stale copy stays
    assert client.get_prompt("greet", fallback="unused") == first
    for thread in client._refreshers:
        thread.join(10)
    assert client.get_prompt("greet", fallback="unused") == first
    client.close()


def test_render_and_run(served: Served) -> None:
    with Client(served.url, served.tokens["run"]) as client:
        messages = client.render("reply", {"customer": "Ada", "question": "Why?"},
                                 label="staging")
        assert messages[0]["content"] == "You answer briefly."
        answer = client.run("reply", {"customer": "Ada", "question": "Why?"},
                            label="production")
        assert answer["version"] == sha(REPLY_V1) and "Ada asks: Why?" in answer["text"]
        with pytest.raises(ServerError) as bad:
            client.render("reply", {"customer": "Ada"})
        assert bad.value.status == 422 and "question" in bad.value.detail

"""Review fixes of the workbench's guards (issue 19 section 4): regular-expression search that
cannot run away, local redirects only, run ids taken literally, the middleware on every kind of
connection, and no API key in a playground answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import promptwork as pw
from evalkit import write_suite
from fakeserver import FakeServer, Fault
from promptwork.errors import ConfigError
from promptwork.providers.scripted import ScriptedProvider
from promptwork.store import Store
from promptwork.store import matrix as matrix_queries
from promptwork.store.matrix import MatrixFilter, page_of_tests
from promptwork.web.app import create_app
from promptwork.web.security import SecurityMiddleware, WebSettings
from web.conftest import make_store

KEY = "sk-test-Abcdefghijklmnopqrstuvwxyz0123456789"


@pytest.fixture(scope="module")
def slow_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A run whose answers are the text a nested quantifier backtracks on for ever."""
    folder = tmp_path_factory.mktemp("redos")
    suite = write_suite(folder, {
        "prompts": ["{{ q }}"], "providers": ["scripted"],
        "tests": [{"vars": {"q": str(i)}} for i in range(4)],
    })
    db = f"sqlite:///{folder / 'store.db'}"
    run = pw.evaluate(suite, db=db, providers={0: ScriptedProvider({"*": "a" * 24 + "!"})})
    return db, run.id


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    return make_store(tmp_path_factory.mktemp("hardening"))


def client_of(db: str, **settings: Any) -> TestClient:
    app = create_app(db, WebSettings(port=8484, **settings))
    client = TestClient(app, base_url="http://127.0.0.1:8484", follow_redirects=False)
    client.headers["X-CSRF-Token"] = app.state.settings.csrf_token
    return client


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a|aa)*!x", "(a*)*b", r"(a)\1+x",
                                     "a*a*a*a*b"])
def test_runaway_regular_expressions_are_refused_fast(slow_store: tuple[str, str],
                                                      pattern: str) -> None:
    db, run_id = slow_store
    with client_of(db) as client:
        start = time.monotonic()
        answer = client.get(f"/runs/{run_id}", params={"q": pattern, "re": "1"})
        took = time.monotonic() - start
    assert answer.status_code == 400, answer.text[:300]
    assert took < 2
    assert "search pattern" in answer.text or "backreferences" in answer.text


def test_useful_regular_expressions_still_search(slow_store: tuple[str, str]) -> None:
    db, run_id = slow_store
    store = Store(db)
    try:
        for pattern in ("^a+!$", "a{3}.*!", "(?:x|a)!", "[a-z]+!"):
            tests, _ = page_of_tests(store, run_id, MatrixFilter(search=pattern, regex=True))
            assert tests == [0, 1, 2, 3], pattern
        tests, _ = page_of_tests(store, run_id, MatrixFilter(search="^b", regex=True))
        assert tests == []
    finally:
        store.close()


def test_a_regular_expression_search_stops_at_its_deadline(
        slow_store: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    db, run_id = slow_store
    store = Store(db)
    try:
        monkeypatch.setattr(matrix_queries, "SEARCH_TIMEOUT_S", 0.0)
        with pytest.raises(ConfigError, match="took over 0 s"):
            page_of_tests(store, run_id, MatrixFilter(search="a+!", regex=True))
        monkeypatch.setattr(matrix_queries, "SEARCH_TIMEOUT_S", 10.0)
        # the connection went back to the pool without the handler: the next search runs
        tests, _ = page_of_tests(store, run_id, MatrixFilter(search="a+!", regex=True))
        assert tests == [0, 1, 2, 3]
    finally:
        store.close()


@pytest.mark.parametrize("target", ["/\t/evil.example/", "/\n/evil.example", "/ /evil.example",
                                    "/\\evil.example", "https://evil.example/"])
def test_after_setting_the_rater_only_local_paths(two_runs: tuple[str, list[str]],
                                                  target: str) -> None:
    with client_of(two_runs[0]) as client:
        answer = client.post("/rater", data={"name": "Ada", "next": target})
    assert answer.status_code == 303
    # what a browser makes of the Location: tabs and newlines dropped, backslashes as slashes
    seen = answer.headers["location"].replace("\t", "").replace("\n", "").replace("\\", "/")
    assert seen.startswith("/") and not seen.startswith("//") and "://" not in seen, seen


@pytest.mark.parametrize("raw", [b"//evil.example/x", b"/\\evil.example/x", b"///evil.example"])
def test_the_token_redirect_stays_on_this_site(raw: bytes) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the redirect answers first")

    guarded = SecurityMiddleware(app, WebSettings(host="10.1.2.3", port=8484, token="s3cret"))
    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": raw.decode(), "raw_path": raw,
             "query_string": b"token=s3cret&page=2", "headers": [(b"host", b"10.1.2.3:8484")]}
    asyncio.run(guarded(scope, receive, send))
    assert sent[0]["status"] == 303
    location = dict(sent[0]["headers"])[b"location"].decode()
    seen = location.replace("\\", "/")
    assert seen.startswith("/") and not seen.startswith("//"), location
    assert location.endswith("?page=2") and "s3cret" not in location


def test_run_ids_are_not_like_patterns(two_runs: tuple[str, list[str]]) -> None:
    db, ids = two_runs
    with client_of(db) as client:
        assert client.get("/runs/%25").status_code == 404
        assert client.get("/runs/" + "_" * len(ids[0])).status_code == 404
        assert client.get(f"/runs/{ids[0][:-2]}").status_code == 200  # a real prefix works
        listed = client.get("/runs", params={"q": "%"}).text
    assert ids[0] not in listed and ids[1] not in listed


def test_search_of_the_run_list_takes_wildcards_literally(tmp_path: Path) -> None:
    from promptwork.store.queries import run_overviews
    suite = write_suite(tmp_path, {"description": "100% recall_check", "prompts": ["{{ q }}"],
                                   "providers": ["echo"], "tests": [{"vars": {"q": "x"}}]})
    db = f"sqlite:///{tmp_path / 'store.db'}"
    pw.evaluate(suite, db=db)
    store = Store(db)
    try:
        assert len(run_overviews(store, 10, search="100% recall_")) == 1
        assert run_overviews(store, 10, search="100x") == []
        assert run_overviews(store, 10, search="recallxcheck") == []
    finally:
        store.close()


def test_websocket_connections_pass_the_host_and_token_checks() -> None:
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["type"])
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1000})

    guarded = SecurityMiddleware(app, WebSettings(port=8484))
    client = TestClient(guarded, base_url="http://127.0.0.1:8484")
    with pytest.raises(Exception), client.websocket_connect(
            "/ws", headers={"host": "rebound.example:8484"}):
        pass
    assert "websocket" not in reached
    with client.websocket_connect("/ws", headers={"host": "127.0.0.1:8484"}):
        pass
    assert reached == ["websocket"]


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch, fake_server: FakeServer) -> Iterator[FakeServer]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    yield fake_server


def test_a_server_error_echoing_the_key_never_reaches_the_page(keyed: FakeServer,
                                                               tmp_path: Path) -> None:
    keyed.push(Fault(status=400, echo_auth=True), Fault(status=400, echo_auth=True))
    form = {"source": "Hello {{ who }}", "kind": ".prompt", "var:who": "Ada",
            "other_models": "openai:chat:gpt-4o-mini"}
    with client_of(f"sqlite:///{tmp_path / 'store.db'}") as client:
        streamed = client.post("/playground/stream", data=form).text
        shown = client.post("/playground/run", data=form).text
    assert len(keyed.requests) == 2
    assert keyed.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    for text in (streamed, shown):
        assert '"type": "done"' in text or "error" in text
        assert "[REDACTED]" in text, text[-600:]
        assert KEY not in text and KEY[8:30] not in text


def test_postgres_store_search_rename_and_delete(tmp_path: Path, request: pytest.FixtureRequest,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The same guarded flows on PostgreSQL (skipped where no server can be started)."""
    pytest.importorskip("psycopg")
    from store import test_postgres as pg  # the throw-away cluster fixtures

    if pg._binaries() is None:
        pytest.skip(pg.NOT_INSTALLED)
    monkeypatch.setenv("PROMPTWORK_HOME", str(tmp_path / "home"))
    server = pg.postgres_server.__wrapped__()  # type: ignore[attr-defined]
    url = next(server)
    try:
        suite = write_suite(tmp_path, {"prompts": ["{{ q }}"], "providers": ["scripted"],
                                       "tests": [{"vars": {"q": str(i)}} for i in range(3)]})
        run = pw.evaluate(suite, db=url, providers={0: ScriptedProvider({"*": "a" * 20 + "!"})})
        store = Store(url)
        try:
            tests, _ = page_of_tests(store, run.id, MatrixFilter(search="^a+!$", regex=True))
            assert tests == [0, 1, 2]
            with pytest.raises(ConfigError, match="nests quantifiers"):
                page_of_tests(store, run.id, MatrixFilter(search="(a+)+$", regex=True))
            monkeypatch.setattr(matrix_queries, "SEARCH_TIMEOUT_S", 0.0005)
            slow = MatrixFilter(search="a{1,5}b{0,3}c?!$", regex=True)
            try:
                page_of_tests(store, run.id, slow)
            except ConfigError as exc:  # a fast server may finish in time: only the message
                assert "took over" in str(exc)
            monkeypatch.setattr(matrix_queries, "SEARCH_TIMEOUT_S", 10.0)
            assert page_of_tests(store, run.id, slow)[0] == [0, 1, 2]
            with pytest.raises(ConfigError):
                store.get_run("%")
        finally:
            store.close()
        with client_of(url) as client:
            assert client.post(f"/runs/{run.id}/rename",
                               data={"description": "<b>renamed</b>"}).status_code == 303
            listed = client.get("/runs").text
            assert "&lt;b&gt;renamed&lt;/b&gt;" in listed and "<b>renamed" not in listed
            assert client.post(f"/runs/{run.id}/delete").status_code == 303
            assert client.get(f"/runs/{run.id}").status_code == 404
    finally:
        next(server, None)

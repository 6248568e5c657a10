"""``moderation`` against a real local HTTP server imitating OpenAI's ``/v1/moderations``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from evalkit import isolate_env, write_suite
from promptwork.checks import CheckContext, CheckResult
from promptwork.checks.errors import GradingError
from promptwork.checks.registry import arun_check, parse_spec
from promptwork.errors import ConfigError
from promptwork.evaluation import evaluate
from promptwork.providers.scripted import ScriptedProvider
from promptwork.runner import RunConfig


class ModerationServer:
    """Answers POST /v1/moderations with a scripted status and body; records requests."""

    def __init__(self) -> None:
        self.status = 200
        self.categories: dict[str, bool] = {}
        self.requests: list[tuple[dict[str, Any], str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append((body, self.headers.get("Authorization", "")))
                flagged = any(server.categories.values())
                payload = (
                    {"results": [{"flagged": flagged, "categories": server.categories}]}
                    if server.status == 200 else {"error": {"message": "slow down"}}
                )
                data = json.dumps(payload).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModerationServer]:
    srv = ModerationServer()
    monkeypatch.setenv("OPENAI_BASE_URL", srv.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-moderation-key-123456")
    try:
        yield srv
    finally:
        srv.stop()


async def run(**spec: Any) -> CheckResult:
    return await arun_check(parse_spec({"type": "moderation", **spec}), CheckContext("some text"))


async def test_clean_output_passes(server: ModerationServer) -> None:
    server.categories = {"harassment": False, "violence": False}
    r = await run()
    assert r.passed and r.reason == "moderation flagged nothing"
    body, auth = server.requests[0]
    assert body == {"model": "omni-moderation-latest", "input": "some text"}
    assert auth == "Bearer sk-test-moderation-key-123456"


async def test_flagged_output_fails_and_negation(server: ModerationServer) -> None:
    server.categories = {"harassment": True, "violence": False}
    r = await run()
    assert not r.passed and r.reason == "moderation flagged: harassment"
    assert (await run(type="not-moderation")).passed


async def test_only_the_listed_categories_count(server: ModerationServer) -> None:
    server.categories = {"harassment": True, "violence": False}
    assert (await run(value=["violence"])).passed
    assert not (await run(value=["violence", "harassment"])).passed


async def test_model_from_the_provider(server: ModerationServer) -> None:
    await run(provider="openai:moderation:text-moderation-stable")
    assert server.requests[0][0]["model"] == "text-moderation-stable"


async def test_failed_call_is_a_grader_error(server: ModerationServer) -> None:
    server.status = 429
    with pytest.raises(GradingError) as info:
        await run()
    assert info.value.kind == "grader" and "429" in str(info.value)


@pytest.mark.parametrize("kind", ["moderation", "not-moderation"])
async def test_without_a_key_it_is_a_grader_error_not_a_failed_check(
        monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(GradingError) as info:
        await run(type=kind)
    assert info.value.kind == "grader" and "needs OPENAI_API_KEY" in str(info.value)


def test_without_a_key_an_eval_cell_is_a_grader_error(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The run's pass rate is not lowered: the cell is an error, counted apart."""
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    path = write_suite(tmp_path, {"prompts": ["Hi"], "providers": ["scripted"], "tests": [
        {"assert": [{"type": "contains", "value": "ok"}, {"type": "moderation"}]}]})
    run = evaluate(path, providers={0: ScriptedProvider(["ok"])},
                   config=RunConfig(use_cache=False))
    [row] = run.rows()
    assert row["error_kind"] == "grader" and "OPENAI_API_KEY" in row["error"]
    assert row["score"] is None


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"provider": "replicate:moderation:meta/llama-guard-3-8b"}, "is not supported"),
        ({"provider": {"id": "azure:moderation"}}, "'azure:moderation' is not supported"),
        ({"value": "harassment"}, "list of moderation categories"),
    ],
)
def test_bad_config_refused_at_load(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_spec({"type": "moderation", **spec})


async def test_provider_config_base_url_and_key_variable(
        server: ModerationServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The environment points nowhere: only the check's own config can reach the server.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("PW_MODERATION_KEY", "sk-test-own-moderation-key-42")
    provider = {"id": "openai:moderation",
                "config": {"apiBaseUrl": server.url, "apiKeyEnvar": "PW_MODERATION_KEY"}}
    server.categories = {"violence": True}
    r = await run(provider=provider)
    assert not r.passed and r.reason == "moderation flagged: violence"
    assert server.requests[0][1] == "Bearer sk-test-own-moderation-key-42"


def test_bad_moderation_base_url_refused_at_load() -> None:
    with pytest.raises(ConfigError, match="base_url must be an http"):
        parse_spec({"type": "moderation",
                    "provider": {"id": "openai:moderation", "config": {"base_url": "ftp://x"}}})

"""The REST API on a real uvicorn server on 127.0.0.1: tokens and scopes, prompts by label and
version (404 for an unknown label), render with the CLI's errors, run through the cache, the
audit log, the rate limit, and background evaluations."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from evalkit import write_suite
from promptwork.serve.app import ServeSettings
from promptwork.store.tokens import revoke_token

from .conftest import REPLY_V1, REPLY_V2, Served, serve, sha

pytestmark = pytest.mark.server


def test_every_request_needs_a_valid_token_of_the_right_scope(served: Served) -> None:
    with httpx.Client(base_url=served.url) as anon:
        for path in ("/v1/prompts", "/openapi.json", "/v1/prompts/reply", "/nowhere"):
            answer = anon.get(path)
            assert answer.status_code == 401, path
            assert answer.headers["www-authenticate"].startswith("Bearer")
        assert anon.get("/v1/prompts", headers={"Authorization": "Bearer pw_wrong"}
                        ).status_code == 401
        assert anon.get("/v1/prompts", headers={"Authorization": served.tokens["read"]}
                        ).status_code == 401  # no "Bearer"
    with served.client("read") as read:
        assert read.get("/openapi.json").json()["paths"]["/v1/prompts/{name}/run"]
        assert read.post("/v1/prompts/reply/run", json={"vars": {}}
                         ).status_code == 403
        assert read.get("/v1/audit").status_code == 403
        revoke_token(served.store.engine, "read-test")
        assert read.get("/v1/prompts").status_code == 401
    with served.client("run") as run:
        assert run.get("/v1/audit").status_code == 403
        assert run.post("/v1/prompts/reply/run", json={"vars": {"customer": "A", "question": "q"}}
                        ).status_code == 200


def test_a_prompt_by_label_by_version_and_newest_and_404s(served: Served) -> None:
    with served.client() as c:
        prod = c.get("/v1/prompts/reply", params={"label": "production"}).json()
        assert prod["version"] == sha(REPLY_V1) and prod["label"] == "production"
        assert prod["template"] == REPLY_V1 and prod["model"] == "echo"
        assert prod["params"] == {"temperature": 0.2}
        assert prod["messages"] == [{"role": "system", "content": "You answer kindly."},
                                    {"role": "user", "content": "{{ customer }} asks: "
                                                                "{{ question }}"}]
        assert c.get("/v1/prompts/reply", params={"label": "staging"}).json()["version"] == (
            sha(REPLY_V2))
        assert c.get("/v1/prompts/reply").json()["version"] == sha(REPLY_V2)  # the newest
        old = c.get("/v1/prompts/reply", params={"version": sha(REPLY_V1)[:8]}).json()
        assert old["version"] == sha(REPLY_V1) and old["label"] is None
        unknown = c.get("/v1/prompts/reply", params={"label": "canary"})
        assert unknown.status_code == 404 and "canary" in unknown.json()["detail"]
        assert c.get("/v1/prompts/greet", params={"label": "production"}).status_code == 404
        assert c.get("/v1/prompts/nothing").status_code == 404
        assert c.get("/v1/prompts/reply", params={"version": "ffff0000"}).status_code == 404
        both = c.get("/v1/prompts/reply", params={"label": "production", "version": "abcd"})
        assert both.status_code == 422


def test_list_and_search(served: Served) -> None:
    with served.client() as c:
        listed = {p["name"]: p for p in c.get("/v1/prompts").json()["prompts"]}
        assert set(listed) == {"reply", "greet", "evil"}
        assert listed["reply"]["labels"] == {"production": sha(REPLY_V1),
                                             "staging": sha(REPLY_V2)}
        hits = c.get("/v1/search", params={"q": "orchard"}).json()["hits"]
        assert [h["name"] for h in hits] == ["greet"]
        assert "[orchard]" in hits[0]["snippet"]
        labelled = c.get("/v1/search", params={"label": "production"}).json()["hits"]
        assert [h["name"] for h in labelled] == ["reply"]
        assert labelled[0]["labels"]["production"] == sha(REPLY_V1)
        assert c.get("/v1/search", params={"q": "orchard", "tag": "support"}).json()[
            "hits"] == []


def test_render_gives_messages_and_the_cli_errors_as_422(served: Served) -> None:
    with served.client() as c:
        done = c.post("/v1/prompts/reply/render", json={
            "label": "production", "vars": {"customer": "Ada", "question": "Where is it?"}})
        assert done.status_code == 200
        assert done.json()["messages"] == [
            {"role": "system", "content": "You answer kindly."},
            {"role": "user", "content": "Ada asks: Where is it?"}]
        assert done.json()["version"] == sha(REPLY_V1)
        missing = c.post("/v1/prompts/reply/render", json={"vars": {"customer": "Ada"}})
        assert missing.status_code == 422 and "question" in missing.json()["detail"]
        sandbox = c.post("/v1/prompts/evil/render", json={"vars": {"name": "x"}})
        assert sandbox.status_code == 422, sandbox.text
        assert c.post("/v1/prompts/reply/render", json={"label": "nope"}).status_code == 404


def test_run_goes_through_the_cache_and_is_audited(served: Served) -> None:
    body = {"label": "production", "vars": {"customer": "Ada", "question": "Price?"}}
    with served.client("run") as c:
        first = c.post("/v1/prompts/reply/run", json=body).json()
        second = c.post("/v1/prompts/reply/run", json=body).json()
    assert first["version"] == sha(REPLY_V1) and first["model"] == "echo"
    assert "Ada asks: Price?" in first["text"]
    assert first["cached"] is False and second["cached"] is True
    assert second["text"] == first["text"]
    assert {"prompt_tokens", "completion_tokens", "latency_ms", "cost"} <= set(first)
    with served.client("admin") as admin:
        entries = admin.get("/v1/audit", params={"action": "prompt.run"}).json()["entries"]
    assert [e["actor"] for e in entries] == ["run-test", "run-test"]
    assert entries[0]["subject"] == "reply" and entries[0]["detail"]["version"] == sha(REPLY_V1)


def test_the_rate_limit_is_per_token_with_retry_after(tmp_path: Path) -> None:
    settings = ServeSettings(rate=0.01, burst=3, deliver_every_s=None, root=tmp_path)
    for s in serve(tmp_path, settings):
        with s.client("read") as read, s.client("run") as run:
            codes = [read.get("/v1/prompts").status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            refused = read.get("/v1/prompts")
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
            assert run.get("/v1/prompts").status_code == 200  # another token's own bucket


def test_an_evaluation_runs_in_the_background(served: Served) -> None:
    write_suite(served.folder / "suite", {
        "prompts": ["Say {{ word }}"], "providers": ["echo"],
        "tests": [{"vars": {"word": w}, "assert": [{"type": "icontains", "value": "apple"}]}
                  for w in ("apple", "pear")]})
    with served.client("run") as c:
        started = c.post("/v1/evals", json={"suite": "suite"})
        assert started.status_code == 202, started.text
        job = started.json()["job"]
        deadline = time.monotonic() + 60
        state = c.get(f"/v1/evals/{job}").json()
        while state["status"] not in ("complete", "failed", "interrupted"):
            assert time.monotonic() < deadline, state
            time.sleep(0.05)
            state = c.get(f"/v1/evals/{job}").json()
        assert state["status"] == "complete", state
        assert (state["passed"], state["failed"]) == (1, 1)
        column = state["summary"]["columns"][0]
        assert (column["passed"], column["failed"], column["pass_rate"]) == (1, 1, 0.5)
        assert c.get("/v1/evals/nope").status_code == 404
        outside = c.post("/v1/evals", json={"suite": "/etc"})
        assert outside.status_code == 422
    with served.client("admin") as admin:
        started_entries = admin.get("/v1/audit", params={"action": "eval.started"}).json()
    assert [(e["actor"], e["detail"]["job"]) for e in started_entries["entries"]] == [
        ("run-test", job)]


def test_the_audit_log_holds_label_moves(served: Served, tmp_path: Path) -> None:
    from promptwork.library.lock import move_label

    move_label(served.store, tmp_path, "reply", sha(REPLY_V2)[:8], "production", who="ana")
    with served.client("admin") as admin:
        entries = admin.get("/v1/audit").json()["entries"]
        moved = admin.get("/v1/audit", params={"action": "label.moved"}).json()["entries"]
    assert entries == moved and len(moved) == 1
    assert (moved[0]["actor"], moved[0]["subject"]) == ("ana", "reply:production")
    assert moved[0]["detail"]["version"] == sha(REPLY_V2)
    with served.client() as c:  # served at once at its new version
        assert c.get("/v1/prompts/reply", params={"label": "production"}).json()["version"] == (
            sha(REPLY_V2))

"""The Playground page over plain HTTP: the form per variable, answers (collected and as
Server-Sent Events) escaped, saving, adding a test case, and "Run on suite" to a job page."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from evalkit import write_suite
from promptwork.store import Store
from promptwork.web.app import create_app
from promptwork.web.security import WebSettings


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "p.prompt").write_text(
        "---\ninputs:\n  tone: {type: string, default: warm}\n---\nBe {{ tone }}: {{ q }}\n",
        encoding="utf-8")
    write_suite(tmp_path, {"prompts": ["Say {{ q }}"], "providers": ["echo"],
                           "tests": [{"vars": {"q": "hi"},
                                      "assert": [{"type": "contains", "value": "hi"}]}]})
    return tmp_path


@pytest.fixture
def client(folder: Path) -> Iterator[TestClient]:
    app = create_app(f"sqlite:///{folder / 'store.db'}", WebSettings(port=8484), root=folder)
    with TestClient(app, base_url="http://127.0.0.1:8484") as c:
        c.headers["X-CSRF-Token"] = app.state.settings.csrf_token
        yield c


def form(**extra: Any) -> dict[str, Any]:
    return {"source": "Hello {{ who }}", "kind": ".prompt", "model": ["echo"], **extra}


def test_the_page_has_a_field_per_variable(client: TestClient) -> None:
    page = client.get("/playground?file=p.prompt")
    assert page.status_code == 200
    assert 'name="var:tone"' in page.text and 'name="var:q"' in page.text
    assert ">warm</textarea>" in page.text and "Be {{ tone }}" in page.text
    fields = client.post("/playground/fields", data={"source": "{{ a }} {{ b }}"},
                         headers={"HX-Request": "true"})
    assert 'name="var:a"' in fields.text and 'name="var:b"' in fields.text
    broken = client.post("/playground/fields", data={"source": "{% if %}"})
    assert "pg-error" in broken.text and "playground:1" in broken.text
    outside = client.get("/playground?file=../etc.prompt")
    assert outside.status_code == 404 and "outside" in outside.text


def test_answers_are_collected_and_escaped(client: TestClient) -> None:
    page = client.post("/playground/run", data=form(**{"var:who": "<script>x()</script>"}))
    assert page.status_code == 200
    assert "Hello &lt;script&gt;x()&lt;/script&gt;" in page.text
    assert "<script>x()" not in page.text


def test_answers_stream_as_server_sent_events(client: TestClient) -> None:
    data = form(**{"var:who": "Ada", "model": ["echo", "nosuchvendor:m"],
                   "max_tokens": "5"})
    with client.stream("POST", "/playground/stream", data=data) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    events = [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:")]
    echo = [e for e in events if e["model"] == "echo"]
    assert echo[0]["type"] == "started" and echo[-1]["type"] == "done"
    assert "".join(e["text"] for e in echo if e["type"] == "text") == "Hello Ada"
    bad = [e for e in events if e["type"] == "done" and e["model"] == "nosuchvendor:m"]
    assert bad[0]["error_kind"] == "config"
    bad_param = client.post("/playground/stream", data=form(temperature="hot"))
    assert "temperature" in bad_param.text and '"error_kind": "config"' in bad_param.text


def test_save_and_add_test_keep_the_form(client: TestClient, folder: Path) -> None:
    saved = client.post("/playground/save", data=form(file="new.prompt", **{"var:who": "Bo"}))
    assert saved.status_code == 200 and "saved: new.prompt" in saved.text
    assert (folder / "new.prompt").read_text(encoding="utf-8") == "Hello {{ who }}"
    assert ">Bo</textarea>" in saved.text  # what was typed is still there
    again = client.post("/playground/save", data=form(file="p.prompt"))
    assert again.status_code == 400 and "exists" in again.text
    added = client.post("/playground/add-test",
                        data=form(suite="promptwork.yaml", description="from ui",
                                  **{"var:who": "Cy"}))
    assert added.status_code == 200 and "test case added to promptwork.yaml" in added.text
    assert "who: Cy" in (folder / "promptwork.yaml").read_text(encoding="utf-8")
    refused = client.post("/playground/save", data=form(file="x.prompt"),
                          headers={"X-CSRF-Token": "wrong"})
    assert refused.status_code == 403 and not (folder / "x.prompt").exists()


def test_run_on_suite_opens_the_jobs_page(client: TestClient, folder: Path) -> None:
    started = client.post("/playground/run-suite", data=form(suite="promptwork.yaml"),
                          follow_redirects=False)
    assert started.status_code == 303
    job_url = started.headers["location"]
    assert re.fullmatch(r"/jobs/[0-9a-f]+", job_url)
    page = client.get(job_url)
    run_id = re.search(r'href="/runs/([^"]+)"', page.text)
    assert run_id is not None and 'data-job-events="' in page.text
    with client.stream("GET", job_url + "/events") as response:
        body = "".join(response.iter_text())
    final = json.loads([line for line in body.splitlines() if line.startswith("data:")][-1][5:])
    assert (final["type"], final["status"], final["passed"]) == ("finished", "complete", 1)
    deadline = time.monotonic() + 5
    store = Store(f"sqlite:///{folder / 'store.db'}")
    while store.get_run(run_id.group(1)).status != "complete" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.get_run(run_id.group(1)).status == "complete"
    store.close()
    missing = client.post("/playground/run-suite", data=form(suite="none.yaml"))
    assert missing.status_code == 400 and "not found" in missing.text


def test_events_of_an_unknown_job_are_a_404_before_any_stream(client: TestClient) -> None:
    events = client.get("/jobs/0123abcd/events")
    assert events.status_code == 404
    assert events.headers["content-type"].startswith("text/plain")
    assert "no job" in events.text and "data:" not in events.text
    assert client.get("/jobs/0123abcd").status_code == 404


def test_a_provider_config_from_the_page_reaches_an_openai_compatible_server(
        client: TestClient, fake_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MY_SERVER_KEY", "sk-localserverkey0123456789")
    config = (f"openai:chat:my-model:\n  base_url: {fake_server.base_url}\n"
              "  api_key_env: MY_SERVER_KEY\n")
    data = form(model=[], other_models="openai:chat:my-model", provider_config=config)
    body = client.post("/playground/stream", data=data).text
    done = [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:")][-1]
    assert done["type"] == "done" and done["error"] is None, done
    assert done["text"] == fake_server.answer
    assert len(fake_server.requests) == 1
    sent = fake_server.requests[0]
    assert sent.json["model"] == "my-model"
    assert sent.headers["Authorization"] == "Bearer sk-localserverkey0123456789"
    shown = client.post("/playground/run", data=data)
    assert "base_url: " + fake_server.base_url in shown.text  # the field is kept
    assert "sk-localserverkey" not in shown.text


def test_an_api_key_in_the_provider_config_is_refused_and_never_shown_back(
        client: TestClient) -> None:
    for config in ("openai:chat:m:\n  api_key: hunter2-secret-value\n",
                   "openai:chat:m: {apiKey: hunter2-secret-value}\n",
                   "openai:chat:m:\n  headers: {X-Note: sk-abcdefghijklmnopqrstuvwxyz}\n"):
        data = form(model=[], other_models="openai:chat:m", provider_config=config)
        body = client.post("/playground/stream", data=data).text
        assert "API key" in body and "api_key_env" in body
        shown = client.post("/playground/run", data=data)
        assert "hunter2" not in shown.text and "sk-abcdefghij" not in shown.text
        assert "cleared" in shown.text or "API key" in shown.text
    bad = client.post("/playground/stream",
                      data=form(provider_config="echo:\n  - not a mapping\n")).text
    assert "must be a mapping" in bad and "provider config:1" in bad

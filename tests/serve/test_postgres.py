"""The API, its tokens, webhooks and run events on a real PostgreSQL store (skipped, with the
reason, where no PostgreSQL server is installed; see tests/store/test_postgres.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooks.receiver import Receiver
from hooks.test_run_events import BAD, GOOD, events, label, run
from promptwork.hooks.delivery import DeliveryPolicy, deliver_due
from promptwork.store import Store
from promptwork.store.events import record_event
from promptwork.store.hooks import add_webhook, delivery_log
from promptwork.store.tokens import revoke_token
from store.test_postgres import _env, pg_url, postgres_server  # noqa: F401 (fixtures)

from .conftest import REPLY_V1, serve, sha

pytestmark = pytest.mark.server


def test_serving_on_postgres(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    for s in serve(tmp_path, url=pg_url):
        with s.client("run") as c:
            prod = c.get("/v1/prompts/reply", params={"label": "production"})
            assert prod.json()["version"] == sha(REPLY_V1)
            assert c.get("/v1/prompts/reply", params={"label": "canary"}).status_code == 404
            body = {"label": "production", "vars": {"customer": "A", "question": "q"}}
            assert c.post("/v1/prompts/reply/run", json=body).json()["cached"] is False
            assert c.post("/v1/prompts/reply/run", json=body).json()["cached"] is True
            assert [h["name"] for h in c.get("/v1/search", params={"q": "orchard"}).json()[
                "hits"]] == ["greet"]
            revoke_token(s.store.engine, "run-test")
            assert c.get("/v1/prompts").status_code == 401


def test_webhooks_and_regressions_on_postgres(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    store = Store(pg_url)
    with Receiver() as rx:
        _, rx.secret = add_webhook(store.engine, rx.url, ["run.finished", "run.regressed"])
        rx.script.append(500)
        label(store, GOOD)
        run(tmp_path, GOOD, pg_url)
        run(tmp_path, BAD, pg_url)
        assert len(events(store, "run.regressed")) == 1
        record_event(store.engine, "label.moved", {"name": "not subscribed"})
        policy = DeliveryPolicy(base_s=0)
        first = deliver_due(store.engine, policy)
        second = deliver_due(store.engine, policy)
    assert (first.delivered, first.failed, second.delivered) == (2, 1, 1)
    assert all(r.valid for r in rx.received) and len(rx.received) == 4
    assert len(delivery_log(store.engine)) == 4

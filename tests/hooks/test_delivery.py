"""Webhook deliveries to a real local receiver that checks signatures: scripted failures,
retries with backoff, giving up, every attempt logged, and delivery by the serve process."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from promptwork.hooks.delivery import DeliveryPolicy, deliver_due
from promptwork.hooks.signing import signature_header, verify
from promptwork.serve.app import ServeSettings, create_app
from promptwork.store import Store
from promptwork.store.events import record_event
from promptwork.store.hooks import add_webhook, delivery_log, due_deliveries, remove_webhook
from web.conftest import LiveServer, free_port

from .receiver import Receiver

pytestmark = pytest.mark.server

NOW_RETRY = DeliveryPolicy(max_attempts=3, base_s=0.0, timeout_s=5)


def store_at(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'hooks.db'}")


def test_signed_delivery_retried_until_it_succeeds(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    record_event(store.engine, "run.finished", {"run_id": "before-the-hook"})
    with Receiver() as rx:
        hook, rx.secret = add_webhook(store.engine, rx.url, ["run.finished", "label.moved"])
        record_event(store.engine, "run.finished", {"run_id": "r1"})
        record_event(store.engine, "prompt.versioned", {"name": "not subscribed"})
        rx.script.extend([500, 503])
        reports = [deliver_due(store.engine, NOW_RETRY) for _ in range(4)]
    assert [(r.delivered, r.failed) for r in reports] == [(0, 1), (0, 1), (1, 0), (0, 0)]
    assert [r.answered for r in rx.received] == [500, 503, 200]
    assert all(r.valid for r in rx.received)
    body = json.loads(rx.received[-1].body)
    assert body["type"] == "run.finished" and body["data"] == {"run_id": "r1"}
    assert rx.received[-1].headers["x-promptwork-event"] == "run.finished"
    log = delivery_log(store.engine)
    assert [(a.attempt, a.ok, a.status_code) for a in reversed(log)] == [
        (1, False, 500), (2, False, 503), (3, True, 200)]
    assert all(a.webhook_id == hook.id for a in log)


def test_backoff_waits_and_gives_up(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    with Receiver() as rx:
        _, rx.secret = add_webhook(store.engine, rx.url, ["label.moved"])
        record_event(store.engine, "label.moved", {"name": "reply"})
        rx.script.extend([500] * 10)
        slow = DeliveryPolicy(max_attempts=2, base_s=3600)
        assert deliver_due(store.engine, slow).failed == 1
        assert deliver_due(store.engine, slow).failed == 0  # the retry is an hour away
        retry_at = delivery_log(store.engine)[0].next_at
        assert retry_at is not None
        later = retry_at.replace(tzinfo=UTC) if retry_at.tzinfo is None else retry_at
        assert len(due_deliveries(store.engine, now=later)) == 1
        assert deliver_due(store.engine, DeliveryPolicy(max_attempts=2, base_s=0)).failed == 0
    assert len(rx.received) == 1  # the second attempt was not due yet


def test_unreachable_receiver_is_logged_then_given_up(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    add_webhook(store.engine, f"http://127.0.0.1:{free_port()}/gone", ["run.regressed"])
    record_event(store.engine, "run.regressed", {"run_id": "x"})
    policy = DeliveryPolicy(max_attempts=2, base_s=0, timeout_s=2)
    assert deliver_due(store.engine, policy).failed == 1
    assert deliver_due(store.engine, policy).gave_up == 1
    assert deliver_due(store.engine, policy).gave_up == 0
    log = delivery_log(store.engine)
    assert [a.ok for a in log] == [False, False] and "ConnectError" in (log[0].error or "")
    assert log[0].next_at is None  # given up


def test_a_removed_hook_gets_nothing(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    with Receiver() as rx:
        hook, rx.secret = add_webhook(store.engine, rx.url, ["run.finished"])
        remove_webhook(store.engine, hook.id)
        record_event(store.engine, "run.finished", {"run_id": "r"})
        assert deliver_due(store.engine, NOW_RETRY).delivered == 0
    assert rx.received == []


def test_the_serve_process_delivers_in_the_background(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    with Receiver() as rx:
        _, rx.secret = add_webhook(store.engine, rx.url, ["prompt.versioned"])
        rx.script.append(500)
        port = free_port()
        app = create_app(store.url, ServeSettings(deliver_every_s=0.05, delivery=NOW_RETRY))
        with LiveServer(app, "127.0.0.1", port):
            record_event(store.engine, "prompt.versioned", {"name": "reply"})
            deadline = time.monotonic() + 30
            while len(rx.received) < 2:
                assert time.monotonic() < deadline, rx.received
                time.sleep(0.02)
    assert [r.answered for r in rx.received] == [500, 200]


def test_signature_checks() -> None:
    body = b'{"id":1}'
    header = signature_header("s3cret", body, timestamp=int(datetime.now(UTC).timestamp()))
    assert verify("s3cret", header, body)
    assert not verify("s3cret", header, body + b" ")
    assert not verify("other", header, body)
    assert not verify("s3cret", "t=1,v1=00", body)
    old = signature_header("s3cret", body, timestamp=1000)
    assert not verify("s3cret", old, body)  # replayed long after
    assert verify("s3cret", old, body, now=1100)

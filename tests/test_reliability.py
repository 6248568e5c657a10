"""Calls to models under faults (reliability notes, items 1-8).

A real ``openai:chat:`` provider talks HTTP to the fake server on 127.0.0.1 (tests/fakeserver.py),
through the runner or the :class:`ModelCaller`; the server's request log is the witness. Backoffs
are shortened with a small ``CallPolicy.base_delay`` except where ``Retry-After`` is the point.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest

from evalkit import fake_provider, isolate_env, write_suite
from fakeserver import FakeServer, Fault
from promptwork.calls import CallPolicy, ModelCaller
from promptwork.errors import ProviderError
from promptwork.evaluation import EvalRun, evaluate
from promptwork.events import Event, Retrying
from promptwork.providers.base import Provider
from promptwork.providers.registry import create_provider
from promptwork.report.export import export
from promptwork.runner import RunConfig
from promptwork.types import Completion, Params, RenderedPrompt

pytest.importorskip("openai", reason="the openai SDK is not installed")
pytestmark = pytest.mark.server

#: Fast retries: backoffs of a few milliseconds.
FAST = CallPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, timeout=10)
QUOTA_BODY = {"error": {"message": "You exceeded your current quota, please check your plan and "
                        "billing details.", "type": "insufficient_quota",
                        "code": "insufficient_quota"}}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


def evaluate_on(
    tmp_path: Path,
    server: FakeServer,
    n_tests: int = 1,
    policy: CallPolicy = FAST,
    concurrency: int = 1,
    providers: list[dict[str, Any]] | None = None,
    events: list[Event] | None = None,
    **options: Any,
) -> EvalRun:
    suite = {
        "prompts": ["Question {{ i }}"],
        "providers": providers or [fake_provider(server.base_url)],
        "defaultTest": {"assert": [{"type": "icontains", "value": "hello"}]},
        "tests": [{"vars": {"i": i}} for i in range(n_tests)],
        "evaluateOptions": {"maxConcurrency": concurrency, **options},
    }
    path = write_suite(tmp_path, suite)
    config = RunConfig(policy=policy, use_cache=False)
    return evaluate(path, config=config, subscribers=[events.append] if events is not None else [])


def only_row(run: EvalRun) -> dict[str, Any]:
    rows = list(run.rows())
    assert len(rows) == 1
    return rows[0]


def gaps(server: FakeServer) -> list[float]:
    arrived = [r.arrived for r in server.requests]
    return [b - a for a, b in itertools.pairwise(arrived)]


# -- 1. Retry-After --------------------------------------------------------------------------------


def test_retry_after_is_honoured(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.push(Fault(status=429, headers={"Retry-After": "2"}))
    events: list[Event] = []
    row = only_row(evaluate_on(tmp_path, fake_server, events=events))
    assert len(fake_server.requests) == 2
    assert gaps(fake_server)[0] >= 2.0
    assert row["error"] is None and row["success"] is True
    retries = [e for e in events if isinstance(e, Retrying)]
    assert len(retries) == 1 and retries[0].wait_s >= 2.0 and "429" in retries[0].error


def test_retry_after_longer_than_allowed_gives_up_at_once(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    fake_server.push(Fault(status=429, headers={"Retry-After": "3600"}))
    policy = CallPolicy(max_attempts=3, base_delay=0.01, max_retry_after=60)
    started = time.monotonic()
    row = only_row(evaluate_on(tmp_path, fake_server, policy=policy))
    assert time.monotonic() - started < 10
    assert len(fake_server.requests) == 1
    assert row["error_kind"] == "rate_limit"


# -- 2. quota --------------------------------------------------------------------------------------


def test_insufficient_quota_is_not_retried(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.push(Fault(status=429, body=QUOTA_BODY))
    row = only_row(evaluate_on(tmp_path, fake_server))
    assert len(fake_server.requests) == 1
    assert row["error_kind"] == "quota" and "quota" in row["error"]
    assert row["success"] is False and row["output"] is None


# -- 3. server errors are retried with backoff; client errors never --------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_twice_then_success(
    tmp_path: Path, fake_server: FakeServer, status: int
) -> None:
    fake_server.push(Fault(status=status), Fault(status=status))
    events: list[Event] = []
    policy = CallPolicy(max_attempts=4, base_delay=0.05, max_delay=1.0)
    row = only_row(evaluate_on(tmp_path, fake_server, policy=policy, events=events))
    assert len(fake_server.requests) == 3
    assert row["error"] is None and row["output"] == fake_server.answer
    waits = [e.wait_s for e in events if isinstance(e, Retrying)]
    # Full jitter within [cap/2, cap], the cap doubling per attempt: 0.05 s, then 0.1 s.
    assert len(waits) == 2
    assert 0.025 <= waits[0] <= 0.05 and 0.05 <= waits[1] <= 0.1
    assert all(g >= w for g, w in zip(gaps(fake_server), waits, strict=True))


@pytest.mark.parametrize("status,kind", [(400, "bad_request"), (401, "auth"), (403, "auth")])
def test_client_errors_are_never_retried(
    tmp_path: Path, fake_server: FakeServer, status: int, kind: str
) -> None:
    fake_server.push(Fault(status=status))
    row = only_row(evaluate_on(tmp_path, fake_server))
    assert len(fake_server.requests) == 1
    assert row["error_kind"] == kind and f"HTTP {status}" in row["error"]


# -- 4. persistent failure -------------------------------------------------------------------------


def test_persistent_503_stops_at_the_limit_and_the_run_goes_on(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    # The completions endpoint is down for good; chat completions work.
    fake_server.push(*[Fault(status=503, path="/v1/completions") for _ in range(50)])
    providers = [fake_provider(fake_server.base_url),
                 {**fake_provider(fake_server.base_url), "id": "openai:completion:fake-model"}]
    policy = CallPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
    run = evaluate_on(tmp_path, fake_server, n_tests=2, policy=policy, providers=providers)
    rows = list(run.rows())
    down = [r for r in rows if r["provider_idx"] == 1]
    up = [r for r in rows if r["provider_idx"] == 0]
    completions = [r for r in fake_server.requests if r.path.endswith("/v1/completions")]
    assert len(completions) == 2 * 3  # two cells, three attempts each, then it stops
    assert all(r["error_kind"] == "server" and r["output"] is None for r in down)
    assert all(r["error"] is None and r["success"] for r in up)
    assert run.record.status == "complete"
    # An error is counted as an error, never as a failed check with score 0.
    assert run.stats() == {"successes": 2, "failures": 0, "errors": 2}
    summary = {s["provider_idx"]: s for s in run.summary()}
    assert summary[1]["errors"] == 2 and summary[1]["passes"] + summary[1]["fails"] == 0
    assert summary[0]["errors"] == 0 and summary[0]["mean_score"] == 1.0
    out = tmp_path / "out.json"
    export(out, run.record, run.rows(), run.prompt_labels, run.provider_labels, run.columns())
    data = json.loads(out.read_text())
    assert data["results"]["stats"]["errors"] == 2
    assert data["results"]["stats"]["failures"] == 0
    errored = [r for r in data["results"]["results"] if r["error"]]
    assert len(errored) == 2 and all(r["failureReason"] == 2 for r in errored)  # ERROR


# -- 5. hung responses -----------------------------------------------------------------------------


def test_hung_response_times_out_per_attempt_and_is_retried(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    fake_server.push(Fault(hang=True))
    provider = {**fake_provider(fake_server.base_url), "config": {
        "base_url": fake_server.base_url, "timeout": 0.3}}
    started = time.monotonic()
    row = only_row(evaluate_on(tmp_path, fake_server, providers=[provider]))
    elapsed = time.monotonic() - started
    assert len(fake_server.requests) == 2
    assert gaps(fake_server)[0] >= 0.25  # the 0.3 s timeout, give or take two threads' clocks
    assert row["error"] is None and row["output"] == fake_server.answer
    assert elapsed < 5


def test_runner_timeout_bounds_every_attempt_and_the_whole_cell(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    # The provider would wait 10 s; the suite's timeoutMs cuts each attempt at 0.3 s.
    fake_server.push(Fault(hang=True), Fault(hang=True), Fault(hang=True))
    policy = CallPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
    started = time.monotonic()
    row = only_row(evaluate_on(tmp_path, fake_server, policy=policy, timeoutMs=300))
    elapsed = time.monotonic() - started
    assert len(fake_server.requests) == 3
    assert row["error_kind"] == "timeout"
    assert 0.9 <= elapsed < 5  # three attempts of 0.3 s, and not one more


# -- 6. a stream that stalls -----------------------------------------------------------------------


@pytest.fixture
async def streaming(fake_server: FakeServer) -> Any:
    made: list[Provider] = []

    def factory(**config: Any) -> Provider:
        config = {"base_url": fake_server.base_url, "timeout": 5, "idle_timeout": 0.3, **config}
        made.append(create_provider("openai:chat:fake-model", config))
        return made[-1]

    yield factory
    for p in made:
        await p.aclose()


async def test_stalled_stream_hits_the_idle_timeout_and_is_not_a_success(
    fake_server: FakeServer, streaming: Any
) -> None:
    fake_server.push(Fault(stall=True))
    provider = streaming()
    pieces: list[str] = []
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        await provider.stream_complete(RenderedPrompt.from_text("hi"), Params(), pieces.append)
    assert info.value.kind == "timeout" and "stalled" in info.value.message
    assert info.value.retryable
    assert pieces == ["Hello "]  # the first chunk arrived; no completion was returned
    assert time.monotonic() - started < 3


async def test_stalled_stream_is_retried_by_the_caller_and_partial_text_dropped(
    fake_server: FakeServer, streaming: Any
) -> None:
    class Streaming(Provider):
        """Completes by streaming, as the interactive path does."""

        def __init__(self, inner: Provider):
            super().__init__(inner.id)
            self.inner = inner

        async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
            return await self.inner.stream_complete(prompt, params, lambda _: None)

    fake_server.push(Fault(stall=True))
    caller = ModelCaller(Streaming(streaming()), policy=FAST)
    out = await caller.call(RenderedPrompt.from_text("hi"), Params())
    assert isinstance(out, Completion) and out.text == fake_server.answer
    assert len(fake_server.requests) == 2


async def test_malformed_sse_is_an_error(fake_server: FakeServer, streaming: Any) -> None:
    fake_server.push(Fault(malformed_sse=True))
    with pytest.raises(ProviderError) as info:
        await streaming().stream_complete(RenderedPrompt.from_text("hi"), Params(), print)
    assert info.value.kind in ("invalid_response", "connection")


# -- 7. broken bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize("fault,kind,requests", [
    (Fault(truncate=True), "invalid_response", 1),
    (Fault(html=True), "invalid_response", 1),
    (Fault(empty_choices=True), "invalid_response", 1),
    (Fault(body="upstream exploded", status=200), "invalid_response", 1),
    (Fault(body=[1, 2, 3], status=200), "invalid_response", 1),
    (Fault(drop=True), "connection", 3),
], ids=["truncated-json", "html-200", "empty-choices", "text-200", "json-list-200", "dropped"])
def test_broken_bodies_are_classified_and_recorded(
    tmp_path: Path, fake_server: FakeServer, fault: Fault, kind: str, requests: int
) -> None:
    # Queue the fault for every attempt: what is recorded is the classification.
    fake_server.push(*[Fault(**{**fault.__dict__}) for _ in range(3)])
    row = only_row(evaluate_on(tmp_path, fake_server))
    assert row["error_kind"] == kind
    assert row["output"] is None and row["success"] is False
    assert len(fake_server.requests) == requests
    assert len(row["error"]) < 500  # a body is quoted briefly, never stored whole


# -- 8. concurrency --------------------------------------------------------------------------------


def test_server_never_sees_more_requests_in_flight_than_the_limit(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    fake_server.delay = 0.05
    run = evaluate_on(tmp_path, fake_server, n_tests=24, concurrency=3)
    assert len(fake_server.requests) == 24
    assert fake_server.max_in_flight == 3  # the limit, and reached
    assert run.stats()["successes"] == 24


async def test_limit_drops_during_a_429_storm_and_recovers(fake_server: FakeServer) -> None:
    provider = create_provider("openai:chat:fake-model",
                               {"base_url": fake_server.base_url, "timeout": 5})
    caller = ModelCaller(provider, policy=CallPolicy(max_attempts=5, base_delay=0.01,
                                                     max_delay=0.02), concurrency=4, seed=3)
    prompt = RenderedPrompt.from_text

    try:
        # Storm: the first four concurrent requests are rate limited.
        fake_server.delay = 0.1
        fake_server.push(*[Fault(status=429, headers={"retry-after-ms": "20"}) for _ in range(4)])
        storm = await asyncio.gather(*(caller.call(prompt(f"s{i}"), Params()) for i in range(4)))
        assert all(isinstance(o, Completion) for o in storm)
        assert len(fake_server.requests) == 8
        assert caller.limit.limit < 4  # it dropped (4 halvings from 4: down to 1)
        # The retries went one at a time: each arrived after the previous one was answered.
        retried = [r.arrived for r in fake_server.requests[4:]]
        assert all(b - a >= 0.09 for a, b in itertools.pairwise(retried))

        # Recovery: successes raise the limit back step by step, up to the configured maximum.
        fake_server.max_in_flight = 0
        calm = await asyncio.gather(*(caller.call(prompt(f"c{i}"), Params())
                                      for i in range(32)))
        assert all(isinstance(o, Completion) for o in calm)
        assert caller.limit.limit == 4
        assert fake_server.max_in_flight == 4
    finally:
        await provider.aclose()

"""``moderation`` calls go through the call cache and the retry policy like every other model
call (a real local server imitating ``/v1/moderations``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checks.test_moderation import ModerationServer
from evalkit import write_suite
from promptwork.calls import CallPolicy
from promptwork.evaluation import evaluate
from promptwork.runner import RunConfig


class Moderations(ModerationServer):
    """The moderation server of test_moderation.py, answering the queued statuses first (one a
    request, then 200)."""

    def __init__(self) -> None:
        self.queue: list[int] = []
        super().__init__()

    @property
    def status(self) -> int:
        n = len(self.requests) - 1  # the request being answered was just recorded
        return self.queue[n] if 0 <= n < len(self.queue) else 200

    @status.setter
    def status(self, value: int) -> None:
        pass


@pytest.fixture
def moderations(monkeypatch: pytest.MonkeyPatch) -> Iterator[Moderations]:
    srv = Moderations()
    srv.categories = {"violence": False}
    monkeypatch.setenv("OPENAI_BASE_URL", srv.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-moderation-key-123456")
    yield srv
    srv.stop()


def suite(folder: Path) -> Path:
    return write_suite(folder, {
        "prompts": ["{{ q }}"], "providers": ["echo"],
        "defaultTest": {"assert": [{"type": "moderation"}]},
        "tests": [{"vars": {"q": "hello"}}, {"vars": {"q": "bye"}}]})


def verdicts(folder: Path, cache: bool = True) -> dict[int, Any]:
    run = evaluate(suite(folder), config=RunConfig(
        use_cache=cache, policy=CallPolicy(base_delay=0.01, max_delay=0.02)))
    return {r["test_idx"]: r["success"] for r in run.rows()}


def test_a_second_run_is_answered_from_the_cache(moderations: Moderations,
                                                 tmp_path: Path) -> None:
    assert verdicts(tmp_path) == {0: True, 1: True}
    assert sorted(body["input"] for body, _ in moderations.requests) == ["bye", "hello"]
    moderations.categories = {"violence": True}  # a new call would now fail the cells
    assert verdicts(tmp_path) == {0: True, 1: True}
    assert len(moderations.requests) == 2  # nothing asked again


def test_without_the_cache_each_run_asks_again(moderations: Moderations, tmp_path: Path) -> None:
    verdicts(tmp_path, cache=False)
    moderations.categories = {"violence": True}
    assert verdicts(tmp_path, cache=False) == {0: False, 1: False}
    assert len(moderations.requests) == 4


def test_a_failed_moderation_call_is_retried(moderations: Moderations, tmp_path: Path) -> None:
    moderations.queue = [503, 429]
    assert verdicts(tmp_path, cache=False) == {0: True, 1: True}
    assert len(moderations.requests) == 4  # two refused attempts, then one call per cell


def test_the_checks_provider_config_reaches_the_cached_call(
        moderations: Moderations, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # not this one
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("MOD_KEY", "sk-other-key-for-moderation-99")
    check = {"type": "moderation", "provider": {
        "id": "openai:moderation:text-moderation-stable",
        "config": {"apiBaseUrl": moderations.url, "api_key_env": "MOD_KEY"}}}
    path = write_suite(tmp_path, {"prompts": ["{{ q }}"], "providers": ["echo"],
                                  "defaultTest": {"assert": [check]},
                                  "tests": [{"vars": {"q": "hello"}}]})
    for _ in range(2):
        run = evaluate(path, config=RunConfig(use_cache=True))
        assert [r["success"] for r in run.rows()] == [True]
    [(body, auth)] = moderations.requests
    assert body["model"] == "text-moderation-stable"
    assert auth == "Bearer sk-other-key-for-moderation-99"

"""Background suite runs: a job runs a suite to completion, reports progress as events, can be
cancelled into a resumable run, and refuses suites outside its folder before starting."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from evalkit import write_suite
from promptwork.errors import ConfigError
from promptwork.jobs import JobManager
from promptwork.providers.base import Provider
from promptwork.providers.scripted import ScriptedProvider
from promptwork.runner import RunConfig
from promptwork.store import Store


def suite(folder: Path, n_tests: int = 6) -> Path:
    return write_suite(folder, {
        "prompts": ["Say {{ word }}"],
        "providers": ["scripted"],
        "tests": [{"vars": {"word": f"w{i}"},
                   "assert": [{"type": "contains", "value": "w0" if i % 2 else f"w{i}"}]}
                  for i in range(n_tests)],
    })


def echo_words(delay: float = 0.0) -> dict[int, Provider]:
    return {0: ScriptedProvider(lambda prompt, params: prompt.as_text(), delay=delay)}


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


def test_a_background_run_completes_with_progress_events(tmp_path: Path, store: Store) -> None:
    suite(tmp_path)
    jobs = JobManager(store, tmp_path, RunConfig(use_cache=False))

    async def go() -> tuple[list[dict[str, Any]], str]:
        job = jobs.start("promptwork.yaml", providers=echo_words(0.01))
        events = [e async for e in jobs.events(job.id)]
        started = await jobs.wait_started(job.id)
        assert started.run_id is not None
        return events, started.run_id

    events, run_id = asyncio.run(go())
    types = [e["type"] for e in events]
    assert types[0] == "progress" and types[-1] == "finished"
    assert "started" in types and types.count("cell") == 6
    cells = [e for e in events if e["type"] == "cell"]
    assert [e["done"] for e in cells] == [1, 2, 3, 4, 5, 6]  # counts travel with each event
    assert {(e["test"], e["verdict"]) for e in cells} == {
        (0, "pass"), (1, "fail"), (2, "pass"), (3, "fail"), (4, "pass"), (5, "fail")}
    final = events[-1]
    assert (final["status"], final["run_id"], final["total"]) == ("complete", run_id, 6)
    assert (final["passed"], final["failed"], final["errors"]) == (3, 3, 0)
    record = store.get_run(run_id)
    assert record.status == "complete" and len(list(store.results(run_id))) == 6
    job = jobs.for_run(run_id)
    assert job is not None and job.finished and jobs.jobs() == [job]


def test_a_late_listener_gets_the_state_then_the_end(tmp_path: Path, store: Store) -> None:
    suite(tmp_path, 3)
    jobs = JobManager(store, tmp_path)

    async def go() -> list[dict[str, Any]]:
        job = jobs.start(tmp_path, providers=echo_words())
        await jobs.wait(job.id)
        return [e async for e in jobs.events(job.id)]

    events = asyncio.run(go())
    assert [e["type"] for e in events] == ["progress", "finished"]
    assert events[0]["done"] == 3 and events[1]["status"] == "complete"


def test_cancel_leaves_a_resumable_run(tmp_path: Path, store: Store) -> None:
    suite(tmp_path, 40)
    jobs = JobManager(store, tmp_path, RunConfig(use_cache=False, max_concurrency=1))

    async def cancel_midway() -> str:
        job = jobs.start("promptwork.yaml", providers=echo_words(0.02))
        async for event in jobs.events(job.id):
            if event["type"] == "cell" and event["done"] >= 3:
                assert jobs.cancel(job.id)
        finished = await jobs.wait(job.id)
        assert finished.status == "interrupted" and not jobs.cancel(job.id)
        assert finished.run_id is not None
        return finished.run_id

    run_id = asyncio.run(cancel_midway())
    stored = len(list(store.results(run_id)))
    assert 3 <= stored < 40 and store.get_run(run_id).status == "interrupted"

    async def resume() -> Any:
        job = jobs.start("promptwork.yaml", resume=run_id, providers=echo_words())
        return await jobs.wait(job.id)

    job = asyncio.run(resume())
    assert (job.status, job.run_id, job.already_done) == ("complete", run_id, stored)
    assert job.done == 40 and store.get_run(run_id).status == "complete"
    keys = [(r["test_idx"], r["prompt_idx"]) for r in store.results(run_id)]
    assert sorted(keys) == [(i, 0) for i in range(40)]  # every cell once


def test_bad_suites_are_refused_before_anything_starts(tmp_path: Path, store: Store) -> None:
    root = tmp_path / "work"
    suite(tmp_path / "outside")
    write_suite(root, {"prompts": ["{{ missing }}"], "providers": ["echo"],
                       "tests": [{"vars": {"x": 1}}]})
    jobs = JobManager(store, root)
    with pytest.raises(ConfigError, match="outside"):
        jobs.start(tmp_path / "outside" / "promptwork.yaml")
    with pytest.raises(ConfigError, match="suite file not found"):
        jobs.start("nowhere")

    async def go() -> Any:  # a problem the runner finds: the job fails, saying why
        job = jobs.start("promptwork.yaml")
        return await jobs.wait(job.id)

    job = asyncio.run(go())
    assert job.status == "failed" and "missing" in (job.error or "")
    assert store.list_runs() == []
    with pytest.raises(ConfigError, match="no job"):
        jobs.get("nope")

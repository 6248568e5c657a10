"""``--resume``: an interrupted optimization continues its run, replaying what it recorded."""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from promptwork.cli.main import main
from promptwork.errors import ConfigError
from promptwork.optimizer import OptimizeResult, aoptimize
from promptwork.optimizer.budget import ExampleScore
from promptwork.optimizer.candidate import Candidate, SeedPrompt
from promptwork.optimizer.history import Recorder
from promptwork.providers.scripted import ScriptedProvider
from promptwork.store import Store
from promptwork.types import Completion, Params, RenderedPrompt

from .kit import smart_answer, smart_provider

BUDGET = 90


class Interrupt(BaseException):
    """Stands for Ctrl-C in the middle of a search."""


class Dying(ScriptedProvider):
    """The smart fake model, interrupted after ``after`` calls."""

    def __init__(self, after: int, script: Any = smart_answer, id: str = "scripted:smart"):
        super().__init__(script, id=id)
        self.after = after

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        if len(self.calls) >= self.after:
            raise Interrupt
        return await super().complete(prompt, params)


def _texts(provider: ScriptedProvider) -> Counter[str]:
    return Counter(p.as_text() for p, _ in provider.calls)


def _same_result(a: OptimizeResult, b: OptimizeResult) -> None:
    assert a.best.body == b.best.body
    assert (a.seed_val, a.best_val) == (b.seed_val, b.best_val)
    assert a.test_seed == b.test_seed and a.test_best == b.test_best
    assert a.comparison is not None and b.comparison is not None
    assert a.comparison.p_value == b.comparison.p_value
    assert a.curve == b.curve
    assert [(s.candidate.hash, s.mean, s.n, s.calls) for s in a.history] == [
        (s.candidate.hash, s.mean, s.n, s.calls) for s in b.history]
    assert a.ablation == b.ablation
    assert a.budget["used"] == b.budget["used"] and a.report_calls == b.report_calls


@pytest.fixture
async def reference(suite_dir: Path, tmp_path: Path) -> tuple[OptimizeResult, ScriptedProvider]:
    """The same optimization, never interrupted (in a copy of the suite with its own store)."""
    copy = tmp_path / "reference"
    shutil.copytree(suite_dir, copy)
    provider = smart_provider()
    return await aoptimize(None, copy, budget=BUDGET, task_provider=provider), provider


async def _interrupt(suite_dir: Path, after: int = 30, **kw: Any) -> tuple[Dying, str]:
    """An optimization interrupted after ``after`` calls; returns the fake and the run id."""
    dying = Dying(after)
    with pytest.raises(Interrupt):
        await aoptimize(None, suite_dir, budget=BUDGET, task_provider=dying, **kw)
    store = Store.for_folder(suite_dir)
    try:
        run = store.get_run()
        assert run.settings["kind"] == "optimize" and run.status == "interrupted"
        assert 0 < run.done_cells <= after
        return dying, run.id
    finally:
        store.close()


async def test_resume_repeats_no_call_and_ends_like_an_uninterrupted_run(
    suite_dir: Path, reference: tuple[OptimizeResult, ScriptedProvider]
) -> None:
    expected, ref_provider = reference
    first, run_id = await _interrupt(suite_dir)
    second = smart_provider()
    result = await aoptimize(None, suite_dir, budget=BUDGET, task_provider=second, resume="")
    sent = _texts(first) + _texts(second)
    assert max(sent.values()) == 1, "a request was sent twice"
    assert sent == _texts(ref_provider)
    _same_result(result, expected)
    assert result.budget["used"] <= BUDGET
    # the run: the interrupted one, completed, each (candidate, phase, example) once
    assert result.run_id == run_id
    store = Store.for_folder(suite_dir)
    run = store.get_run(run_id)
    assert run.status == "complete" and [r.id for r in store.list_runs()] == [run_id]
    rows = list(store.results(run_id))
    keys = [(r["prompt_idx"], r["provider_idx"], r["test_idx"]) for r in rows]
    assert len(keys) == len(set(keys)) == run.total_cells == run.done_cells
    assert len(rows) == result.budget["used"] + result.report_calls
    assert len(run.settings["prompts"]) == len({r["prompt_idx"] for r in rows})
    assert run.settings["optimize"]["scores"]["best"]["val"] == result.best_val
    store.close()


async def test_resume_replays_the_record_without_the_call_cache(
    suite_dir: Path, reference: tuple[OptimizeResult, ScriptedProvider]
) -> None:
    """Recorded evaluations are answered from the run itself, and still charged."""
    expected, _ = reference
    _, run_id = await _interrupt(suite_dir, after=40)
    store = Store.for_folder(suite_dir)
    recorded = {r["prompt_text"] for r in store.results(run_id)}
    assert store.cache_clear() > 0
    store.close()
    second = smart_provider()
    result = await aoptimize(None, suite_dir, budget=BUDGET, task_provider=second,
                             resume=run_id[:12], use_cache=False)
    assert not recorded & set(_texts(second))
    _same_result(result, expected)
    assert result.budget["model_requests"] < result.budget["used"] <= BUDGET


async def test_a_resumed_proposer_is_answered_by_the_call_cache(
    suite_dir: Path, tmp_path: Path
) -> None:
    def propose(prompt: RenderedPrompt, params: Params) -> str:
        return "to reply with one word" if "review 1" in prompt.as_text() else "to be careful"

    copy = tmp_path / "reference"
    shutil.copytree(suite_dir, copy)
    options: dict[str, Any] = {"budget": BUDGET, "strategy": "instructions",
                               "proposer": "scripted:writer", "ablate": False}
    ref_writer = ScriptedProvider(propose, id="scripted:writer")
    expected = await aoptimize(None, copy, task_provider=smart_provider(),
                               proposer_provider=ref_writer, **options)
    writer = ScriptedProvider(propose, id="scripted:writer")
    with pytest.raises(Interrupt):
        await aoptimize(None, suite_dir, task_provider=Dying(35), proposer_provider=writer,
                        **options)
    assert writer.calls
    again = ScriptedProvider(propose, id="scripted:writer")
    result = await aoptimize(None, suite_dir, task_provider=smart_provider(),
                             proposer_provider=again, resume="", **options)
    asked = _texts(writer) + _texts(again)
    assert max(asked.values()) == 1 and asked == _texts(ref_writer)
    assert result.best.body == expected.best.body and result.curve == expected.curve
    assert result.budget["proposer_calls"] == expected.budget["proposer_calls"]


async def test_resume_with_another_plan_is_refused(suite_dir: Path) -> None:
    _, run_id = await _interrupt(suite_dir)
    provider = smart_provider()
    with pytest.raises(ConfigError, match=r"budget 90 \(now 100\)"):
        await aoptimize(None, suite_dir, budget=100, task_provider=provider, resume="")
    with pytest.raises(ConfigError, match=rf"cannot resume run {run_id}.*seed 0 \(now 3\)"):
        await aoptimize(None, suite_dir, budget=BUDGET, seed=3, task_provider=provider,
                        resume=run_id)
    with pytest.raises(ConfigError, match="metric 'pass' \\(now 'score'\\)"):
        await aoptimize(None, suite_dir, budget=BUDGET, metric="score", task_provider=provider,
                        resume="")
    assert provider.calls == []
    prompt = suite_dir / "prompts" / "seed.prompt"
    prompt.write_text(prompt.read_text().replace("Be brief.", "Be short."))
    with pytest.raises(ConfigError, match="a prompt or a data file changed"):
        await aoptimize(None, suite_dir, budget=BUDGET, task_provider=provider, resume=run_id)
    assert provider.calls == []


async def test_resume_needs_an_unfinished_optimization(suite_dir: Path) -> None:
    provider = smart_provider()
    with pytest.raises(ConfigError, match="no interrupted optimization to resume"):
        await aoptimize(None, suite_dir, budget=60, task_provider=provider, resume="")
    done = await aoptimize(None, suite_dir, budget=60, task_provider=provider, ablate=False)
    calls = len(provider.calls)
    assert done.run_id is not None
    with pytest.raises(ConfigError, match="is complete: nothing to resume"):
        await aoptimize(None, suite_dir, budget=60, task_provider=provider, resume=done.run_id)
    with pytest.raises(ConfigError, match="no run 'nope'"):
        await aoptimize(None, suite_dir, budget=60, task_provider=provider, resume="nope")
    assert len(provider.calls) == calls


async def test_without_resume_a_new_run_is_made(suite_dir: Path) -> None:
    _, run_id = await _interrupt(suite_dir)
    second = smart_provider()
    result = await aoptimize(None, suite_dir, budget=BUDGET, task_provider=second)
    assert result.run_id != run_id
    store = Store.for_folder(suite_dir)
    assert store.get_run(run_id).status == "interrupted"
    assert store.get_run(result.run_id).status == "complete"
    store.close()


def test_recorded_scores_come_back_whole(tmp_path: Path, seed_prompt: SeedPrompt) -> None:
    """Every field of a score survives the store, those without a column of their own too."""
    store = Store.for_folder(tmp_path)
    seed = Candidate.seed(seed_prompt)
    scores = [ExampleScore(3, True, 0.75, "positive", "all checks passed"),
              ExampleScore(4, False, 0.0, None, "timed out", "timed out", "timeout")]
    names = {f.name for f in dataclasses.fields(ExampleScore)}
    if "gold_logprob" in names:
        scores[0] = dataclasses.replace(scores[0], gold_logprob=-0.25)
    first = Recorder(store, seed_prompt, {"id": "scripted", "label": "scripted"}, {3: {}, 4: {}})
    run_id = first.start("f" * 64, None, 10, {"prompt": "p"}, "optimize p")
    for score in scores:
        first.phase(0)(seed, score, "the prompt")
    first.finish("interrupted")
    again = Recorder(store, seed_prompt, {"id": "scripted", "label": "scripted"}, {})
    assert again.attach(store.get_run(run_id)) == 2
    key = again.prompt_hash(seed)
    assert [again.recorded[0][(key, s.index)] for s in scores] == scores
    assert again.recorded[1] == {} and store.get_run(run_id).status == "running"
    store.close()


def test_cli_resume(suite_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    responses = {"one word": "positive", "*": "positive, I think"}
    suite = yaml.safe_load((suite_dir / "promptwork.yaml").read_text())
    suite["providers"] = [{"id": "scripted", "config": {"responses": responses}}]
    (suite_dir / "promptwork.yaml").write_text(yaml.safe_dump(suite))
    args = ["optimize", "1", "-c", str(suite_dir), "--budget", "60"]
    assert main([*args, "--resume"]) == 2
    assert "no interrupted optimization to resume" in capsys.readouterr().err
    # --resume before PROMPT: "1" is the prompt, not a run id
    assert main(["optimize", "--resume", "1", "-c", str(suite_dir), "--budget", "60"]) == 2
    assert "no interrupted optimization to resume" in capsys.readouterr().err
    import asyncio

    with pytest.raises(Interrupt):
        asyncio.run(aoptimize("1", suite_dir, budget=60,
                              task_provider=Dying(25, responses, id="scripted")))
    store = Store.for_folder(suite_dir)
    run_id = store.get_run().id
    store.close()
    assert main([*args, "--seed", "1", "--resume"]) == 2
    assert "seed 0 (now 1)" in capsys.readouterr().err
    assert main(["optimize", "--resume", run_id[:13], "1", "-c", str(suite_dir),
                 "--budget", "60", "--seed", "1"]) == 2  # a run id prefix stays a run id
    assert f"cannot resume run {run_id}" in capsys.readouterr().err
    assert main([*args, "--resume", run_id]) == 0
    captured = capsys.readouterr()
    assert f"resuming run {run_id}" in captured.err
    assert f"promptwork runs show {run_id}" in captured.err
    assert "seed vs best on the test split" in captured.out
    store = Store.for_folder(suite_dir)
    assert store.get_run(run_id).status == "complete" and len(store.list_runs()) == 1
    store.close()

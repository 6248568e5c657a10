"""The reflect strategy: GEPA-style rewrites from minibatch failures, Pareto parent choice."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from promptwork.calls import ModelCaller
from promptwork.cli.main import main
from promptwork.optimizer import aoptimize, plan_optimization
from promptwork.optimizer.api import _strategies
from promptwork.optimizer.budget import Budget, ExampleScore
from promptwork.optimizer.candidate import Candidate, SeedPrompt
from promptwork.optimizer.data import Example, load_examples, make_splits
from promptwork.optimizer.search import score_seed, search
from promptwork.optimizer.state import Scored, SearchState
from promptwork.optimizer.strategies import Proposer, ReflectStrategy
from promptwork.optimizer.strategies.reflect import pareto_pool, pick_parent
from promptwork.providers.scripted import ScriptedProvider
from promptwork.suite import load_suite
from promptwork.types import Params, RenderedPrompt

from .kit import make_state, smart_provider

FIX = "Answer with one word: positive or negative."


def _reviews(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"review (\d+)", text)}


def _writer(answer: str) -> ScriptedProvider:
    return ScriptedProvider(lambda prompt, params: answer, id="scripted:writer")


def _reflect(state: SearchState, writer: ScriptedProvider, **kw: int) -> ReflectStrategy:
    return ReflectStrategy(Proposer(ModelCaller(writer), state.budget), **kw)


async def test_a_rewrite_that_fixes_the_failures_is_accepted_and_raced(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    task, writer = smart_provider(), _writer(FIX)
    state, splits = make_state(seed_prompt, examples, task, budget=100)
    await score_seed(state)
    strategy = _reflect(state, writer, per_round=1)
    [child] = await strategy.propose(state)
    assert child.origin == "reflect" and child.parent == state.seed.hash
    assert child.layout.instruction == FIX
    assert child.note == f"reflected instruction {FIX!r}"
    assert child.body.endswith("Review: {{ review }}\nLabel:\n")
    train = {e.index for e in splits.train}
    batch = [i for i in train if state.evaluator.cache.peek(child.hash, i) is not None]
    assert len(batch) == 3  # the minibatch, from the training split only
    assert all(state.evaluator.cache.peek(state.seed.hash, i) is not None for i in batch)
    assert state.budget.spent == len(task.calls) == len(splits.val) + 6
    assert state.budget.proposer_calls == len(writer.calls) == 1
    best = await search(state, [strategy], max_rounds=1)
    assert best.candidate.origin == "reflect" and best.mean == 1.0
    assert FIX in best.candidate.body
    assert state.budget.spent == len(task.calls)  # minibatch scores counted once, reused


def _picky(prompt: RenderedPrompt, params: Params) -> str:
    """Right on even reviews with the seed, always with "one word", never when told "sloppy"."""
    text = prompt.as_text()
    n = int(re.findall(r"review (\d+)", text)[-1])
    label = "positive" if n % 2 == 0 else "negative"
    if "sloppy" in text:
        return "dunno"
    return label if "one word" in text or n % 2 == 0 else "unsure"


@pytest.mark.parametrize(("answer", "scored"), [
    ("???", False),  # garbage: cleaned away, never scored
    ("Be sloppy about the label.", True),  # worse on the minibatch
    ("Decide if the review is positive or negative.", True),  # a tie is not a win
])
async def test_rewrites_that_do_not_win_the_minibatch_are_never_raced(
    seed_prompt: SeedPrompt, examples: list[Example], answer: str, scored: bool
) -> None:
    task, writer = ScriptedProvider(_picky), _writer(answer)
    state, splits = make_state(seed_prompt, examples, task, budget=200)
    await score_seed(state)
    strategy = _reflect(state, writer, per_round=3)
    assert await strategy.propose(state) == []
    assert len(writer.calls) >= 1
    rewrite_calls = [p for p, _ in task.calls if "Be brief" not in p.as_text()]
    assert bool(rewrite_calls) == scored
    train = {e.index for e in splits.train}
    assert all(_reviews(p.as_text()) <= train for p in rewrite_calls)
    best = await search(state, [strategy], max_rounds=2)
    assert best.candidate is state.seed
    assert [s.candidate for s in state.history] == [state.seed]


def _scored(state: SearchState, cand: Candidate, passes: dict[int, bool]) -> None:
    val = list(state.data.val)
    for pos, ok in passes.items():
        state.evaluator.cache.put(cand.hash, ExampleScore(val[pos].index, ok, float(ok), "x"))
    state.history.append(Scored(cand, sum(passes.values()) / len(passes), len(passes), 0))


def _pareto_state(seed_prompt: SeedPrompt, examples: list[Example],
                  rng_seed: int) -> tuple[SearchState, list[Candidate]]:
    state, _ = make_state(seed_prompt, examples, ScriptedProvider(), budget=10)
    state.rng = random.Random(rng_seed)
    seed = state.seed
    a, b, c, d = (seed.derive(layout=seed.layout.with_instruction(f"Variant {x} of the task."),
                              origin="reflect") for x in "abcd")
    _scored(state, seed, dict.fromkeys(range(9), False))
    state.incumbent = state.history[0]
    _scored(state, a, {0: True, 1: True, 2: True, 3: False, 4: False})  # leads 0, 1, 2
    _scored(state, b, {0: False, 1: False, 2: False, 3: True})  # leads 3
    _scored(state, c, {0: True})  # ties a on 0: leads it too
    _scored(state, d, {1: False, 3: False, 5: False})  # best nowhere
    return state, [a, b, c, d]


def test_the_parent_comes_from_the_pareto_pool_by_examples_led(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    state, (a, b, c, d) = _pareto_state(seed_prompt, examples, 0)
    assert [(cand.hash, n) for cand, n in pareto_pool(state)] == [
        (a.hash, 3), (b.hash, 1), (c.hash, 1)]
    picks = Counter(pick_parent(state).hash for _ in range(2000))
    assert set(picks) == {a.hash, b.hash, c.hash} and d.hash not in picks
    assert 0.55 < picks[a.hash] / 2000 < 0.65 and 0.15 < picks[b.hash] / 2000 < 0.25
    # deterministic for a seed
    runs = [_pareto_state(seed_prompt, examples, s)[0] for s in (7, 7, 8)]
    seqs = [[pick_parent(r).hash for _ in range(20)] for r in runs]
    assert seqs[0] == seqs[1] != seqs[2]


def test_without_a_leader_the_parent_is_the_incumbent(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    state, _ = make_state(seed_prompt, examples, ScriptedProvider(), budget=10)
    _scored(state, state.seed, dict.fromkeys(range(9), False))
    state.incumbent = state.history[0]
    assert pareto_pool(state) == []
    assert pick_parent(state) is state.seed


async def test_the_reflection_prompt_shows_outputs_references_and_reasons(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    task, writer = smart_provider(), _writer(FIX)
    state, splits = make_state(seed_prompt, examples, task, budget=100)
    await score_seed(state)
    await _reflect(state, writer, per_round=1).propose(state)
    [(prompt, _)] = writer.calls
    text = prompt.as_text()
    assert "Decide if the review is positive or negative. Be brief." in text
    shown = _reviews(text)
    assert len(shown) == 3 and shown <= {e.index for e in splits.train}
    for n in shown:
        found = state.evaluator.cache.peek(state.seed.hash, n)
        assert found is not None and not found.passed
        label = "positive" if n % 2 == 0 else "negative"
        assert found.output == f"I would say {label} maybe"
        assert found.reason.startswith("equals")
        assert (f"Input: review {n}\nModel output: I would say {label} maybe\n"
                f"Expected answer: {label}\nFeedback: wrong; {found.reason}") in text
    assert text.rstrip().endswith("Improved instruction:")


@pytest.mark.parametrize("search", [9, 12, 15, 23, 24, 60])
async def test_the_budget_is_never_exceeded_and_the_test_split_never_seen(
    suite_dir: Path, search: int
) -> None:
    task, writer = smart_provider(), _writer(FIX)
    budget = search + 18  # the test report (seed and best on 9 test examples) is reserved
    result = await aoptimize(None, suite_dir, budget=budget, strategy="reflect",
                             task_provider=task, proposer_provider=writer,
                             use_cache=False, ablate=False)
    assert result.budget["used"] <= search and result.budget["model_requests"] <= search
    assert len(task.calls) <= budget
    suite = load_suite(suite_dir)
    split = make_splits(load_examples(suite.tests, frozenset({"review"})),
                        result.plan.ratios, result.plan.seed)
    test = {e.index for e in split.test}
    search_calls = [p for p, _ in task.calls][: result.budget["model_requests"]]
    assert not any(_reviews(p.as_text()) & test for p in search_calls)
    assert all(_reviews(p.as_text()) & test for p, _ in task.calls[len(search_calls):])
    assert not any(_reviews(p.as_text()) & test for p, _ in writer.calls)
    assert result.budget["proposer_calls"] == len(writer.calls)
    assert result.plan.proposer == "scripted:smart"  # defaults to the task model
    # a reflection is tried only when what it accepts can still be raced on validation (9)
    assert bool(writer.calls) == (search >= 9 + 6 + 9)
    if writer.calls:
        assert result.best.origin == "reflect" and result.best_val == 1.0


def test_registration(suite_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = plan_optimization(None, suite_dir, strategy="reflect", task_provider=smart_provider())
    assert plan.proposer == "scripted:smart"
    assert plan_optimization(None, suite_dir, task_provider=smart_provider()).proposer is None
    proposer = Proposer(ModelCaller(_writer(FIX)), Budget(1))
    assert [s.name for s in _strategies("reflect", proposer)] == ["reflect"]
    assert [s.name for s in _strategies("auto", proposer)] == [
        "components", "demos", "instructions", "reflect"]
    assert "reflect" not in [s.name for s in _strategies("auto", None)]
    suite = yaml.safe_load((suite_dir / "promptwork.yaml").read_text())
    suite["providers"] = [{"id": "scripted", "config": {"responses": {"*": "positive"}}}]
    (suite_dir / "promptwork.yaml").write_text(yaml.safe_dump(suite))
    code = main(["optimize", "1", "-c", str(suite_dir), "--dry-run", "--strategy", "reflect"])
    out = capsys.readouterr().out
    assert code == 0 and "strategy: reflect" in out and "proposer: scripted;" in out

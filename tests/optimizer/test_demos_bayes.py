"""Bayesian (TPE) search over demo sets."""

from __future__ import annotations

import re
from typing import Any

import optuna
from optuna.trial import TrialState

from promptwork.optimizer.candidate import SeedPrompt
from promptwork.optimizer.data import Example
from promptwork.optimizer.search import race, score_seed
from promptwork.optimizer.strategies import DemoStrategy
from promptwork.optimizer.strategies.demos import distinct
from promptwork.providers.scripted import ScriptedProvider
from promptwork.types import Params, RenderedPrompt

from .kit import gold, make_state

#: Demos of these reviews make the model answer wrongly (a third of the training examples).
POISON = frozenset(range(0, 30, 3))
_NUMBER = re.compile(r"Review: review (\d+)")


def poisoned_answer(prompt: RenderedPrompt, params: Params) -> str:
    """Right unless poisoned demos are shown: each one spoils another third of the queries."""
    *demos, query = (int(n) for n in _NUMBER.findall(prompt.as_text()))
    bad = sum(d in POISON for d in demos)
    return "unsure" if bad and query % 3 < bad else gold(query)


async def _rounds(
    seed_prompt: SeedPrompt, examples: list[Example], strategy: DemoStrategy, seed: int,
    rounds: int, cap: int = 10**6,
) -> tuple[Any, list[list[tuple[int, ...]]]]:
    """Propose and race ``rounds`` times; the state and each round's demo sets (by index)."""
    state, _ = make_state(seed_prompt, examples, ScriptedProvider(poisoned_answer),
                          budget=10**6, seed=seed)
    await score_seed(state)
    proposed = []
    for r in range(rounds):
        state.round = r
        candidates = await strategy.propose(state)
        proposed.append([tuple(d.index for d in c.demos) for c in candidates])
        results = await race(state, state.fresh(candidates), cap)
        state.seen.update(s.candidate.hash for s in results)
        state.history.extend(results)
    return state, proposed


def _poisoned(sets: list[list[tuple[int, ...]]]) -> int:
    return sum(any(i in POISON for i in s) for r in sets for s in r)


async def test_bayesian_rounds_avoid_the_demos_that_spoil_answers(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    counts: dict[str, int] = {}
    for search in ("random", "bayes"):
        counts[search] = 0
        for seed in range(3):
            # No teacher: its bootstrap already filters poisoned demos out, which this test
            # does not measure (test_strategies.py does).
            strategy = DemoStrategy(search=search, teacher_shots=0)
            _, sets = await _rounds(seed_prompt, examples, strategy, seed, 8)
            counts[search] += _poisoned(sets[1:])  # after the shared random first round
    # 3 seeds x 7 rounds x 4 sets = 84 sets; random ones hold a poisoned demo ~3 times in 4.
    assert counts["random"] >= 50
    assert counts["bayes"] <= counts["random"] - 12


async def test_the_later_bayesian_rounds_are_cleaner_than_the_first(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    first = late = 0
    for seed in range(3):
        _, sets = await _rounds(seed_prompt, examples, DemoStrategy(), seed, 8)
        first += _poisoned(sets[:1])
        late += _poisoned(sets[-1:])
    assert late < first


async def test_trials_are_told_the_race_scores(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    strategy = DemoStrategy()
    state, _ = await _rounds(seed_prompt, examples, strategy, seed=1, rounds=4)
    assert strategy.tpe is not None
    strategy.tpe.observe(state)
    means = {s.candidate.hash: s.mean for s in state.history}
    trials = strategy.tpe.study.trials
    assert len(trials) == 16
    assert all(t.state == TrialState.COMPLETE for t in trials)
    for trial in trials:
        assert trial.value == means[trial.user_attrs["candidate"]]
    # Partial means of candidates dropped early are told too.
    assert any(s.n < len(state.data.val) for s in state.history[1:])
    assert {t.value for t in trials} > {1.0}


async def test_trimmed_sets_are_never_told_a_score(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    strategy = DemoStrategy()
    state, _ = await _rounds(seed_prompt, examples, strategy, seed=0, rounds=2, cap=12)
    assert strategy.tpe is not None
    strategy.tpe.observe(state)
    raced = {s.candidate.hash for s in state.history}
    trials = strategy.tpe.study.trials
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert failed, "a cap of 12 calls cannot race four sets"
    assert all(t.user_attrs["candidate"] not in raced for t in failed)
    assert all(t.user_attrs["candidate"] in raced for t in trials if t not in failed)


async def test_the_same_seed_proposes_the_same_sets(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    runs = [(await _rounds(seed_prompt, examples, DemoStrategy(), seed, 5))[1]
            for seed in (4, 4, 5)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


async def test_random_search_makes_no_study_and_optuna_logging_is_left_as_it_was(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    strategy = DemoStrategy(search="random")
    await _rounds(seed_prompt, examples, strategy, seed=0, rounds=2)
    assert strategy.tpe is None
    before = optuna.logging.get_verbosity()
    bayes = DemoStrategy()
    await _rounds(seed_prompt, examples, bayes, seed=0, rounds=3)
    assert bayes.tpe is not None
    assert optuna.logging.get_verbosity() == before


def test_a_demo_picked_twice_is_replaced_by_the_next_unused_one() -> None:
    assert distinct([3, 3, 11, 0], 12) == [3, 4, 11, 0]
    assert distinct([11, 11, 0], 12) == [11, 0, 1]
    assert distinct([2, 5, 7], 12) == [2, 5, 7]

"""Racing (successive halving) and the search loop."""

from __future__ import annotations

import pytest

from promptwork.optimizer.candidate import Candidate, SeedPrompt
from promptwork.optimizer.data import Example
from promptwork.optimizer.search import race, race_cost, rung_sizes, score_seed, search
from promptwork.optimizer.strategies import ComponentStrategy, DemoStrategy

from .kit import make_state, smart_provider


def test_rung_sizes_double_up_to_the_whole_split() -> None:
    assert rung_sizes(1, 12) == [12]
    assert rung_sizes(8, 30) == [4, 8, 16, 30]
    assert rung_sizes(2, 30) == [15, 30]
    assert rung_sizes(16, 10) == [3, 6, 10]
    assert rung_sizes(4, 0) == []
    # 8 candidates on 4, then 4 on 8 (4 new each), 2 on 16 (8 new), 1 on 30 (14 new)
    assert race_cost(8, 30) == 8 * 4 + 4 * 4 + 2 * 8 + 1 * 14
    assert race_cost(1, 9) == 9


def _variants(seed: Candidate, good: int, bad: int) -> list[Candidate]:
    out = []
    for i in range(bad):
        out.append(seed.derive(layout=seed.layout.add(f"Filler number {i}."), note=f"bad {i}"))
    for i in range(good):
        out.append(seed.derive(layout=seed.layout.add(f"Answer with one word, variant {i}."),
                               note=f"good {i}"))
    return out


async def test_racing_drops_losers_early_and_fully_scores_finalists(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    state, splits = make_state(seed_prompt, examples, smart_provider(), budget=500)
    await score_seed(state)
    n_val = len(splits.val)
    candidates = _variants(state.seed, good=1, bad=7)
    results = await race(state, candidates, cap=500)
    by_note = {s.candidate.note: s for s in results}
    assert by_note["good 0"].n == n_val and by_note["good 0"].mean == 1.0
    losers = [s for s in results if s.candidate.note.startswith("bad")]
    assert all(s.n < n_val for s in losers)
    assert min(s.n for s in losers) == rung_sizes(8, n_val)[0]
    spent = state.budget.spent - n_val
    assert spent <= race_cost(8, n_val)


async def test_race_trims_candidates_to_its_cap(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    state, _ = make_state(seed_prompt, examples, smart_provider(), budget=500)
    before = state.budget.spent
    results = await race(state, _variants(state.seed, good=2, bad=6), cap=20)
    assert state.budget.spent - before <= 20
    assert 0 < len(results) < 8
    assert await race(state, _variants(state.seed, 1, 1), cap=1) == []


@pytest.mark.parametrize("budget", [9, 10, 11, 17, 25, 40, 64, 101, 250])
@pytest.mark.parametrize("seed", [0, 1])
async def test_search_never_exceeds_the_budget(
    seed_prompt: SeedPrompt, examples: list[Example], budget: int, seed: int
) -> None:
    provider = smart_provider()
    state, _ = make_state(seed_prompt, examples, provider, budget=budget, seed=seed)
    await search(state, [ComponentStrategy(), DemoStrategy()])
    assert state.budget.spent <= budget
    assert len(provider.calls) <= budget
    assert state.budget.attempts == len(provider.calls)
    assert [c for c, _ in state.curve] == sorted(c for c, _ in state.curve)


async def test_search_finds_what_the_model_rewards_and_never_sees_the_test_split(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    provider = smart_provider()
    state, splits = make_state(seed_prompt, examples, provider, budget=150)
    best = await search(state, [ComponentStrategy(), DemoStrategy()])
    assert best.mean == 1.0 > state.history[0].mean
    assert best.candidate is not state.seed
    test_inputs = {f"Review: {e.vars['review']}\n" for e in splits.test}
    for prompt, _ in provider.calls:
        text = prompt.as_text() + "\n"
        assert not any(t in text for t in test_inputs)
    search_ids = {e.index for e in (*splits.train, *splits.val)}
    demo_ids = {d.index for s in state.history for d in s.candidate.demos}
    assert demo_ids <= {e.index for e in splits.train} <= search_ids


async def test_an_incumbent_is_replaced_only_by_a_higher_full_validation_score(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    state, splits = make_state(seed_prompt, examples, smart_provider(), budget=200)
    await search(state, [ComponentStrategy()])
    scores = [score for _, score in state.curve]
    assert scores == sorted(scores)
    assert state.best.n == len(splits.val)

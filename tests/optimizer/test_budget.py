"""The budget is never exceeded, and the score cache never repeats a (prompt, example) call."""

from __future__ import annotations

import pytest

from promptwork.calls import CallPolicy, ModelCaller
from promptwork.errors import ProviderError
from promptwork.optimizer.budget import Budget, BudgetedProvider, BudgetExhausted, ScoreCache
from promptwork.optimizer.candidate import Candidate, Evaluator, SeedPrompt
from promptwork.optimizer.data import Example
from promptwork.providers.scripted import ScriptedProvider
from promptwork.types import Params, RenderedPrompt

from .kit import smart_provider


def test_take_is_all_or_nothing() -> None:
    budget = Budget(5)
    budget.take(3)
    with pytest.raises(BudgetExhausted):
        budget.take(3)
    assert budget.spent == 3 and budget.remaining == 2
    budget.take(2)
    assert not budget.can_afford(1)
    budget.refund(1)
    assert budget.remaining == 1
    with pytest.raises(ValueError):
        Budget(-1)


def test_proposer_calls_are_counted_apart() -> None:
    budget = Budget(1, proposer_limit=2)
    assert budget.take_proposer() and budget.take_proposer()
    assert not budget.take_proposer()
    assert budget.spent == 0 and budget.proposer_calls == 2


async def test_wrapped_provider_refuses_requests_beyond_the_limit() -> None:
    inner = ScriptedProvider(["ok"])
    budget = Budget(2)
    provider = BudgetedProvider(inner, budget)
    assert provider.cache_identity() == inner.cache_identity()
    prompt = RenderedPrompt.from_text("hi")
    await provider.complete(prompt, Params())
    batch = await provider.complete_batch([(prompt, Params())] * 3)
    assert [isinstance(b, ProviderError) for b in batch] == [False, True, True]
    with pytest.raises(ProviderError, match="budget"):
        await provider.complete(prompt, Params())
    assert len(inner.calls) == 2 == budget.attempts


async def test_retries_count_and_never_pass_the_limit() -> None:
    inner = ScriptedProvider([ProviderError("busy", kind="server")])
    budget = Budget(3)
    caller = ModelCaller(BudgetedProvider(inner, budget),
                         policy=CallPolicy(max_attempts=10, base_delay=0.0), sleep=_no_sleep)
    outcome = await caller.call(RenderedPrompt.from_text("x"), Params())
    assert isinstance(outcome, ProviderError)
    assert len(inner.calls) == 3


async def _no_sleep(_: float) -> None:
    return None


def _evaluator(seed_prompt: SeedPrompt, provider: ScriptedProvider, budget: Budget,
               allowed: frozenset[int] | None = None) -> Evaluator:
    caller = ModelCaller(BudgetedProvider(provider, budget), concurrency=1)
    return Evaluator(seed_prompt, caller, budget, ScoreCache(), allowed=allowed)


async def test_score_cache_repeats_nothing(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    provider = smart_provider()
    budget = Budget(100)
    evaluator = _evaluator(seed_prompt, provider, budget)
    seed = Candidate.seed(seed_prompt)
    first = await evaluator.score(seed, examples[:5])
    again = await evaluator.score(seed, examples[:5])
    assert first == again
    assert len(provider.calls) == 5 == budget.spent
    more = await evaluator.score(seed, examples[3:8] + examples[3:4])
    assert len(provider.calls) == 8 == budget.spent  # only 5, 6, 7 were new
    assert [s.index for s in more] == [3, 4, 5, 6, 7, 3]
    same_text = seed.derive(note="another name, same text")
    assert same_text.body == seed.body
    await evaluator.score(same_text, examples[:8])
    assert len(provider.calls) == 8
    texts = [p.as_text() for p, _ in provider.calls]
    assert len(set(texts)) == len(texts)


async def test_unaffordable_scoring_is_refused_before_any_call(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    provider = smart_provider()
    budget = Budget(4)
    evaluator = _evaluator(seed_prompt, provider, budget)
    with pytest.raises(BudgetExhausted):
        await evaluator.score(Candidate.seed(seed_prompt), examples[:5])
    assert provider.calls == [] and budget.spent == 0


async def test_examples_outside_the_search_are_refused(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    provider = smart_provider()
    evaluator = _evaluator(seed_prompt, provider, Budget(10), allowed=frozenset({0, 1}))
    with pytest.raises(ValueError, match="not available"):
        await evaluator.score(Candidate.seed(seed_prompt), examples[:3])
    assert provider.calls == []


async def test_scores_follow_the_checks(seed_prompt: SeedPrompt, examples: list[Example]) -> None:
    evaluator = _evaluator(seed_prompt, smart_provider(), Budget(10))
    seed = Candidate.seed(seed_prompt)
    scores = await evaluator.score(seed, examples[:2])
    assert [s.passed for s in scores] == [False, False]
    assert scores[0].output == "I would say positive maybe"
    better = seed.derive(layout=seed.layout.add("Answer with one word."))
    assert [s.passed for s in await evaluator.score(better, examples[:2])] == [True, True]
    assert [s.value("pass") for s in await evaluator.score(better, examples[:2])] == [1.0, 1.0]


async def test_a_candidate_with_a_foreign_variable_is_invalid(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    provider = smart_provider()
    budget = Budget(10)
    evaluator = _evaluator(seed_prompt, provider, budget)
    seed = Candidate.seed(seed_prompt)
    bad = seed.derive(layout=seed.layout.add("Use {{ secret }}."))
    assert not evaluator.valid(bad)
    scores = await evaluator.score(bad, examples[:2])
    assert all(s.error for s in scores) and provider.calls == [] and budget.spent == 0

"""The gold answer's log-probability as a tie-breaker when racing."""

from __future__ import annotations

import re

import pytest

from promptwork.optimizer.budget import GOLD_FLOOR, ExampleScore, gold_logprob, gold_mean
from promptwork.optimizer.candidate import TOP_LOGPROBS, Candidate, SeedPrompt
from promptwork.optimizer.data import Example
from promptwork.optimizer.search import race, rank, score_seed
from promptwork.providers.base import COMMON_PARAMS
from promptwork.providers.scripted import ScriptedProvider
from promptwork.types import Completion, Params, RenderedPrompt, TokenLogprob

from .kit import gold, make_state

T = TokenLogprob
_NUMBER = re.compile(r"Review: review (\d+)")
_STYLE = re.compile(r"Style (\w+) (-?[\d.]+)\.")


def test_gold_logprob_sums_the_tokens_of_an_answer_that_starts_with_it() -> None:
    tokens = (T(" pos", -0.25), T("itive", -0.5), T("\n", -1.0))
    assert gold_logprob("positive", " positive\n", tokens) == -0.75
    assert gold_logprob(" positive ", " positive\n", tokens) == -0.75


def test_gold_logprob_falls_back_to_the_first_position_then_to_the_floor() -> None:
    top = (T(" negative", -0.2), T(" pos", -1.5), T(" positive", -1.75))
    tokens = (T(" negative", -0.2, top), T("\n", -0.1))
    assert gold_logprob("positive", " negative\n", tokens) == -1.5  # the best prefix
    assert gold_logprob("neutral", " negative\n", tokens) == GOLD_FLOOR
    assert gold_logprob("positive", " negative", (T(" negative", -0.2),)) == GOLD_FLOOR
    assert gold_logprob("positive", "x", None) is None
    assert gold_logprob(None, " positive", tokens) is None


def _score(i: int, passed: bool, gold_lp: float | None) -> ExampleScore:
    return ExampleScore(i, passed, float(passed), "x", gold_logprob=gold_lp)


def test_gold_mean_needs_every_score() -> None:
    assert gold_mean([_score(0, True, -1.0), _score(1, False, -3.0)]) == -2.0
    assert gold_mean([_score(0, True, -1.0), _score(1, False, None)]) is None
    assert gold_mean([]) is None


def test_rank_breaks_metric_ties_by_gold_logprob_only() -> None:
    assert rank([0.5, 0.5, 0.5], [-3.0, -1.0, -2.0]) == [1, 2, 0]
    # A higher metric always ranks first, whatever its gold logprob.
    assert rank([0.5, 0.75, 0.5], [-0.1, -19.0, -2.0]) == [1, 0, 2]
    # Ties stay in their order when one of the tied candidates has no gold logprob.
    assert rank([0.5, 0.5, 0.25], [None, -1.0, None]) == [0, 1, 2]
    assert rank([0.5, 0.5, 0.25], [-4.0, -1.0, None]) == [1, 0, 2]


def styled_answer(prompt: RenderedPrompt, params: Params) -> Completion:
    """A label whose logprob the prompt sets: ``Style <kind> <logprob>.`` in the instruction.

    ``sure`` answers every review right; ``shaky`` gets every third wrong (with the gold label
    second at the first position).
    """
    text = prompt.as_text()
    n = int(_NUMBER.findall(text)[-1])
    found = _STYLE.search(text)
    kind, lp = (found.group(1), float(found.group(2))) if found else ("sure", -2.0)
    label = gold(n)
    if kind == "shaky" and n % 3 == 0:
        other = "negative" if label == "positive" else "positive"
        top = (T(other, -0.1), T(label, -2.5))
        return Completion(other, "x", logprobs=(T(other, -0.1, top),))
    return Completion(label, "x", logprobs=(T(label, lp, (T(label, lp),)),))


def _styled(seed: Candidate, styles: list[tuple[str, float]]) -> list[Candidate]:
    return [seed.derive(layout=seed.layout.add(f"Style {kind} {lp}."), note=f"{kind} {lp}")
            for kind, lp in styles]


async def test_candidates_with_the_same_pass_rate_race_by_gold_logprob(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    state, splits = make_state(seed_prompt, examples, ScriptedProvider(styled_answer), 500)
    await score_seed(state)
    # Every candidate passes everything; the most confident comes last in the list.
    candidates = _styled(state.seed, [("sure", -3.0), ("sure", -2.0), ("sure", -1.5),
                                      ("sure", -0.25)])
    results = await race(state, candidates, cap=500)
    assert all(s.mean == 1.0 for s in results)
    finalists = [s.candidate.note for s in results if s.n == len(splits.val)]
    assert finalists == ["sure -0.25"]
    scored = {s.candidate.note: s.n for s in results}
    assert scored["sure -1.5"] > scored["sure -3.0"] == scored["sure -2.0"]


async def test_a_higher_pass_rate_ranks_first_whatever_its_logprobs(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    state, splits = make_state(seed_prompt, examples, ScriptedProvider(styled_answer), 500)
    await score_seed(state)
    candidates = _styled(state.seed, [("shaky", -0.01), ("shaky", -0.02), ("shaky", -0.03),
                                      ("sure", -15.0)])
    results = await race(state, candidates, cap=500)
    by_note = {s.candidate.note: s for s in results}
    assert by_note["sure -15.0"].n == len(splits.val)
    assert by_note["sure -15.0"].mean == 1.0
    assert all(s.n < len(splits.val) for s in results if s.candidate.note.startswith("shaky"))


async def test_logprobs_are_asked_for_examples_with_a_reference(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    provider = ScriptedProvider(styled_answer)
    state, splits = make_state(seed_prompt, examples, provider, 100)
    scores = await state.evaluator.score(state.seed, list(splits.val))
    assert all(p.logprobs is True and p.top_logprobs == TOP_LOGPROBS for _, p in provider.calls)
    assert all(s.gold_logprob == -2.0 for s in scores)
    unlabelled = Example(splits.val[0].test)
    assert state.evaluator.params(Params(temperature=0), unlabelled) == Params(temperature=0)


class NoLogprobs(ScriptedProvider):
    supported_params = COMMON_PARAMS


@pytest.mark.parametrize("supported", [COMMON_PARAMS, COMMON_PARAMS | {"logprobs"}])
async def test_no_logprobs_requested_without_top_logprobs_support(
    seed_prompt: SeedPrompt, examples: list[Example], supported: frozenset[str]
) -> None:
    provider = NoLogprobs(styled_answer)
    provider.supported_params = supported  # type: ignore[misc]
    state, splits = make_state(seed_prompt, examples, provider, 100)
    scores = await state.evaluator.score(state.seed, list(splits.val))
    # logprobs alone (API models that may refuse them, no alternatives) is not enough
    assert provider.calls
    assert all(p.logprobs is None and p.top_logprobs is None for _, p in provider.calls)
    assert all(s.gold_logprob is None for s in scores)


def test_top_logprobs_survive_the_store_cache() -> None:
    from promptwork.calls import completion_from_cache, completion_to_cache

    top = (T(" negative", -0.2), T(" positive", -1.75))
    done = Completion(" negative", "x", logprobs=(T(" negative", -0.2, top), T("\n", -0.1)))
    back = completion_from_cache(completion_to_cache(done), "x")
    assert back is not None and back.logprobs == done.logprobs
    old = completion_from_cache({"text": "a", "logprobs": [["a", -0.5]]}, "x")
    assert old is not None and old.logprobs == (T("a", -0.5),)

"""The search operators: demos, components and instructions."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from promptwork.calls import ModelCaller
from promptwork.optimizer.candidate import Candidate, SeedPrompt
from promptwork.optimizer.data import Example, load_examples
from promptwork.optimizer.search import score_seed, search
from promptwork.optimizer.strategies import (
    ComponentStrategy,
    DemoStrategy,
    InstructionStrategy,
    Proposer,
)
from promptwork.optimizer.strategies.components import apply_edits, label_fragment
from promptwork.optimizer.strategies.instructions import clean_instruction
from promptwork.optimizer.strategies.trim import prefixes, trim_answer
from promptwork.providers.scripted import ScriptedProvider
from promptwork.suite import load_suite
from promptwork.types import Params, RenderedPrompt

from .kit import gold, make_state, smart_provider, write_sentiment_suite


async def test_demo_sets_come_from_train_balanced_in_the_query_format(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    state, splits = make_state(seed_prompt, examples, smart_provider(), budget=100)
    await score_seed(state)
    proposals = await DemoStrategy().propose(state)
    train = {e.index: e for e in splits.train}
    assert [len(c.demos) for c in proposals] == [2, 4, 6, 8]
    for cand in proposals:
        assert all(d.index in train and d.answer == train[d.index].reference
                   for d in cand.demos)
        counts = Counter(d.answer for d in cand.demos)
        assert counts["positive"] == counts["negative"]
        assert cand.body.count("\nLabel: ") == len(cand.demos)
        assert cand.body.endswith("Review: {{ review }}\nLabel:\n")


async def test_without_references_demos_are_bootstrapped_from_passing_outputs(
    tmp_path: Path,
) -> None:
    write_sentiment_suite(tmp_path, check={"type": "python", "value": "'maybe' not in output"})
    suite = load_suite(tmp_path)
    seed_prompt = SeedPrompt.of(suite.prompts[0].template)
    examples = load_examples(suite.tests, seed_prompt.variables)

    def answer(prompt: RenderedPrompt, params: Params) -> str:
        text = prompt.as_text()
        return "fine" if text.rstrip().endswith(("0\nLabel:", "2\nLabel:")) else "maybe"

    provider = ScriptedProvider(answer)
    state, splits = make_state(seed_prompt, examples, provider, budget=200)
    pool = await DemoStrategy().pool(state)
    assert pool, "some training examples end in 0 or 2"
    assert all(d.source == "bootstrap" and d.answer == "fine" for d in pool)
    assert {d.index for d in pool} <= {e.index for e in splits.train}


async def test_bootstrapped_answers_keep_only_what_the_checks_needed(tmp_path: Path) -> None:
    """A model that goes on after its answer: the demo shows the shortest prefix (first
    sentence, else first line) that still passes the example's checks, never a failing one."""
    write_sentiment_suite(tmp_path, check={"type": "python",
                                           "value": "context['vars']['review'] in output.lower()"},
                          with_label=False)
    suite = load_suite(tmp_path)
    seed_prompt = SeedPrompt.of(suite.prompts[0].template)
    examples = load_examples(suite.tests, seed_prompt.variables)

    def answer(prompt: RenderedPrompt, params: Params) -> str:
        n = int(re.findall(r"review (\d+)", prompt.as_text())[-1])
        if n % 3 == 0:  # the first sentence passes: the rest goes
            return f"Review {n}. The next"
        if n % 3 == 1:  # the first sentence fails, the first line passes
            return f"Ok. review {n}\nCartagena"
        return f"Well.\nreview {n}"  # only the whole answer passes (max_tokens is 5)

    state, _ = make_state(seed_prompt, examples, ScriptedProvider(answer), budget=200)
    pool = await DemoStrategy().pool(state)
    assert {d.index % 3 for d in pool} == {0, 1, 2} and all(d.source == "bootstrap"
                                                            for d in pool)
    for demo in pool:
        n = demo.index
        assert demo.answer == {0: f"Review {n}.", 1: f"Ok. review {n}",
                               2: f"Well.\nreview {n}"}[n % 3]
    first = examples[0]  # the three cases on one example, directly
    assert await trim_answer(first, "Review 0. The next question is about") == "Review 0."
    assert await trim_answer(first, "Seen it. It was review 0\nAnswer: x") == \
        "Seen it. It was review 0"
    assert await trim_answer(first, "Well.\nIt was review 0, long") == \
        "Well.\nIt was review 0, long"


async def test_trimming_keeps_answers_whose_checks_need_a_grading_model(tmp_path: Path) -> None:
    write_sentiment_suite(tmp_path, check={"type": "llm-rubric", "value": "names a city"},
                          with_label=False)
    suite = load_suite(tmp_path)
    example = load_examples(suite.tests, frozenset({"review"}))[0]
    assert await trim_answer(example, "Cartagena. The next") == "Cartagena. The next"
    assert prefixes("Cartagena. The next\nmore") == ["Cartagena.", "Cartagena. The next"]
    assert prefixes("Cartagena") == [] and prefixes("It is 3.5 km away") == []


def _number(demo_or_text: str) -> int:
    return int(demo_or_text.rsplit(" ", 1)[-1])


async def test_with_references_a_teacher_bootstraps_demos_the_model_gets_right(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    def answer(prompt: RenderedPrompt, params: Params) -> str:
        # Right only with at least two demos shown, and never on reviews 1, 5, 9, ...
        *demos, query = prompt.as_text().split("Review: ")[1:]
        n = _number(query.split("\n")[0])
        return gold(n) if len(demos) >= 2 and n % 4 != 1 else "maybe"

    state, splits = make_state(seed_prompt, examples, ScriptedProvider(answer), budget=300)
    await score_seed(state)
    spent = state.budget.spent
    strategy = DemoStrategy()
    pool = await strategy.pool(state)
    boots = [d for d in pool if d.source == "bootstrap"]
    train = {e.index for e in splits.train}
    assert len(boots) >= 3 and pool[: len(boots)] == boots
    assert all(_number(d.vars["review"]) % 4 != 1 for d in boots)
    assert all(d.answer == gold(_number(d.vars["review"])) for d in boots)
    assert {d.index for d in pool} <= train and len({d.index for d in pool}) == len(pool)
    labelled = [d for d in pool if d.source == "label"]
    assert len(pool) == len(train) and labelled
    # The teacher's pupils: the other labelled examples, at most an eighth of what was left.
    assert 0 < state.budget.spent - spent <= min(16, (300 - spent) // 8)
    first = (await strategy.propose(state))[0]  # k=2, bootstrapped demos first
    assert len(first.demos) == 2 and all(d.source == "bootstrap" for d in first.demos)


async def test_without_budget_to_spare_there_is_no_teacher(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    state, _ = make_state(seed_prompt, examples, smart_provider(), budget=15)
    await score_seed(state)
    spent = state.budget.spent
    pool = await DemoStrategy().pool(state)
    assert pool and all(d.source == "label" for d in pool)
    assert state.budget.spent == spent


async def test_components_drop_add_and_recombine(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    state, _ = make_state(seed_prompt, examples, smart_provider(), budget=300)
    await score_seed(state)
    strategy = ComponentStrategy()
    notes = [c.note for c in await strategy.propose(state)]
    assert "drop 'Be brief.'" in notes
    assert "drop 'Decide if the review is positive or negative.'" in notes
    assert "add 'Answer with one word.'" in notes
    assert f"add {label_fragment(['negative', 'positive'])!r}" in notes
    best = await search(state, [strategy])
    assert "one word" in best.candidate.body
    assert best.mean == 1.0


def test_edits_apply_in_order_or_not_at_all(seed_prompt: SeedPrompt) -> None:
    from promptwork.optimizer.layout import parse_body

    layout = parse_body(seed_prompt.body)
    both = apply_edits(layout, [("drop", "Be brief."), ("add", "Answer with one word.")])
    assert both is not None
    assert both.instruction == "Decide if the review is positive or negative. Answer with one word."
    assert apply_edits(both, [("drop", "Be brief.")]) is None
    assert apply_edits(both, [("add", "answer with ONE word.")]) is None


@pytest.mark.parametrize(("raw", "clean"), [
    (" classify the review as positive or negative.", "Classify the review as positive or "
     "negative."),
    ("Instruction: \"Answer with one word\"\n\nInput: x", "Answer with one word."),
    ("The instruction was to write the label", "Write the label."),
    ("", None), ("!!!! ???", None), ("ok", None), ("{{ review }} label it now", None),
    ("word " * 200, None),
])
def test_clean_instruction(raw: str, clean: str | None) -> None:
    assert clean_instruction(raw) == clean


async def test_instructions_from_a_proposer_counted_apart(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    task = smart_provider()
    proposer_model = ScriptedProvider(["answer with one word: positive or negative"])
    state, _ = make_state(seed_prompt, examples, task, budget=120)
    proposer = Proposer(ModelCaller(proposer_model), state.budget)
    best = await search(state, [InstructionStrategy(proposer, per_round=2)])
    assert best.candidate.origin == "instructions"
    assert best.candidate.layout.instruction == "Answer with one word: positive or negative."
    assert state.budget.proposer_calls == len(proposer_model.calls) > 0
    assert state.budget.spent == len(task.calls)
    first = proposer_model.calls[0][0].as_text()
    assert first.rstrip().endswith("The instruction was to")
    assert "Input: review" in first and "Output: " in first


async def test_a_weak_proposer_is_tolerated(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    task = smart_provider()
    garbage = ScriptedProvider(["", "???", "{{ x }}", "ok", "\n\n\n"])
    state, _ = make_state(seed_prompt, examples, task, budget=60)
    proposer = Proposer(ModelCaller(garbage), state.budget)
    best = await search(state, [InstructionStrategy(proposer)])
    assert best.candidate is state.seed
    assert len(task.calls) == len(state.data.val)  # only the seed was ever scored
    assert state.budget.proposer_calls > 0


async def test_recombine_joins_the_single_edits_that_helped(
    seed_prompt: SeedPrompt, examples: list[Example]
) -> None:
    import re

    from promptwork.optimizer.state import Scored

    def answer(prompt: RenderedPrompt, params: Params) -> str:
        text = prompt.as_text()
        n = int(re.findall(r"review (\d+)", text)[-1])
        label = "positive" if n % 2 == 0 else "negative"
        ok = ("one word" in text and n % 2 == 0) or ("Be brief" not in text and n % 2 == 1)
        return label if ok else "unsure"

    state, splits = make_state(seed_prompt, examples, ScriptedProvider(answer), budget=300)
    await score_seed(state)
    strategy = ComponentStrategy()
    singles = {c.note: c for c in await strategy.propose(state)}
    subset = list(splits.val)[:6]
    for note in ("add 'Answer with one word.'", "drop 'Be brief.'", "add 'Be concise.'"):
        cand = singles.get(note) or state.seed.derive(
            layout=state.seed.layout.add("Be concise."), origin="components",
            edits=(("add", "Be concise."),), note=note)
        state.history.append(Scored(cand, await state.mean(cand, subset), 6, 0))
    combined = strategy.recombine(state)
    assert combined is not None
    assert set(combined.edits) == {("add", "Answer with one word."), ("drop", "Be brief.")}
    assert combined.layout.instruction == (
        "Decide if the review is positive or negative. Answer with one word.")
    assert await state.mean(combined, list(splits.val)) == 1.0


def test_new_demos_replace_the_demo_part_of_the_note(seed_prompt: SeedPrompt) -> None:
    from promptwork.optimizer.strategies.demos import demo_note

    seed = Candidate.seed(seed_prompt)
    assert demo_note(seed, "4 demos (label)") == "4 demos (label)"
    with_demos = seed.derive(origin="demos", note="2 demos (label)")
    assert demo_note(with_demos, "6 demos (label)") == "6 demos (label)"
    edited = seed.derive(origin="combined", note="drop 'Be brief.'; with 2 demos")
    assert demo_note(edited, "4 demos (bootstrap)") == "drop 'Be brief.'; 4 demos (bootstrap)"

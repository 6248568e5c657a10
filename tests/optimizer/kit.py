"""Fixtures of the optimizer tests: a synthetic sentiment suite and a fake model that rewards
real prompt changes (it answers correctly only when the prompt asks for one word, or shows at
least two demos), so that the optimizer has something to find."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from promptwork.providers.scripted import ScriptedProvider
from promptwork.types import Params, RenderedPrompt

SEED = """---
params: {temperature: 0, max_tokens: 5}
---
Decide if the review is positive or negative. Be brief.

Review: {{ review }}
Label:
"""

_REVIEW = re.compile(r"Review: review (\d+)")
_DEMO = re.compile(r"Label: \w+")


def gold(n: int) -> str:
    return "positive" if n % 2 == 0 else "negative"


def smart_answer(prompt: RenderedPrompt, params: Params) -> str:
    """Correct when the prompt says "one word" or shows >= 2 demos; else a rambling answer."""
    text = prompt.as_text()
    numbers = _REVIEW.findall(text)
    label = gold(int(numbers[-1])) if numbers else "positive"
    if "one word" in text.lower() or len(_DEMO.findall(text)) >= 2:
        return label
    return f"I would say {label} maybe"


def smart_provider(**kw: Any) -> ScriptedProvider:
    return ScriptedProvider(smart_answer, id="scripted:smart", **kw)


def write_sentiment_suite(folder: Path, n: int = 30, check: dict[str, Any] | None = None,
                          with_label: bool = True) -> Path:
    """A suite folder: ``prompts/seed.prompt`` and ``n`` inline tests with an equals check."""
    (folder / "prompts").mkdir(parents=True, exist_ok=True)
    (folder / "prompts" / "seed.prompt").write_text(SEED, encoding="utf-8")
    check = check or {"type": "equals", "value": "{{ label }}"}
    tests = []
    for i in range(n):
        variables: dict[str, Any] = {"review": f"review {i}"}
        if with_label:
            variables["label"] = gold(i)
        tests.append({"vars": variables, "assert": [check]})
    suite = {"prompts": ["file://prompts/seed.prompt"], "providers": ["scripted:smart"],
             "tests": tests}
    path = folder / "promptwork.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return path




def make_state(
    seed_prompt: Any, examples: list[Any], provider: Any, budget: int, seed: int = 0,
    split: tuple[float, float, float] = (0.4, 0.3, 0.3),
) -> tuple[Any, Any]:
    """A search state over ``examples`` (split with ``seed``) and its splits."""
    import random

    from promptwork.calls import ModelCaller
    from promptwork.optimizer.budget import Budget, BudgetedProvider, ScoreCache
    from promptwork.optimizer.candidate import Candidate, Evaluator
    from promptwork.optimizer.data import label_set, make_splits
    from promptwork.optimizer.state import SearchState

    splits = make_splits(examples, split, seed)
    data = splits.for_search()
    spend = Budget(budget, proposer_limit=20)
    caller = ModelCaller(BudgetedProvider(provider, spend), concurrency=1)
    evaluator = Evaluator(seed_prompt, caller, spend, ScoreCache(), allowed=data.indexes)
    state = SearchState(seed_prompt, Candidate.seed(seed_prompt), data, evaluator, spend,
                        random.Random(seed), "pass", label_set([*data.train, *data.val]))
    return state, splits

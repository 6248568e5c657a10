"""A store with a run whose llm-rubric check is graded by a scripted grader, for the ratings
tests (plain HTTP and browser)."""

from __future__ import annotations

import json
from pathlib import Path

import promptwork as pw
from evalkit import write_suite
from promptwork.providers.scripted import ScriptedProvider
from promptwork.types import Params, RenderedPrompt

GRADER = "openai:chat:judge-1"
WORDS = ("apple", "stone", "pear", "rock", "plum", "sand")
#: The scripted grader passes these answers (a fruit judge that is wrong about rocks and pears).
JUDGE_PASSES = ("apple", "rock")


def _judge(prompt: RenderedPrompt, params: Params) -> str:
    text = str(prompt)
    ok = any(word in text for word in JUDGE_PASSES)
    return json.dumps({"pass": ok, "score": 1.0 if ok else 0.0, "reason": "scripted judge"})


def make_judged_store(folder: Path) -> tuple[str, str]:
    """One run of 6 tests (one prompt, the echo model) with an llm-rubric check graded by a
    scripted grader. Returns the store URL and the run id."""
    suite = write_suite(folder / "judged", {
        "description": "fruit judge",
        "prompts": [{"id": "Answer: {{ q }}", "label": "answer"}],
        "providers": ["echo"],
        "defaultTest": {"options": {"provider": GRADER}},
        "tests": [{"vars": {"q": w}, "assert": [{"type": "llm-rubric", "value": "names a fruit"}]}
                  for w in WORDS],
    })
    db = f"sqlite:///{folder / 'judged.db'}"
    grader = ScriptedProvider(_judge, id=GRADER)
    run = pw.evaluate(suite, db=db, config=pw.RunConfig(use_cache=False,
                                                        graders={GRADER: grader}))
    return db, run.id

"""Seed prompts of every source kind, and candidates built from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptwork.calls import ModelCaller
from promptwork.optimizer.budget import Budget, ScoreCache
from promptwork.optimizer.candidate import Candidate, Demo, Evaluator, SeedPrompt
from promptwork.prompts import load_prompt
from promptwork.providers.echo import EchoProvider

from .kit import SEED


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


SOURCES = {
    "seed.prompt": SEED,
    "plain.txt": "Decide. Be brief.\n\nReview: {{ review }}\nLabel:\n",
    "chat.json": json.dumps([{"role": "system", "content": "Decide. Be brief."},
                             {"role": "user", "content": "Review: {{ review }}\nLabel:"}]),
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_the_seed_candidate_renders_like_the_seed(tmp_path: Path, name: str) -> None:
    template = load_prompt(_write(tmp_path, name, SOURCES[name]))
    seed = SeedPrompt.of(template)
    if name.endswith(".prompt"):
        assert seed.file_text(seed.body) == SOURCES[name]
    evaluator = Evaluator(seed, ModelCaller(EchoProvider("echo")), Budget(0), ScoreCache())
    rebuilt = evaluator.template(Candidate.seed(seed))
    values = {"review": "nice"}
    assert rebuilt.render(values) == template.render(values)
    assert rebuilt.params == template.params


def test_inline_seed(tmp_path: Path) -> None:
    template = load_prompt("Say {{ x }}")
    seed = SeedPrompt.of(template)
    evaluator = Evaluator(seed, ModelCaller(EchoProvider("echo")), Budget(0), ScoreCache())
    cand = Candidate.seed(seed)
    with_demo = cand.derive(demos=(Demo(0, {"x": "hi"}, "hi!"),))
    assert with_demo.body == "Say hi\nhi!\n\nSay {{ x }}"
    assert evaluator.template(with_demo).render({"x": "yo"}).as_text() == "Say hi\nhi!\n\nSay yo"
    assert with_demo.parent == cand.hash and with_demo.hash != cand.hash

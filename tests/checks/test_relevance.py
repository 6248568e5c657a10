"""``answer-relevance`` (generated questions vs the query) and ``conversation-relevance``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from checks.graders import ScriptedGrader
from promptwork.checks import CheckContext, CheckResult
from promptwork.checks.registry import arun_check, parse_spec
from promptwork.checks.similarity import EmbeddingModel, lexical_similarity
from promptwork.errors import ConfigError

QUERY = "What is the capital of France?"
QUESTIONS = ["What is the capital of France?", "Which city is France's capital?", "Who won?"]


@pytest.fixture(autouse=True)
def no_embeddings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EmbeddingModel, "installed", staticmethod(lambda: False))
    EmbeddingModel.reset()


async def run(grader: ScriptedGrader, output: str = "Paris.", vars: dict[str, Any] | None = None,
              prompt: str = "", **spec: Any) -> CheckResult:
    ctx = CheckContext(output, vars=vars or {}, prompt_text=prompt, grader=grader)
    return await arun_check(parse_spec(spec), ctx)


class TestAnswerRelevance:
    async def test_mean_similarity_of_generated_questions(self) -> None:
        grader = ScriptedGrader(json.dumps({"questions": QUESTIONS}))
        r = await run(grader, vars={"query": QUERY}, type="answer-relevance", threshold=0.5)
        expected = sum(lexical_similarity(QUERY, q) for q in QUESTIONS) / 3
        assert r.score == pytest.approx(expected) and r.passed == (expected >= 0.5)
        assert r.method == "lexical" and "auto chose lexical" in r.reason
        assert "Paris." in grader.calls[0][0]

    async def test_prompt_is_the_query_without_a_query_var(self) -> None:
        grader = ScriptedGrader('{"questions": ["Who won the match?"]}')
        r = await run(grader, prompt=QUERY, type="answer-relevance", threshold=0.5)
        assert not r.passed and r.score < 0.5
        r = await run(grader, prompt=QUERY, type="not-answer-relevance", threshold=0.5)
        assert r.passed

    async def test_embedding_provider_is_honoured(self) -> None:
        grader = ScriptedGrader('{"questions": ["q"]}')
        provider = {"text": "openai:gpt-4o-mini", "embedding": "hf:all-MiniLM-L6-v2"}
        r = await run(grader, vars={"query": QUERY}, type="answer-relevance", provider=provider)
        assert not r.passed and "no lexical fallback" in r.reason
        assert grader.calls[0][1] == "openai:gpt-4o-mini"

    async def test_lexical_method_named(self) -> None:
        grader = ScriptedGrader(json.dumps({"questions": [QUERY]}))
        r = await run(grader, vars={"query": QUERY}, type="answer-relevance",
                      config={"method": "lexical"}, threshold=0.99)
        assert r.passed and r.score == pytest.approx(1.0) and r.method == "lexical"


TURNS = [
    {"input": "What is 2+2?", "output": "4."},
    {"input": "And 3+3?", "output": "Paris is in France."},
    {"input": "5+5?", "output": "10."},
]


class TestConversationRelevance:
    async def test_share_of_relevant_turns_with_windows(self) -> None:
        grader = ScriptedGrader('{"verdict": "yes"}', '{"verdict": "no", "reason": "off topic"}',
                                '{"verdict": "yes"}')
        r = await run(grader, vars={"_conversation": TURNS}, type="conversation-relevance",
                      config={"windowSize": 2}, threshold=0.8)
        assert not r.passed and r.score == pytest.approx(2 / 3)
        assert "turn 2: off topic" in r.reason
        third = grader.calls[2][0]
        assert "And 3+3?" in third and "5+5?" in third and "What is 2+2?" not in third

    async def test_single_turn_from_prompt_and_output(self) -> None:
        grader = ScriptedGrader('{"verdict": "yes", "reason": "on topic"}')
        r = await run(grader, output="Paris.", prompt=QUERY, type="conversation-relevance")
        assert r.passed and r.score == 1.0
        assert QUERY in grader.calls[0][0] and "Paris." in grader.calls[0][0]

    async def test_unreadable_answer_fails(self) -> None:
        r = await run(ScriptedGrader("Sure."), prompt=QUERY, type="not-conversation-relevance")
        assert not r.passed and "no JSON object with 'verdict'" in r.reason


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"type": "answer-relevance", "value": "x"}, "takes no 'value'"),
        ({"type": "answer-relevance", "config": {"method": "x"}}, "'method' must be"),
        ({"type": "answer-relevance", "provider": {"embedding": "openai:embedding:small"}},
         "embedding provider 'openai:embedding:small' is not supported"),
        ({"type": "conversation-relevance", "config": {"windowSize": 0}}, "windowSize"),
    ],
)
def test_bad_config_refused_at_load(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_spec(spec)

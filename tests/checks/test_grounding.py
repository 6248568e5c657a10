"""Context-based checks (``context-faithfulness``, ``-recall``, ``-relevance``), scripted grader."""

from __future__ import annotations

from typing import Any

import pytest

from checks.graders import ScriptedGrader
from promptwork.checks import CheckContext, CheckResult
from promptwork.checks.errors import GradingError
from promptwork.checks.registry import arun_check, parse_spec
from promptwork.errors import ConfigError, ProviderError

CONTEXT = (
    "Our values are innovation and integrity.\nWe were founded in 1999.\nThe office is in Oslo."
)
VARS = {"query": "What are the company's values?", "context": CONTEXT}


async def run(grader: ScriptedGrader, vars: dict[str, Any] | None = None, **spec: Any
              ) -> CheckResult:
    parsed = parse_spec(spec)
    ctx = CheckContext("Innovation and integrity, since 1999, and teamwork.",
                       vars=VARS if vars is None else vars, grader=grader)
    return await arun_check(parsed, ctx)


class TestFaithfulness:
    async def test_share_of_supported_statements(self) -> None:
        grader = ScriptedGrader(
            '{"statements": ["Values are innovation and integrity", "Founded 1999", '
            '"Values include teamwork"]}',
            '```json\n{"verdicts": [{"statement": "a", "supported": true}, '
            '{"statement": "b", "supported": "yes"}, {"statement": "c", "supported": false}]}\n```',
        )
        r = await run(grader, type="context-faithfulness", threshold=0.6)
        assert r.passed and r.score == pytest.approx(2 / 3)
        assert "2 of 3 statements supported" in r.reason
        statements_prompt, verdict_prompt = (p for p, _ in grader.calls)
        assert VARS["query"] in statements_prompt and "teamwork" in statements_prompt
        assert "The office is in Oslo." in verdict_prompt and "3. Values include" in verdict_prompt

    async def test_below_threshold_and_negation(self) -> None:
        answers = ('{"statements": ["a", "b"]}', '{"verdicts": [{"supported": false}, '
                   '{"supported": true}]}')
        r = await run(ScriptedGrader(*answers), type="context-faithfulness", threshold=0.9)
        assert not r.passed and r.score == 0.5
        r = await run(ScriptedGrader(*answers), type="not-context-faithfulness", threshold=0.9)
        assert r.passed

    async def test_missing_query_fails_saying_so(self) -> None:
        r = await run(ScriptedGrader("{}"), {"context": CONTEXT}, type="context-faithfulness")
        assert not r.passed and "needs the test variable 'query'" in r.reason


class TestRecall:
    async def test_share_of_ground_truth_sentences_supported(self) -> None:
        grader = ScriptedGrader(
            '{"verdicts": [{"sentence": "x", "supported": true}, {"sentence": "y", '
            '"supported": false}]}'
        )
        r = await run(grader, type="context-recall", threshold=0.5,
                      value="The values are innovation and integrity. The CEO is Ann.")
        assert r.passed and r.score == 0.5
        prompt = grader.calls[0][0]
        assert "1. The values are innovation and integrity." in prompt
        assert "2. The CEO is Ann." in prompt and "We were founded in 1999." in prompt

    async def test_list_context_and_missing_context(self) -> None:
        grader = ScriptedGrader('{"verdicts": [{"supported": true}]}')
        vars = {"context": ["chunk one", "chunk two"]}
        r = await run(grader, vars, type="context-recall", value="One fact.", threshold=1)
        assert r.passed and "chunk one\nchunk two" in grader.calls[0][0]
        r = await run(grader, {}, type="context-recall", value="One fact.")
        assert not r.passed and "needs the test variable 'context'" in r.reason


class TestRelevance:
    async def test_share_of_chunks_needed(self) -> None:
        grader = ScriptedGrader('{"needed": [1, "1", 9]}')
        r = await run(grader, type="context-relevance", threshold=0.3)
        assert r.passed and r.score == pytest.approx(1 / 3)
        assert "1 of 3 context chunks needed" in r.reason
        assert "3. The office is in Oslo." in grader.calls[0][0]

    async def test_default_threshold_is_zero_as_in_promptfoo(self) -> None:
        r = await run(ScriptedGrader('{"needed": []}'), type="context-relevance")
        assert r.passed and r.score == 0.0

    async def test_grader_failure_is_no_verdict(self) -> None:
        with pytest.raises(GradingError):
            await run(ScriptedGrader(ProviderError("down", kind="server")),
                      type="context-relevance")

    async def test_unreadable_answer_fails(self) -> None:
        r = await run(ScriptedGrader("Chunks one and two."), type="not-context-relevance")
        assert not r.passed and "no JSON object with 'needed'" in r.reason


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"type": "context-recall"}, "needs a 'value'"),
        ({"type": "context-recall", "value": ["a"]}, "ground-truth text"),
        ({"type": "context-faithfulness", "value": "x"}, "takes no 'value'"),
        ({"type": "context-relevance", "threshold": 1.5}, "between 0 and 1"),
        ({"type": "context-relevance", "rubricPrompt": 3}, "rubricPrompt"),
    ],
)
def test_bad_config_refused_at_load(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_spec(spec)

"""Every model-graded check reaches the grading model configured at each level promptfoo allows.

A real HTTP server on 127.0.0.1 (tests/fakeserver.py) plays the grading model. The grader is named
with a ``config: {base_url: ...}`` on the check (``provider``), on the test (``options.provider``)
or on ``defaultTest`` (``options.provider``); the run's default grader is a trap that fails every
call, so a check whose configured grader is dropped (as when only the provider id was passed on)
becomes an error cell naming the trap instead of a verdict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import promptwork as pw
from evalkit import write_suite
from fakeserver import FakeServer
from promptwork.errors import ProviderError
from promptwork.providers.local_models import DEFAULT_MODEL
from promptwork.providers.scripted import ScriptedProvider
from promptwork.runner import RunConfig

KEY_VAR = "PW_TEST_GRADER_KEY"
RAG_VARS = {"query": "What colour is the sky?", "context": "The sky is blue.\nGrass is green."}

#: check type -> (assertion, the grading model's answer, extra vars)
CHECKS: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {
    "llm-rubric": ({"type": "llm-rubric", "value": "is polite"},
                   '{"reason": "polite", "pass": true, "score": 1}', {}),
    "factuality": ({"type": "factuality", "value": "The sky is blue."},
                   '{"category": "C", "reason": "same details"}', {}),
    "model-graded-closedqa": ({"type": "model-graded-closedqa", "value": "is polite"},
                              "It is polite.\nY", {}),
    "g-eval": ({"type": "g-eval", "value": "coherent", "threshold": 0.5},
               '{"steps": ["read it"], "score": 9, "reason": "coherent"}', {}),
    "context-faithfulness": (
        {"type": "context-faithfulness", "threshold": 0.5},
        '{"statements": ["The sky is blue."], "verdicts": [{"statement": "The sky is blue.", '
        '"supported": true}]}', RAG_VARS),
    "context-recall": (
        {"type": "context-recall", "value": "The sky is blue.", "threshold": 0.5},
        '{"verdicts": [{"sentence": "The sky is blue.", "supported": true}]}', RAG_VARS),
    "context-relevance": ({"type": "context-relevance", "threshold": 0.4},
                          '{"needed": [1]}', RAG_VARS),
    "answer-relevance": ({"type": "answer-relevance", "config": {"method": "lexical"}},
                         '{"questions": ["What colour is the sky?"]}', RAG_VARS),
    "conversation-relevance": ({"type": "conversation-relevance"},
                               '{"verdict": "yes", "reason": "on topic"}', {}),
    "select-best": ({"type": "select-best", "value": "the politest"}, '{"index": 1}', {}),
}


def _grader(server: FakeServer, model: str) -> dict[str, Any]:
    return {"id": f"openai:chat:{model}",
            "config": {"base_url": server.base_url, "api_key_env": KEY_VAR, "timeout": 5}}


#: Where the grading model is named: how the suite is written for each level.
LEVELS = ("assertion", "test", "defaultTest", "defaultTest-by-kind", "assertion-over-test")


def _suite(level: str, check: dict[str, Any], ref: dict[str, Any],
           extra_vars: dict[str, Any]) -> dict[str, Any]:
    test: dict[str, Any] = {"vars": {"q": "hello", **extra_vars}, "assert": [dict(check)]}
    suite: dict[str, Any] = {"prompts": ["Say: {{ q }}", "Reply: {{ q }}"],
                             "providers": ["echo"], "tests": [test]}
    if level == "assertion":
        test["assert"][0]["provider"] = ref
    elif level == "test":
        test["options"] = {"provider": ref}
    elif level == "defaultTest":
        suite["defaultTest"] = {"options": {"provider": ref}}
    elif level == "defaultTest-by-kind":
        suite["defaultTest"] = {"options": {"provider": {"text": ref}}}
    else:  # the check's own provider wins over the test's, which points nowhere
        test["assert"][0]["provider"] = ref
        test["options"] = {"provider": {"id": "openai:chat:nowhere",
                                        "config": {"base_url": "http://127.0.0.1:9/v1",
                                                   "api_key_env": KEY_VAR}}}
    return suite


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("check_type", sorted(CHECKS))
def test_grading_request_reaches_the_configured_base_url(
        tmp_path: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch,
        check_type: str, level: str) -> None:
    monkeypatch.setenv(KEY_VAR, "sk-test-grader-0123456789")
    check, answer, extra = CHECKS[check_type]
    fake_server.answer = answer
    model = f"judge-{level}"
    write_suite(tmp_path, _suite(level, check, _grader(fake_server, model), extra))
    trap = ScriptedProvider([ProviderError("trap: the default grader was used")],
                            id=DEFAULT_MODEL)
    run = pw.evaluate(tmp_path, config=RunConfig(use_cache=False, graders={DEFAULT_MODEL: trap}))
    rows = list(run.rows())
    assert len(rows) == 2
    assert not trap.calls, "a grading call went to the default grader"
    grading = [r for r in fake_server.requests if r.path.endswith("/chat/completions")]
    assert grading and {r.json["model"] for r in grading} == {model}
    assert all(r.headers["Authorization"] == "Bearer sk-test-grader-0123456789" for r in grading)
    assert all(r["error"] is None for r in rows), [r["error"] for r in rows]
    if check_type == "select-best":  # the grader chose the second prompt's answer
        assert sorted((r["prompt_idx"], r["success"]) for r in rows) == [(0, False), (1, True)]
    else:  # the verdict is the fake server's
        assert all(r["success"] for r in rows), [r["grading"] for r in rows]


def test_a_check_options_key_is_refused_with_the_way_to_name_a_grader(tmp_path: Path) -> None:
    suite = {"prompts": ["{{ q }}"], "providers": ["echo"],
             "tests": [{"vars": {"q": "x"}, "assert": [
                 {"type": "llm-rubric", "value": "ok",
                  "options": {"provider": "openai:chat:judge"}}]}]}
    write_suite(tmp_path, suite)
    with pytest.raises(pw.ConfigError, match=r"no 'options'.*'provider'.*options\.provider"):
        pw.evaluate(tmp_path, config=RunConfig(use_cache=False))

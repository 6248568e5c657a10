"""Model-graded checks inside a real run: the runner builds the grader and awaits the checks."""

from __future__ import annotations

from pathlib import Path

import pytest

import promptwork as pw
from promptwork.calls import CallPolicy
from promptwork.grading import provider_ref
from promptwork.runner import RunConfig

SUITE = """\
prompts: ["Answer: {{ q }}"]
providers: [echo]
defaultTest:
  options:
    provider:
      id: scripted:judge
      config:
        responses:
          "Paris": '{"reason": "names the capital", "pass": true, "score": 0.9}'
          "*": '{"reason": "wrong city", "pass": false, "score": 0.1}'
  assert:
    - type: llm-rubric
      value: names the capital of France
tests:
  - vars: {q: Paris}
  - vars: {q: Lyon}
"""


def test_llm_rubric_uses_the_suite_grader(tmp_path: Path) -> None:
    (tmp_path / "promptwork.yaml").write_text(SUITE)
    run = pw.evaluate(tmp_path, config=RunConfig(use_cache=False))
    rows = sorted(run.rows(), key=lambda r: r["test_idx"])
    assert [r["success"] for r in rows] == [True, False]
    assert rows[0]["score"] == 0.9
    assert "names the capital" in rows[0]["grading"]["components"][0]["reason"]
    assert "wrong city" in rows[1]["grading"]["components"][0]["reason"]


def test_grader_failure_is_an_error_cell_not_a_failed_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens on port 9: every grading call fails with a connection error.
    monkeypatch.setenv("PW_TEST_GRADER_KEY", "local")
    head, _, rest = SUITE.replace("id: scripted:judge", "id: openai:chat:judge").partition(
        "      config:\n        responses:")
    suite = (head + "      config: {base_url: 'http://127.0.0.1:9/v1', "
             "api_key_env: PW_TEST_GRADER_KEY}\n" + rest[rest.index("  assert:"):])
    (tmp_path / "promptwork.yaml").write_text(suite)
    policy = CallPolicy(max_attempts=2, base_delay=0.01, timeout=5)
    run = pw.evaluate(tmp_path, config=RunConfig(use_cache=False, policy=policy))
    rows = list(run.rows())
    assert len(rows) == 2
    assert all(r["error_kind"] == "grader" and not r["success"] for r in rows)
    assert all(r["score"] is None for r in rows)  # no verdict: no score, never a 0
    assert all("grader call failed" in r["error"] and "connection" in r["error"] for r in rows)
    assert run.stats() == {"successes": 0, "failures": 0, "errors": 2}


def test_resume_redoes_grader_error_cells(tmp_path: Path) -> None:
    from promptwork.errors import ProviderError
    from promptwork.providers.scripted import ScriptedProvider

    (tmp_path / "promptwork.yaml").write_text(SUITE)
    refused = ProviderError("bad key", kind="auth", status=401)
    # The first two grading calls are refused, every later one answers a passing verdict.
    judge = ScriptedProvider([refused, refused, '{"reason": "ok", "pass": true, "score": 1}'],
                             id="scripted:judge")
    config = RunConfig(use_cache=False, graders={"scripted:judge": judge})
    first = pw.evaluate(tmp_path, config=config)
    assert first.stats() == {"successes": 0, "failures": 0, "errors": 2}
    assert {r["error_kind"] for r in first.rows()} == {"grader"}
    again = pw.evaluate(tmp_path, config=config, resume=first.id)
    assert again.id == first.id
    rows = list(again.rows())
    assert len(rows) == 2 and all(r["error"] is None and r["success"] for r in rows)
    assert [r["score"] for r in rows] == [1.0, 1.0]
    assert len(judge.calls) == 4  # two refused, then one per redone cell


def test_provider_ref_forms() -> None:
    assert provider_ref(None) is None
    assert provider_ref("echo") == ("echo", {})
    assert provider_ref({"id": "x:y", "config": {"a": 1}}) == ("x:y", {"a": 1})


SELECT_BEST = """\
prompts: ["Short: {{ q }}", "Long answer about {{ q }}"]
providers: [echo]
defaultTest:
  options:
    provider: {id: scripted:judge, config: {responses: ['{"index": 1, "reason": "longer"}']}}
  assert:
    - type: select-best
      value: the most detailed answer
tests:
  - vars: {q: tides}
  - vars: {q: stars}
"""


def test_select_best_picks_one_cell_per_test(tmp_path: Path) -> None:
    (tmp_path / "promptwork.yaml").write_text(SELECT_BEST)
    run = pw.evaluate(tmp_path, config=RunConfig(use_cache=False))
    rows = sorted(run.rows(), key=lambda r: (r["test_idx"], r["prompt_idx"]))
    assert [(r["test_idx"], r["prompt_idx"], r["success"]) for r in rows] == [
        (0, 0, False), (0, 1, True), (1, 0, False), (1, 1, True)]
    loser = rows[0]["grading"]["components"][0]
    assert loser["type"] == "select-best" and "2 of 2 was chosen" in loser["reason"]


def test_select_best_after_resume_compares_every_cell_of_the_test(tmp_path: Path) -> None:
    """A run interrupted after the short prompt answered and before the long one did: on
    resume, the cells answered before the interruption join the comparison (the judge picks
    output 2 of 2, the long one), instead of the long cell being compared with itself alone."""
    import asyncio
    import contextlib

    from evalkit import db_file, sqlite_rows
    from promptwork.evaluation import aevaluate
    from promptwork.providers.echo import EchoProvider
    from promptwork.types import Completion, Params, RenderedPrompt

    (tmp_path / "promptwork.yaml").write_text(SELECT_BEST)

    class Stalling(EchoProvider):
        """Echo, except that the long prompt never answers."""

        async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
            if prompt.as_text().startswith("Long"):
                await asyncio.Event().wait()
            return await super().complete(prompt, params)

    async def interrupted() -> None:
        task = asyncio.create_task(aevaluate(tmp_path, config=RunConfig(use_cache=False),
                                             providers={0: Stalling("echo")}))
        while not (db_file(tmp_path).exists() and len(sqlite_rows(
                db_file(tmp_path), "SELECT 1 FROM results")) == 2):
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    run = pw.evaluate(tmp_path, config=RunConfig(use_cache=False), resume="")
    rows = sorted(run.rows(), key=lambda r: (r["test_idx"], r["prompt_idx"]))
    assert [(r["test_idx"], r["prompt_idx"], r["success"]) for r in rows] == [
        (0, 0, False), (0, 1, True), (1, 0, False), (1, 1, True)]
    reasons = [r["grading"]["components"][0]["reason"] for r in rows]
    assert reasons == ["output 2 of 2 was chosen", "chosen as the best output"] * 2


def test_select_best_with_a_failing_grader_makes_the_tests_cells_errors(tmp_path: Path) -> None:
    from promptwork.errors import ProviderError
    from promptwork.providers.scripted import ScriptedProvider

    (tmp_path / "promptwork.yaml").write_text(SELECT_BEST)
    judge = ScriptedProvider([ProviderError("timed out", kind="auth"),
                              '{"index": 1, "reason": "longer"}'], id="scripted:judge")
    run = pw.evaluate(tmp_path, config=RunConfig(use_cache=False,
                                                 graders={"scripted:judge": judge}))
    rows = sorted(run.rows(), key=lambda r: (r["test_idx"], r["prompt_idx"]))
    # The first test's comparison failed: both its cells are errors, neither lost nor won.
    assert [(r["error_kind"], r["score"]) for r in rows[:2]] == [("grader", None)] * 2
    assert "select-best: grader call failed" in rows[0]["error"]
    assert [(r["error"], r["success"]) for r in rows[2:]] == [(None, False), (None, True)]
    again = pw.evaluate(tmp_path, config=RunConfig(use_cache=False,
                                                   graders={"scripted:judge": judge}),
                        resume=run.id)
    redone = sorted(again.rows(), key=lambda r: (r["test_idx"], r["prompt_idx"]))
    assert [r["success"] for r in redone] == [False, True, False, True]


@pytest.mark.parametrize("level", ["check", "test"])
def test_select_best_sends_the_rubric_prompt(tmp_path: Path, level: str) -> None:
    from promptwork.providers.scripted import ScriptedProvider

    rubric = "Pick for {{ q }} by: {{ criteria }}. {% for o in outputs %}[{{ o }}]{% endfor %}"
    (tmp_path / "rubric.txt").write_text(rubric)
    where = ("    - type: select-best\n      value: the most detailed answer\n"
             "      rubricPrompt: file://rubric.txt\n")
    suite = SELECT_BEST.replace(
        "    - type: select-best\n      value: the most detailed answer\n", where)
    if level == "test":  # promptfoo's options.rubricPrompt reaches the test's graded checks
        suite = SELECT_BEST.replace("  options:\n", "  options:\n    rubricPrompt: "
                                    "file://rubric.txt\n")
    (tmp_path / "promptwork.yaml").write_text(suite)
    judge = ScriptedProvider(['{"index": 0, "reason": "shorter"}'], id="scripted:judge")
    run = pw.evaluate(tmp_path, config=RunConfig(use_cache=False,
                                                 graders={"scripted:judge": judge}))
    sent = sorted(prompt.as_text() for prompt, _ in judge.calls)
    assert sent == [
        "Pick for stars by: the most detailed answer. [Short: stars][Long answer about stars]",
        "Pick for tides by: the most detailed answer. [Short: tides][Long answer about tides]"]
    rows = sorted(run.rows(), key=lambda r: (r["test_idx"], r["prompt_idx"]))
    assert [r["success"] for r in rows] == [True, False, True, False]


def test_select_best_with_a_broken_rubric_prompt_fails_the_check(tmp_path: Path) -> None:
    from promptwork.providers.scripted import ScriptedProvider

    (tmp_path / "promptwork.yaml").write_text(SELECT_BEST.replace(
        "      value: the most detailed answer\n",
        "      value: the most detailed answer\n      rubricPrompt: 'Judge {{ nowhere }}'\n"))
    judge = ScriptedProvider(['{"index": 0}'], id="scripted:judge")
    run = pw.evaluate(tmp_path, config=RunConfig(use_cache=False,
                                                 graders={"scripted:judge": judge}))
    rows = list(run.rows())
    assert len(rows) == 4 and not judge.calls
    assert all(r["error"] is None and r["success"] is False for r in rows)
    reasons = {r["grading"]["components"][0]["reason"] for r in rows}
    assert len(reasons) == 1 and "nowhere" in reasons.pop()

"""Model-graded checks (with a scripted fake grader) and running async checks."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from checks.graders import ScriptedGrader
from promptwork.checks import CheckContext, CheckResult, CheckSpec, register, registry
from promptwork.checks.base import CheckError, GraderRef
from promptwork.checks.errors import GradingError
from promptwork.checks.judge import (
    parse_factuality,
    parse_index,
    parse_rubric_verdict,
    parse_yes_no,
    select_best,
)
from promptwork.checks.registry import arun_check, is_async_check, parse_spec, run_check
from promptwork.errors import ConfigError, ProviderError


async def grade(
    check: dict[str, Any], answer: str | Exception, output: str = "Paris.", **ctx: Any
) -> tuple[CheckResult, ScriptedGrader]:
    grader = ScriptedGrader(answer)
    spec = parse_spec(check)
    return await arun_check(spec, CheckContext(output, grader=grader, **ctx)), grader


RUBRIC = {"type": "llm-rubric", "value": "names a city"}


# --- running async checks ---------------------------------------------------------------------


class TestAsyncRegistry:
    async def test_arun_check_runs_sync_checks_like_run_check(self) -> None:
        spec = parse_spec({"type": "not-contains", "value": "x", "metric": "m"})
        ctx = CheckContext("abc")
        assert await arun_check(spec, ctx) == run_check(spec, ctx)

    async def test_async_check_awaited_rendered_and_negated(self) -> None:
        async def shouty(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
            return CheckResult(spec.value in ctx.output, 0.25, f"looked for {spec.value}")

        register("shouty", shouty)
        try:
            assert is_async_check("shouty") and not is_async_check("contains")
            spec = parse_spec({"type": "not-shouty", "value": "{{ w }}", "metric": "m"})
            r = await arun_check(spec, CheckContext("HEY", vars={"w": "HO"}))
            assert (r.passed, r.score, r.reason) == (True, 0.75, "looked for HO")
            assert (r.metric, r.check_type) == ("m", "not-shouty")
        finally:
            registry._registered.pop("shouty")

    def test_run_check_refuses_async_checks(self) -> None:
        with pytest.raises(TypeError, match="arun_check"):
            run_check(parse_spec(RUBRIC), CheckContext("x"))

    def test_run_check_refuses_awaitable_results_without_warning(self) -> None:
        async def inner() -> CheckResult:
            return CheckResult(True, 1.0, "")

        register("sneaky", lambda s, c: inner())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                with pytest.raises(TypeError, match="arun_check"):
                    run_check(CheckSpec("sneaky"), CheckContext("x"))
        finally:
            registry._registered.pop("sneaky")

    async def test_check_errors_are_failures_never_inverted_and_crashes_are_errors(self) -> None:
        async def broken(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
            raise RuntimeError("kaput")

        async def undecided(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
            raise CheckError("could not tell")

        register("broken", broken)
        register("undecided", undecided)
        try:
            # A plugin that raises gives no verdict at all: an error of kind "check".
            with pytest.raises(GradingError) as info:
                await arun_check(CheckSpec("broken", negate=True), CheckContext("x"))
            assert info.value.kind == "check" and "RuntimeError: kaput" in info.value.message
            assert info.value.detail is not None and "Traceback" in info.value.detail
            r = await arun_check(CheckSpec("undecided", negate=True), CheckContext("x"))
            assert (r.passed, r.score, r.reason) == (False, 0.0, "could not tell")
            assert r.check_type == "not-undecided"
        finally:
            registry._registered.pop("broken")
            registry._registered.pop("undecided")

    async def test_unknown_type_is_a_failure(self) -> None:
        r = await arun_check(CheckSpec("nope"), CheckContext("x"))
        assert not r.passed and "unknown check type 'nope'" in r.reason


# --- llm-rubric -------------------------------------------------------------------------------


class TestLlmRubric:
    async def test_clean_json(self) -> None:
        r, grader = await grade(RUBRIC, '{"reason": "Paris is a city", "pass": true, "score": 1}')
        assert (r.passed, r.score, r.reason, r.check_type) == (
            True,
            1.0,
            "Paris is a city",
            "llm-rubric",
        )
        assert "Paris." in grader.prompt and "names a city" in grader.prompt
        assert grader.calls[0][1] is None

    @pytest.mark.parametrize(
        "answer",
        [
            'Sure! Here is my verdict: {"reason": "no city", "pass": false, "score": 0.0} Bye.',
            '```json\n{\n  "reason": "no city",\n  "pass": false,\n  "score": 0\n}\n```',
            'Thinking {not json} then {"pass": "no", "score": "0", "reason": "no city"}',
            "{'pass': False, 'score': 0, 'reason': 'no city'}",  # Python dict, not JSON
            '"pass": false, "reason": "no city"',  # braces missing
        ],
    )
    async def test_json_in_prose_and_loose_json(self, answer: str) -> None:
        r, _ = await grade(RUBRIC, answer)
        assert (r.passed, r.score, r.reason) == (False, 0.0, "no city")

    async def test_string_score_and_out_of_ten(self) -> None:
        r, _ = await grade(RUBRIC, '{"pass": "yes", "score": "0.8", "reason": "ok"}')
        assert r.passed and r.score == pytest.approx(0.8)
        r, _ = await grade(RUBRIC, '{"pass": true, "score": 8, "reason": "ok"}')
        assert r.score == pytest.approx(0.8)

    async def test_score_without_pass(self) -> None:
        r, _ = await grade(RUBRIC, '{"score": 0.7, "reason": "fair"}')
        assert r.passed and r.score == pytest.approx(0.7)
        r, _ = await grade({**RUBRIC, "threshold": 0.8}, '{"score": 0.7, "reason": "fair"}')
        assert not r.passed

    @pytest.mark.parametrize(
        ("answer", "passed"),
        [
            ("The output names Paris.\nVerdict: FAIL", False),
            ("PASS", True),
            ("It mentions a capital, so this is a PASS.", True),
            ("Yes, it names a city.", True),
            ("Reasoning first.\n\n**Fail**", False),
            ("The result is: pass", True),
            ("No, it doesn't name a city.", False),
            ("The output meets the rubric because it names Paris.", True),
            ("The output does not meet the rubric: no city.", False),
        ],
    )
    async def test_fallback_words(self, answer: str, passed: bool) -> None:
        r, _ = await grade(RUBRIC, answer)
        assert r.passed is passed and r.score == (1.0 if passed else 0.0)
        assert "without a JSON verdict" in r.reason

    @pytest.mark.parametrize("type_", ["llm-rubric", "not-llm-rubric"])
    async def test_unparseable_is_an_explicit_failure(self, type_: str) -> None:
        r, _ = await grade({**RUBRIC, "type": type_}, "Hmm, the output is about France I guess")
        assert not r.passed and r.score == 0.0
        assert r.reason.startswith("grader answer holds no verdict")
        assert "'Hmm, the output is about France I guess'" in r.reason

    async def test_threshold(self) -> None:
        check = {**RUBRIC, "threshold": 0.7}
        r, _ = await grade(check, '{"pass": true, "score": 0.6, "reason": "meh"}')
        assert not r.passed and r.score == pytest.approx(0.6)
        assert r.reason == "score 0.6 < threshold 0.7; meh"
        r, _ = await grade(check, '{"pass": true, "score": 0.9, "reason": "good"}')
        assert r.passed and r.reason == "score 0.9 >= threshold 0.7; good"
        # A failing verdict stays failed whatever the score.
        r, _ = await grade(check, '{"pass": false, "score": 0.9, "reason": "no"}')
        assert not r.passed

    async def test_negation(self) -> None:
        check = {"type": "not-llm-rubric", "value": "is rude"}
        r, _ = await grade(check, '{"pass": false, "score": 0.1, "reason": "polite"}')
        assert r.passed and r.score == pytest.approx(0.9) and r.check_type == "not-llm-rubric"
        r, _ = await grade(check, '{"pass": true, "score": 1, "reason": "rude"}')
        assert not r.passed and r.score == 0.0

    @pytest.mark.parametrize("type_", ["llm-rubric", "not-llm-rubric"])
    async def test_no_grader(self, type_: str) -> None:
        spec = parse_spec({**RUBRIC, "type": type_})
        r = await arun_check(spec, CheckContext("Paris."))
        assert not r.passed and r.score == 0.0
        assert "needs a grading model, and none is configured" in r.reason

    @pytest.mark.parametrize("type_", ["llm-rubric", "not-llm-rubric"])
    async def test_grader_error_is_no_verdict(self, type_: str) -> None:
        error = ProviderError("slow down", kind="rate_limit", status=429)
        with pytest.raises(GradingError) as info:
            await grade({**RUBRIC, "type": type_}, error)
        assert info.value.kind == "grader"
        assert info.value.message == (
            f"{type_}: grader call failed: rate_limit (HTTP 429): slow down")

    @pytest.mark.parametrize(
        ("check", "expected"),
        [
            ({"provider": "openai:gpt-4o-mini"}, "openai:gpt-4o-mini"),
            ({"config": {"provider": "local:judge"}}, "local:judge"),
            (  # the whole reference: its config (base_url, parameters) must reach the grader
                {"provider": {"id": "anthropic:claude", "config": {"temperature": 0}}},
                {"id": "anthropic:claude", "config": {"temperature": 0}},
            ),
            ({"provider": {"text": {"id": "openai:judge", "config": {"base_url": "http://h/v1"}},
                           "embedding": "openai:embedding:e"}},
             {"id": "openai:judge", "config": {"base_url": "http://h/v1"}}),
        ],
    )
    async def test_provider_override(self, check: dict[str, Any], expected: Any) -> None:
        _, grader = await grade({**RUBRIC, **check}, '{"pass": true}')
        assert grader.calls[0][1] == expected

    async def test_value_rendered_with_vars(self) -> None:
        check = {"type": "llm-rubric", "value": "answers about {{ country }}"}
        _, grader = await grade(check, '{"pass": true}', vars={"country": "France"})
        assert "answers about France" in grader.prompt

    async def test_mapping_rubric_is_json(self) -> None:
        check = {"type": "llm-rubric", "value": {"tone": "formal"}}
        _, grader = await grade(check, '{"pass": true}')
        assert '{"tone": "formal"}' in grader.prompt


class TestEcho:
    """Small models repeat the grading prompt; its instructions must not read as a verdict."""

    @pytest.mark.parametrize(
        "check",
        [
            RUBRIC,
            FACT_CHECK := {"type": "factuality", "value": "x"},
            {"type": "model-graded-closedqa", "value": "x"},
        ],
    )
    async def test_pure_echo_is_an_explicit_failure(self, check: dict[str, Any]) -> None:
        async def echo(prompt: str, provider: GraderRef | None = None) -> str:
            return "\n\n" + prompt + "\n"

        spec = parse_spec(check)
        r = await arun_check(spec, CheckContext("Paris is the capital.", grader=echo))
        assert not r.passed and r.reason.startswith("grader only repeated the grading prompt")

    async def test_echo_then_verdict(self) -> None:
        async def echo_fail(prompt: str, provider: GraderRef | None = None) -> str:
            return prompt + "\nFAIL"

        spec = parse_spec(RUBRIC)
        r = await arun_check(spec, CheckContext("Paris.", grader=echo_fail))
        assert not r.passed and "answered FAIL" in r.reason

    def test_category_template_is_no_category(self) -> None:
        assert parse_factuality('{"category": "<A, B, C, D or E>", "reason": "..."}') is None

    async def test_select_best_ignores_echo(self) -> None:
        async def echo_index(prompt: str, provider: GraderRef | None = None) -> str:
            return prompt + "\n1"

        assert await select_best(["a", "b", "c"], "c", echo_index, None) == 1


class TestRubricPrompt:
    async def test_template_override(self) -> None:
        check = {
            **RUBRIC,
            "rubricPrompt": "Q: {{ question }}\nA: {{ output }}\nRule: {{ rubric }} / {{ value }}",
        }
        _, grader = await grade(check, '{"pass": true}', vars={"question": "Capital?"})
        assert grader.prompt == "Q: Capital?\nA: Paris.\nRule: names a city / names a city"

    async def test_output_and_rubric_win_over_vars_input_does_not(self) -> None:
        check = {**RUBRIC, "rubricPrompt": "{{ output }}|{{ rubric }}|{{ input }}"}
        _, grader = await grade(
            check,
            '{"pass": true}',
            vars={"output": "var", "rubric": "var", "input": "the question"},
            prompt_text="rendered prompt",
        )
        assert grader.prompt == "Paris.|names a city|the question"
        _, grader = await grade(check, '{"pass": true}', prompt_text="rendered prompt")
        assert grader.prompt.endswith("|rendered prompt")

    async def test_chat_messages_are_joined(self) -> None:
        messages = (
            '[{"role": "system", "content": "Be strict."}, '
            '{"role": "user", "content": "{{ output }}"}]'
        )
        _, grader = await grade({**RUBRIC, "rubricPrompt": messages}, '{"pass": true}')
        assert grader.prompt == "Be strict.\n\nParis."
        listed = [{"role": "system", "content": "S"}, {"role": "user", "content": "{{ rubric }}"}]
        _, grader = await grade({**RUBRIC, "rubricPrompt": listed}, '{"pass": true}')
        assert grader.prompt == "S\n\nnames a city"

    async def test_file(self, tmp_path: Path) -> None:
        (tmp_path / "judge.txt").write_text("Grade: {{ output }}", encoding="utf-8")
        check = {**RUBRIC, "rubricPrompt": "file://judge.txt"}
        _, grader = await grade(check, '{"pass": true}', base_dir=tmp_path)
        assert grader.prompt == "Grade: Paris."
        r, _ = await grade(
            {**RUBRIC, "rubricPrompt": "file://missing.txt"}, "{}", base_dir=tmp_path
        )
        assert not r.passed and "cannot read rubricPrompt file" in r.reason

    async def test_undefined_variable(self) -> None:
        r, grader = await grade({**RUBRIC, "rubricPrompt": "{{ nope }}"}, '{"pass": true}')
        assert not r.passed and "rubricPrompt uses undefined variable nope" in r.reason
        assert "available: " in r.reason and not grader.calls


class TestValidation:
    @pytest.mark.parametrize(
        ("check", "match"),
        [
            ({"type": "llm-rubric"}, "needs a 'value'"),
            ({"type": "factuality", "value": ""}, "needs a 'value'"),
            ({**RUBRIC, "provider": 3}, "'provider' must be a model id"),
            ({**RUBRIC, "rubricPrompt": "{{ oops"}, "bad template in rubricPrompt"),
            ({**RUBRIC, "rubricPrompt": 5}, "'rubricPrompt' must be"),
            ({**RUBRIC, "rubricPrompt": [{"role": "user"}]}, "chat messages"),
            (
                {"type": "factuality", "value": "x", "config": {"subset": -1}},
                "must be a number >= 0",
            ),
            (
                {"type": "factuality", "value": "x", "config": {"factuality": {"sub": 1}}},
                "unknown factuality option",
            ),
            ({"type": "not-select-best", "value": "x"}, "cannot be negated"),
            ({"type": "model-graded-closedqa", "value": ["a"]}, "value must be text"),
        ],
    )
    def test_invalid(self, check: dict[str, Any], match: str) -> None:
        with pytest.raises(ConfigError, match=match):
            parse_spec(check)


# --- factuality -------------------------------------------------------------------------------

FACT = {"type": "factuality", "value": "Paris is the capital of France"}


class TestFactuality:
    @pytest.mark.parametrize(
        ("letter", "passed", "meaning"),
        [
            ("A", True, "consistent subset"),
            ("B", True, "consistent superset"),
            ("C", True, "same details"),
            ("D", False, "disagree"),
            ("E", True, "not in facts"),
        ],
    )
    async def test_categories(self, letter: str, passed: bool, meaning: str) -> None:
        answer = f'{{"category": "{letter}", "reason": "because"}}'
        r, _ = await grade(FACT, answer)
        assert r.passed is passed and r.score == (1.0 if passed else 0.0)
        assert r.reason.startswith(f"category {letter} (") and meaning in r.reason
        assert r.reason.endswith(": because")

    async def test_prompt_holds_question_reference_and_output(self) -> None:
        _, grader = await grade(FACT, '{"category": "C"}', prompt_text="Capital of France?")
        for part in ("Capital of France?", "Paris is the capital of France", "Paris."):
            assert part in grader.prompt

    @pytest.mark.parametrize(
        ("answer", "letter"),
        [
            ("(B) The submission adds the population.", "B"),
            ("d) they disagree", None),  # no parenthesis pair, no label: not read
            ("Answer: D", "D"),
            ("The answer is a superset, so the category is **B**.", "B"),
            ("C", "C"),
            ('{"category": "(e) differs", "reason": "style"}', "E"),
            ("It is either (A) or (D).", None),  # ambiguous
            ("I cannot tell.", None),
        ],
    )
    def test_parse(self, answer: str, letter: str | None) -> None:
        parsed = parse_factuality(answer)
        assert (parsed[0] if parsed else None) == letter

    async def test_d_fails_and_not_factuality_passes(self) -> None:
        r, _ = await grade({**FACT, "type": "not-factuality"}, "Answer: D")
        assert r.passed and r.score == 1.0

    async def test_unparseable(self) -> None:
        r, _ = await grade(FACT, "It is either (A) or (D).")
        assert not r.passed and r.reason.startswith("grader answer holds no factuality category")

    async def test_category_scores(self) -> None:
        check = {**FACT, "config": {"factuality": {"subset": 0}, "superset": 0.5, "disagree": 0.2}}
        r, _ = await grade(check, '{"category": "A"}')
        assert not r.passed and r.score == 0.0
        r, _ = await grade(check, '{"category": "B"}')
        assert r.passed and r.score == 0.5
        r, _ = await grade(check, '{"category": "D"}')
        assert r.passed and r.score == pytest.approx(0.2)


# --- model-graded-closedqa --------------------------------------------------------------------

CLOSEDQA = {"type": "model-graded-closedqa", "value": "mentions a city"}


class TestClosedQa:
    @pytest.mark.parametrize(
        ("answer", "passed"),
        [
            ("The submission names Paris, a city.\nY", True),
            ("Step 1: no city is named.\nN", False),
            ("It names Paris.\nY\nY", True),
            ("Reasoning...\n\nAnswer: **Y**", True),
            ("Reasoning... so the answer is Y.", True),
            ("Reasoning...\nFinal answer: No", False),
            ("Reasoning...\nyes", True),
        ],
    )
    async def test_verdicts(self, answer: str, passed: bool) -> None:
        r, grader = await grade(CLOSEDQA, answer)
        assert r.passed is passed and r.score == (1.0 if passed else 0.0)
        assert "mentions a city" in grader.prompt and "Paris." in grader.prompt
        assert ("meets the criterion" if passed else "does not meet the criterion") in r.reason

    @pytest.mark.parametrize("answer", ["It names Paris, I believe.", "no idea, maybe"])
    def test_parse_none(self, answer: str) -> None:
        assert parse_yes_no(answer) is None

    async def test_unparseable_never_passes(self) -> None:
        r, _ = await grade({**CLOSEDQA, "type": "not-model-graded-closedqa"}, "It names Paris.")
        assert not r.passed and r.reason.startswith("grader answer does not end with Y or N")

    async def test_negation(self) -> None:
        r, _ = await grade({**CLOSEDQA, "type": "not-model-graded-closedqa"}, "No city.\nN")
        assert r.passed and r.score == 1.0


# --- select-best ------------------------------------------------------------------------------


class TestSelectBest:
    @pytest.mark.parametrize(
        ("answer", "index"),
        [
            ("1", 1),
            (" 2.", 2),
            ('{"index": 2, "reason": "short"}', 2),
            ("Text 0 is wordy; the best answer is 1.", 1),
            ("Text 1 fits best.", 1),
            ("<text index=2>", 2),
            ("5", None),
            ("-1", None),
            ("none of them", None),
        ],
    )
    def test_parse_index(self, answer: str, index: int | None) -> None:
        assert parse_index(answer, 3) == index

    async def test_select_best(self) -> None:
        grader = ScriptedGrader("The best is 1")
        outputs = ["Bonjour", "Hello there", "Hi"]
        assert await select_best(outputs, "most formal English", grader, "local:judge") == 1
        prompt, provider = grader.calls[0]
        assert provider == "local:judge" and "most formal English" in prompt
        for i, text in enumerate(outputs):
            assert f'<text index="{i}">\n{text}\n</text>' in prompt

    async def test_select_best_edge_cases(self) -> None:
        grader = ScriptedGrader("garbage")
        assert await select_best([], "c", grader, None) is None
        assert await select_best(["only"], "c", grader, None) == 0
        assert not grader.calls
        assert await select_best(["a", "b"], "c", grader, None) is None

    async def test_select_best_custom_prompt_and_errors(self) -> None:
        grader = ScriptedGrader("0")
        prompt = "{{ criteria }} for {{ who }}: {% for o in outputs %}[{{ o }}]{% endfor %}"
        got = await select_best(
            ["a", "b"], "c", grader, None, rubric_prompt=prompt, variables={"who": "kids"}
        )
        assert got == 0 and grader.prompt == "c for kids: [a][b]"
        failing = ScriptedGrader(ProviderError("down", kind="server"))
        with pytest.raises(ProviderError):
            await select_best(["a", "b"], "c", failing, None)

    async def test_one_output_alone_never_passes(self) -> None:
        # It used to be a stand-in pass; one answer cannot decide a cross-prompt check.
        r = await arun_check(
            parse_spec({"type": "select-best", "value": "x"}), CheckContext("a")
        )
        assert not r.passed and r.score == 0.0 and "one output alone" in r.reason


@pytest.mark.parametrize(
    "answer",
    [
        "no verdict words here at all",
        '{"foo": 1}',
        "It meets the rubric in part but does not meet the rubric overall.",  # both phrasings
        '{"pass": "maybe"}',
        '{"score": 250}',
    ],
)
def test_parse_rubric_verdict_none(answer: str) -> None:
    assert parse_rubric_verdict(answer) is None

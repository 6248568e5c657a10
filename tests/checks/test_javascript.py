"""The ``javascript`` check through the registry: results, negation, files and refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptwork.checks import CheckContext, CheckResult
from promptwork.checks.registry import arun_check, parse_spec
from promptwork.errors import ConfigError


async def js(output: str, value: Any, *, base_dir: Path | None = None, **check: Any) -> CheckResult:
    spec = parse_spec({"type": check.pop("type", "javascript"), "value": value, **check})
    ctx = CheckContext(output, vars={"city": "Paris", "limit": 5}, prompt_text="Where?",
                       base_dir=base_dir)
    return await arun_check(spec, ctx)


class TestResults:
    async def test_boolean(self) -> None:
        r = await js("I love Paris", "output.includes(context.vars.city)")
        assert r.passed and r.score == 1.0 and r.check_type == "javascript"
        r = await js("I love Rome", "output.includes(context.vars.city)")
        assert not r.passed and r.score == 0.0 and r.reason == "javascript returned false"

    async def test_number_without_threshold_passes_above_zero(self) -> None:
        assert (await js("abc", "output.length / 10")).passed
        r = await js("", "output.length / 10")
        assert not r.passed and r.score == 0.0

    async def test_number_against_threshold(self) -> None:
        r = await js("abcd", "output.length / 10", threshold=0.5)
        assert not r.passed and r.score == pytest.approx(0.4)
        assert "< threshold 0.5" in r.reason
        r = await js("abcdef", "output.length / 10", threshold=0.5)
        assert r.passed and r.score == pytest.approx(0.6)

    async def test_grading_result_object(self) -> None:
        body = (
            "if (output.length > context.vars.limit) {\n"
            "  return {pass: false, score: 0.2, reason: 'too long: ' + output.length};\n"
            "}\n"
            "return {pass: true, score: 0.9, reason: 'short'};"
        )
        r = await js("a long answer", body)
        assert (r.passed, r.score, r.reason) == (False, 0.2, "too long: 13")
        r = await js("ok", body)
        assert (r.passed, r.score, r.reason) == (True, 0.9, "short")
        r = await js("ok", body, threshold=0.95)
        assert not r.passed and "0.9 < threshold 0.95" in r.reason

    async def test_object_with_score_only(self) -> None:
        assert (await js("x", "({score: 0.7})", threshold=0.5)).passed
        assert not (await js("x", "({score: 0.3})", threshold=0.5)).passed

    async def test_negation(self) -> None:
        r = await js("I love Rome", "output.includes('Paris')", type="not-javascript")
        assert r.passed and r.check_type == "not-javascript" and r.score == 1.0
        r = await js("I love Paris", "output.includes('Paris')", type="not-javascript")
        assert not r.passed and r.score == 0.0

    async def test_code_is_not_rendered_as_a_template(self) -> None:
        code = "const o = {a: {b: 1}};\nreturn '{{ city }}' === '{{ ' + 'city }}' && o.a.b === 1;"
        assert (await js("x", code)).passed


class TestUserErrors:
    async def test_thrown_error_fails_and_is_not_inverted(self) -> None:
        for type_ in ("javascript", "not-javascript"):
            r = await js("x", "throw new Error('no way')", type=type_)
            assert not r.passed and r.score == 0.0
            assert r.reason == "javascript script error: Error: no way"

    async def test_infinite_loop_fails_on_the_time_limit(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("promptwork.checks.jsengine.TIME_LIMIT_S", 0.3)
        r = await js("x", "while (true) {}\nreturn true;", type="not-javascript")
        assert not r.passed and "time limit of 0.3 s" in r.reason

    async def test_undefined_result_fails(self) -> None:
        r = await js("x", "const a = 1;\nconst b = 2;")
        assert not r.passed and "returned undefined" in r.reason

    async def test_string_result_fails(self) -> None:
        r = await js("x", "'yes'")
        assert not r.passed and "must return a boolean" in r.reason


class TestFiles:
    async def test_module_exports(self, tmp_path: Path) -> None:
        (tmp_path / "check.js").write_text(
            "module.exports = (output, context) => ({\n"
            "  pass: output.includes(context.vars.city),\n"
            "  score: output.length / 100,\n"
            "  reason: 'cfg ' + context.config.label,\n"
            "});\n"
        )
        r = await js("Paris!", "file://check.js", base_dir=tmp_path, config={"label": "L"})
        assert r.passed and r.score == pytest.approx(0.06) and r.reason == "cfg L"

    async def test_named_function(self, tmp_path: Path) -> None:
        (tmp_path / "checks.js").write_text(
            "function short(output) { return output.length < 5; }\n"
            "module.exports = {long: (output) => output.length >= 5};\n"
        )
        assert (await js("abc", "file://checks.js:short", base_dir=tmp_path)).passed
        assert not (await js("abc", "file://checks.js:long", base_dir=tmp_path)).passed

    async def test_file_with_require_fails_by_name(self, tmp_path: Path) -> None:
        (tmp_path / "net.js").write_text("const http = require('http');\nmodule.exports = () => 1;")
        r = await js("x", "file://net.js", base_dir=tmp_path)
        assert not r.passed and "uses require()" in r.reason and "net.js" in r.reason

    async def test_missing_file_fails(self, tmp_path: Path) -> None:
        r = await js("x", "file://absent.js", base_dir=tmp_path)
        assert not r.passed and "cannot read javascript check file" in r.reason


class TestRefusedAtLoad:
    @pytest.mark.parametrize(
        ("value", "match"),
        [
            ("const fs = require('fs');\nreturn fs.existsSync('x');", "uses require"),
            ("import {x} from './x.js';\nreturn x;", "uses import"),
            ("output.length >", "does not parse: SyntaxError"),
            ("file://check.mjs", "ES modules and TypeScript"),
            ("file://check.ts:fn", "ES modules and TypeScript"),
            ("file://check.py", "must end in .js"),
            ("", "needs a 'value'"),
            (["output"], "must be a JavaScript expression"),
        ],
    )
    def test_refused(self, value: Any, match: str) -> None:
        with pytest.raises(ConfigError, match=match):
            parse_spec({"type": "javascript", "value": value}, where="suite.yaml: tests[0]")


async def test_a_tool_call_answer_reaches_the_script_parsed() -> None:
    # promptfoo hands a tool/function call answer to the script as the parsed object, so that
    # ``output[0].function.name`` works; plain text answers stay text (even JSON-looking ones).
    calls = '[{"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]'
    spec = parse_spec({"type": "javascript", "value": "output[0].function.name === 'get_weather'"})
    ctx = CheckContext(calls, vars={}, prompt_text="Weather?", finish_reason="tool_calls")
    assert (await arun_check(spec, ctx)).passed
    text = parse_spec({"type": "javascript", "value": "typeof output === 'string'"})
    assert (await arun_check(text, CheckContext(calls, vars={}, prompt_text="?",
                                                finish_reason="stop"))).passed

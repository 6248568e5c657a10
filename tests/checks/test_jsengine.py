"""The embedded V8 that runs user JavaScript: forms of code, results, and the sandbox's limits."""

from __future__ import annotations

import asyncio

import pytest

from promptwork.checks.jsengine import (
    JSError,
    arun_js,
    run_js,
    run_js_file,
    script_problem,
    syntax_problem,
)

CTX = {"vars": {"city": "Paris", "n": 3}, "prompt": "Where?"}


class TestForms:
    def test_expression_sees_output_and_context(self) -> None:
        assert run_js("output.includes(context.vars.city)", "I love Paris", CTX) is True
        assert run_js("output.includes(context.vars.city)", "I love Rome", CTX) is False
        assert run_js("output.length * context.vars.n", "abcd", CTX) == 12

    def test_function_body_returns_an_object(self) -> None:
        body = (
            "const n = output.length;\n"
            "if (n > 3) {\n  return {pass: true, reason: 'long'};\n}\n"
            "return false;"
        )
        assert run_js(body, "hello", CTX) == {"pass": True, "reason": "long"}
        assert run_js(body, "hi", CTX) is False

    def test_undefined_comes_back_as_none(self) -> None:
        assert run_js("let x = 1;\nx += 1;", "o", CTX) is None

    def test_promise_is_awaited(self) -> None:
        code = "await new Promise((resolve) => setTimeout(() => resolve(output + '!'), 10))"
        assert run_js(code, "done", CTX) == "done!"

    async def test_async_variant_keeps_the_loop_going(self) -> None:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        code = "await new Promise((resolve) => setTimeout(() => resolve(7), 200))"
        assert await arun_js(code, "x", CTX) == 7
        ticker.cancel()
        assert ticks >= 5

    def test_file_exports(self) -> None:
        source = "module.exports = (output, context) => output.length > context.vars.n;"
        assert run_js_file(source, None, "hello", CTX) is True
        named = (
            "function check(output) { return {pass: false, score: 0.25}; }\n"
            "module.exports = {other: 1};"
        )
        assert run_js_file(named, "check", "x", CTX) == {"pass": False, "score": 0.25}
        assert run_js_file("module.exports = {grade: (o) => o + '?'};", "grade", "x", CTX) == "x?"

    def test_file_without_the_function(self) -> None:
        with pytest.raises(JSError, match="does not export a function named 'nope'"):
            run_js_file("module.exports = () => 1;", "nope", "x", CTX)
        with pytest.raises(JSError, match=r"does not export a function as module\.exports"):
            run_js_file("var x = 1;", None, "x", CTX)

    def test_calls_share_no_state(self) -> None:
        run_js("globalThis.leak = 42;\nreturn 1;", "x", CTX)
        assert run_js("typeof leak", "x", CTX) == "undefined"


class TestSandbox:
    def test_no_node_or_browser_powers(self) -> None:
        kinds = run_js(
            "[typeof require, typeof process, typeof fetch, typeof XMLHttpRequest, typeof module]",
            "x",
            CTX,
        )
        assert kinds == ["undefined"] * 5

    def test_thrown_error_is_a_js_error_with_its_message(self) -> None:
        with pytest.raises(JSError, match="script error: Error: boom"):
            run_js("throw new Error('boom')", "x", CTX)
        with pytest.raises(JSError, match="ReferenceError: nothing is not defined"):
            run_js("nothing.here", "x", CTX)

    def test_infinite_loop_is_stopped_by_the_time_limit(self) -> None:
        # The message names the limit that stopped it (no wall-clock bound: timed unit tests
        # fail under load).
        with pytest.raises(JSError, match=r"time limit of 0\.3 s"):
            run_js("while (true) {}", "x", CTX, time_limit_s=0.3)
        assert run_js("1 + 1", "x", CTX) == 2  # the engine is still usable

    def test_never_settling_promise_is_stopped(self) -> None:
        with pytest.raises(JSError, match="time limit"):
            run_js("await new Promise(() => {})", "x", CTX, time_limit_s=0.2)

    def test_memory_limit(self) -> None:
        code = "const a = [];\nwhile (true) { a.push(new Array(100000).fill(1)); }"
        with pytest.raises(JSError, match="memory limit of 32 MB"):
            run_js(code, "x", CTX, memory_limit=32 * 1024 * 1024, time_limit_s=10)

    @pytest.mark.parametrize(
        ("code", "match"),
        [
            ("const fs = require('fs');\nreturn true;", "uses require()"),
            ("import fs from 'fs';\nreturn true;", "uses import"),
            ("return import('fs')", "uses import"),
            ("export default function () { return 1; }", "ES module 'export'"),
        ],
    )
    def test_modules_refused_by_name(self, code: str, match: str) -> None:
        problem = script_problem(code)
        assert problem is not None and match in problem

    def test_lookalikes_are_not_refused(self) -> None:
        assert script_problem("output.required && context.vars.imported") is None
        assert script_problem("output.includes('important')") is None

    def test_syntax_checked_without_running(self) -> None:
        assert syntax_problem("output.length >") is not None
        assert syntax_problem("return output.length > 2") is None
        assert syntax_problem("while (true) {}") is None  # parsed, never run
        assert syntax_problem("function (", file=True) is not None
        assert syntax_problem("module.exports = () => 1;", file=True) is None

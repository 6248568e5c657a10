"""Tool and function call checks against the provider's ``tools``/``functions`` config."""

from __future__ import annotations

import json
from typing import Any

import pytest

from promptwork.checks import CheckContext, CheckResult
from promptwork.checks.registry import arun_check, parse_spec
from promptwork.errors import ConfigError

WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city"],
}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "book_flight", "parameters": {"type": "object"}}},
]
FUNCTIONS = [{"name": "get_weather", "parameters": WEATHER}]


def openai_call(name: str, args: Any) -> dict[str, Any]:
    arguments = args if isinstance(args, str) else json.dumps(args)
    return {"id": "c1", "type": "function", "function": {"name": name, "arguments": arguments}}


async def check(type_: str, output: str = "", *, raw: Any = None,
                config: dict[str, Any] | None = None, **spec: Any) -> CheckResult:
    parsed = parse_spec({"type": type_, **spec})
    ctx = CheckContext(output, provider_id="openai:chat:gpt-4o-mini",
                       provider_config=config if config is not None else {"tools": TOOLS},
                       raw_response=raw)
    return await arun_check(parsed, ctx)


def raw_with(*calls: dict[str, Any]) -> dict[str, Any]:
    return {"choices": [{"message": {"content": None, "tool_calls": list(calls)}}]}


class TestToolsCall:
    async def test_valid_calls_in_the_raw_response(self) -> None:
        raw = raw_with(openai_call("get_weather", {"city": "Paris", "days": 2}),
                       openai_call("book_flight", {}))
        r = await check("is-valid-openai-tools-call", raw=raw)
        assert r.passed and r.reason == "2 valid tool calls: get_weather, book_flight"

    async def test_calls_as_json_output(self) -> None:
        output = json.dumps([openai_call("get_weather", {"city": "Oslo"})])
        assert (await check("is-valid-openai-tools-call", output)).passed

    async def test_arguments_against_the_schema(self) -> None:
        raw = raw_with(openai_call("get_weather", {"days": 0}))
        r = await check("is-valid-openai-tools-call", raw=raw)
        assert not r.passed and "does not match its schema" in r.reason and "'city'" in r.reason

    async def test_unknown_tool_and_bad_json(self) -> None:
        r = await check("is-valid-openai-tools-call", raw=raw_with(openai_call("rm_rf", {})))
        assert not r.passed and "unknown tool 'rm_rf'" in r.reason
        r = await check("is-valid-openai-tools-call",
                        raw=raw_with(openai_call("get_weather", "{city: Paris")))
        assert not r.passed and "not JSON" in r.reason

    async def test_no_call_fails_and_negation(self) -> None:
        r = await check("is-valid-openai-tools-call", "It is sunny.")
        assert not r.passed and r.reason == "output holds no tool call"
        r = await check("not-is-valid-openai-tools-call", "It is sunny.")
        assert r.passed

    async def test_mcp_results(self) -> None:
        assert (await check("is-valid-openai-tools-call", "MCP Tool Result: 4")).passed
        assert not (await check("is-valid-openai-tools-call", "MCP Tool Error: down")).passed

    async def test_provider_without_tools_cannot_decide(self) -> None:
        for type_ in ("is-valid-openai-tools-call", "not-is-valid-openai-tools-call"):
            r = await check(type_, "[]", config={})
            assert not r.passed and "needs 'tools' in the provider's config" in r.reason


class TestFunctionCall:
    async def test_valid_and_invalid(self) -> None:
        good = {"choices": [{"message": {"function_call": {
            "name": "get_weather", "arguments": '{"city": "Rome"}'}}}]}
        for type_ in ("is-valid-function-call", "is-valid-openai-function-call"):
            r = await check(type_, raw=good, config={"functions": FUNCTIONS})
            assert r.passed and "get_weather" in r.reason
        r = await check("is-valid-function-call", json.dumps({"name": "get_weather",
                        "arguments": {"city": 3}}), config={"functions": FUNCTIONS})
        assert not r.passed and "does not match its schema" in r.reason

    async def test_function_tools_count_as_functions(self) -> None:
        output = json.dumps({"name": "book_flight", "arguments": "{}"})
        assert (await check("is-valid-function-call", output)).passed

    async def test_no_functions_configured(self) -> None:
        r = await check("is-valid-function-call", "{}", config={"temperature": 0})
        assert not r.passed and "needs 'functions'" in r.reason


class TestToolCallF1:
    async def test_exact_and_partial(self) -> None:
        raw = raw_with(openai_call("get_weather", {"city": "A"}))
        r = await check("tool-call-f1", raw=raw, value=["get_weather", "book_flight"])
        assert not r.passed and r.score == pytest.approx(2 / 3)
        r = await check("tool-call-f1", raw=raw, value="get_weather, book_flight", threshold=0.6)
        assert r.passed
        both = raw_with(openai_call("get_weather", {}), openai_call("book_flight", {}))
        assert (await check("tool-call-f1", raw=both, value=["book_flight", "get_weather"])).passed

    async def test_other_vendor_shapes(self) -> None:
        lines = "\n".join([
            "Calling tools:",
            json.dumps({"type": "tool_use", "name": "search", "input": {"q": "x"}}),
            json.dumps({"functionCall": {"name": "lookup", "args": {}}}),
        ])
        r = await check("tool-call-f1", lines, value=["search", "lookup"])
        assert r.passed and r.score == 1.0

    async def test_nothing_called(self) -> None:
        r = await check("tool-call-f1", "no tools", value=["search"])
        assert not r.passed and r.score == 0.0


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"type": "tool-call-f1"}, "needs a 'value'"),
        ({"type": "tool-call-f1", "value": [1]}, "list of tool names"),
        ({"type": "tool-call-f1", "value": "a", "threshold": 2}, "between 0 and 1"),
        ({"type": "is-valid-openai-tools-call", "value": "x"}, "takes no 'value'"),
    ],
)
def test_bad_config_refused_at_load(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_spec(spec)

"""Checks on the tool and function calls a model made (promptfoo's semantics).

* ``is-valid-openai-tools-call``: the answer holds at least one tool call, and every call names a
  function tool of the answering provider's ``config.tools`` and has JSON arguments valid against
  that tool's ``parameters`` schema. As in promptfoo, an output that reports an MCP tool result
  (``MCP Tool Result``) passes and one that reports an MCP tool error (``MCP Tool Error``) fails.
* ``is-valid-function-call`` (and its legacy name ``is-valid-openai-function-call``): the answer's
  function call names a function of the provider's ``config.functions`` (or of the function tools
  in ``config.tools``) with arguments valid against its ``parameters`` schema.
* ``tool-call-f1``: the F1 score of the set of tool names called against the expected names
  (``value``: a list or a comma-separated string); passes at ``threshold`` (default 1, exact).

The calls are read from the provider's raw response when it has them (an OpenAI-style
``choices[0].message.tool_calls`` / ``function_call``), else from the output text when it is JSON:
a list of calls, ``{"tool_calls": [...]}``, or one call. OpenAI Chat (``{"function": {"name",
"arguments"}}``), OpenAI Responses (``{"type": "function_call", "name", "arguments"}``),
Anthropic (``{"type": "tool_use", "name", "input"}``) and Google (``{"functionCall": {"name",
"args"}}``) shapes are understood. A provider without the ``tools``/``functions`` the check needs
cannot decide it: the check fails, saying so.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptwork.checks.base import CheckContext, CheckError, CheckResult, CheckSpec, outcome

__all__ = [
    "ToolCall",
    "is_valid_function_call",
    "is_valid_openai_tools_call",
    "spec_problem",
    "tool_call_f1",
    "tool_calls_of",
]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call: the function's name and its arguments (a mapping, or the text that was sent)."""

    name: str
    arguments: Any


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with a tool-call check (checked when the suite loads), or ``None``."""
    if spec.type == "tool-call-f1":
        if not _expected_names(spec.value):
            return "value must be a list of tool names or a comma-separated string of them"
        if spec.threshold is not None and not 0 <= spec.threshold <= 1:
            return f"'threshold' must be between 0 and 1, got {spec.threshold:g}"
    elif spec.value is not None:
        return "takes no 'value' (the schemas come from the provider's config)"
    return None


def _expected_names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    return []


# --- finding the calls ------------------------------------------------------------------------


def _call_of(item: Any) -> ToolCall | None:
    if not isinstance(item, Mapping):
        return None
    function = item.get("function")
    if isinstance(function, Mapping) and isinstance(function.get("name"), str):
        return ToolCall(function["name"], function.get("arguments"))
    google = item.get("functionCall")
    if isinstance(google, Mapping) and isinstance(google.get("name"), str):
        return ToolCall(google["name"], google.get("args"))
    if item.get("type") == "tool_use" and isinstance(item.get("name"), str):
        return ToolCall(item["name"], item.get("input"))
    if isinstance(item.get("name"), str) and ("arguments" in item or "args" in item):
        return ToolCall(item["name"], item.get("arguments", item.get("args")))
    return None


def _calls_in(data: Any) -> list[ToolCall] | None:
    """The calls in a decoded JSON value, or ``None`` when it holds none."""
    if isinstance(data, Mapping):
        for key in ("tool_calls", "toolCalls", "function_call"):
            if key in data:
                return _calls_in(data[key])
        call = _call_of(data)
        return [call] if call is not None else None
    if isinstance(data, list) and data:
        calls = [_call_of(item) for item in data]
        found = [c for c in calls if c is not None]
        return found or None
    return None


def _from_raw(raw: Any) -> list[ToolCall] | None:
    if not isinstance(raw, Mapping):
        return None
    choices = raw.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
        message = choices[0].get("message")
        if isinstance(message, Mapping):
            for key in ("tool_calls", "function_call"):
                if message.get(key):
                    return _calls_in(message[key])
    for key in ("output", "content"):  # OpenAI Responses, Anthropic
        if isinstance(raw.get(key), list):
            found = _calls_in(raw[key])
            if found:
                return found
    return None


def _json_values(text: str) -> list[Any]:
    """The output as one JSON value, else the JSON values on lines of their own."""
    stripped = text.strip()
    try:
        return [json.loads(stripped)]
    except ValueError:
        pass
    values = []
    for line in stripped.splitlines():
        line = line.strip()
        if line[:1] in ("{", "["):
            try:
                values.append(json.loads(line))
            except ValueError:
                continue
    return values


def tool_calls_of(ctx: CheckContext) -> list[ToolCall]:
    """The tool or function calls of the answer (raw response first, then the output text)."""
    from_raw = _from_raw(ctx.raw_response)
    if from_raw:
        return from_raw
    calls: list[ToolCall] = []
    for value in _json_values(ctx.output):
        calls.extend(_calls_in(value) or [])
    return calls


# --- validating -------------------------------------------------------------------------------


def _arguments(call: ToolCall) -> Any:
    args = call.arguments
    if args is None:
        return {}
    if isinstance(args, str):
        try:
            return json.loads(args) if args.strip() else {}
        except ValueError as exc:
            message = f"call to {call.name!r} has arguments that are not JSON: {exc}"
            raise ValueError(message) from None
    return args


def _schema_errors(instance: Any, schema: Any) -> str | None:
    jsonschema: Any = importlib.import_module("jsonschema")
    if not isinstance(schema, Mapping):
        return None
    validator_cls = jsonschema.validators.validator_for(schema)
    try:
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        message = f"the provider's schema is not a valid JSON schema: {exc.message}"
        raise CheckError(message) from None
    error = jsonschema.exceptions.best_match(validator_cls(schema).iter_errors(instance))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "arguments"
    return f"{where}: {error.message}"


def _validate(calls: Sequence[ToolCall], schemas: Mapping[str, Any], what: str) -> CheckResult:
    if not calls:
        return outcome(False, f"output holds no {what} call")
    for call in calls:
        if call.name not in schemas:
            known = ", ".join(sorted(schemas)) or "none"
            return outcome(False, f"call to unknown {what} {call.name!r} (configured: {known})")
        try:
            args = _arguments(call)
        except ValueError as exc:
            return outcome(False, str(exc))
        problem = _schema_errors(args, schemas[call.name])
        if problem:
            return outcome(False, f"call to {call.name!r} does not match its schema: {problem}")
    names = ", ".join(call.name for call in calls)
    return outcome(True, f"{len(calls)} valid {what} call{'s' if len(calls) != 1 else ''}: {names}")


def _function_tools(tools: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, Mapping):
            continue
        function = tool.get("function") if tool.get("type", "function") == "function" else None
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            out[function["name"]] = function.get("parameters") or {}
        elif tool.get("type") == "function" and isinstance(tool.get("name"), str):
            out[tool["name"]] = tool.get("parameters") or {}  # Responses API form
    return out


def _config(ctx: CheckContext, check: str, key: str) -> Any:
    config = ctx.provider_config or {}
    value = config.get(key)
    if isinstance(value, str) and value.startswith("file://"):
        raise CheckError(f"'{check}': the provider's {key} file was not loaded")
    return value


def is_valid_openai_tools_call(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Every tool call of the answer matches a tool of the provider's ``config.tools``."""
    if "MCP Tool Error" in ctx.output:
        return outcome(False, "output reports an MCP tool error")
    if "MCP Tool Result" in ctx.output:
        return outcome(True, "output reports an MCP tool result")
    tools = _config(ctx, spec.type, "tools")
    if not tools:
        raise CheckError(
            f"'{spec.type}' needs 'tools' in the provider's config (provider "
            f"{ctx.provider_id or 'unknown'} has none)"
        )
    return _validate(tool_calls_of(ctx), _function_tools(tools), "tool")


def is_valid_function_call(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The answer's function call matches a function of the provider's config."""
    functions = _config(ctx, spec.type, "functions")
    schemas: dict[str, Any] = {}
    for fn in functions if isinstance(functions, list) else []:
        if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
            schemas[fn["name"]] = fn.get("parameters") or {}
    schemas.update(_function_tools(_config(ctx, spec.type, "tools")))
    if not schemas:
        raise CheckError(
            f"'{spec.type}' needs 'functions' (or function 'tools') in the provider's config "
            f"(provider {ctx.provider_id or 'unknown'} has none)"
        )
    return _validate(tool_calls_of(ctx), schemas, "function")


def tool_call_f1(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """F1 of the tool names called against the expected ones (unordered sets)."""
    expected = set(_expected_names(spec.value))
    if not expected:
        raise CheckError("'tool-call-f1' needs the expected tool names as its value")
    actual = {call.name for call in tool_calls_of(ctx)}
    hits = len(actual & expected)
    precision = hits / len(actual) if actual else 0.0
    recall = hits / len(expected)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    threshold = spec.threshold if spec.threshold is not None else 1.0
    passed = f1 >= threshold - 1e-12
    called = ", ".join(sorted(actual)) or "none"
    return CheckResult(
        passed,
        f1,
        f"tool-call F1 {f1:.3f} {'>=' if passed else '<'} threshold {threshold:g} "
        f"(called: {called}; expected: {', '.join(sorted(expected))})",
    )

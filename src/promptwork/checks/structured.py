"""Structured-output checks: is-json and contains-json, optionally against a JSON schema.

The value, when given, is a JSON schema: a mapping, a YAML/JSON string, or ``file://schema.json``
(``.yaml``/``.yml`` files are read as YAML) resolved against the suite's directory. Schemas without
``$schema`` are read as draft 7, like promptfoo's validator (ajv); formats are checked. Schema
validation needs the ``jsonschema`` package, imported only when a schema is used.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping
from typing import Any

from promptwork.checks.base import CheckContext, CheckResult, CheckSpec, outcome
from promptwork.errors import ConfigError, MissingDependencyError
from promptwork.yamlfile import load_yaml

__all__ = ["contains_json", "find_json", "is_json", "schema_problem"]

#: Most start positions :func:`find_json` tries, bounding the work on text full of brackets.
MAX_CANDIDATES = 1000


def _jsonschema() -> Any:
    try:
        return importlib.import_module("jsonschema")
    except ImportError:
        raise MissingDependencyError(
            "JSON schema checks need the 'jsonschema' package: pip install jsonschema"
        ) from None


def _validator_class(schema: Mapping[str, Any]) -> Any:
    js = _jsonschema()
    return js.validators.validator_for(schema, default=js.Draft7Validator)


def schema_problem(schema: Mapping[str, Any]) -> str | None:
    """Why ``schema`` is not a valid JSON schema, or ``None``."""
    try:
        js = _jsonschema()
    except MissingDependencyError as exc:
        return exc.message
    try:
        _validator_class(schema).check_schema(schema)
    except js.exceptions.SchemaError as exc:
        return f"invalid JSON schema: {exc.message}"
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str) -> Any:
    """Strict JSON (no NaN/Infinity, which JavaScript's JSON.parse refuses too)."""
    return json.loads(text, parse_constant=_reject_constant)


def _load_schema(value: Any, ctx: CheckContext) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        schema: Any = value
    elif isinstance(value, str) and value.startswith("file://"):
        path = ctx.resolve(value)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read JSON schema {path}: {exc.strerror}") from None
        if path.suffix.lower() in (".yaml", ".yml"):
            schema, _ = load_yaml(text, path)
        else:
            try:
                schema = json.loads(text)
            except ValueError as exc:
                raise ConfigError(f"invalid JSON in schema file: {exc}", path) from None
    elif isinstance(value, str):
        schema, _ = load_yaml(value)
    else:
        raise TypeError(f"a JSON schema must be a mapping or a string, got {type(value).__name__}")
    if not isinstance(schema, Mapping):
        raise ConfigError(f"a JSON schema must be a mapping, got {type(schema).__name__}")
    problem = schema_problem(schema)
    if problem:
        raise ConfigError(problem)
    return schema


def _schema_error(instance: Any, schema: Mapping[str, Any]) -> str | None:
    """The most relevant validation error as ``$.path: message``, or ``None`` when valid."""
    js = _jsonschema()
    cls = _validator_class(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    error = js.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return None
    return f"{error.json_path}: {error.message}"


def is_json(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The whole output (surrounding whitespace allowed) is valid JSON, matching the schema if
    one is given."""
    schema = _load_schema(spec.value, ctx)
    try:
        parsed = _loads(ctx.output)
    except ValueError as exc:
        return outcome(False, f"output is not valid JSON: {exc}")
    if schema is None:
        return outcome(True, "output is valid JSON")
    error = _schema_error(parsed, schema)
    if error:
        return outcome(False, f"output JSON does not match the schema: {error}")
    return outcome(True, "output is valid JSON matching the schema")


_OPENERS = re.compile(r"[\[{]")


def find_json(text: str) -> list[tuple[int, Any]]:
    """Every outermost JSON object or array inside ``text``, as ``(offset, value)``.

    Scans for ``{`` and ``[``; where a parse succeeds the scan continues after the value, where it
    fails it moves one character on (so a valid object inside broken text is still found). Code
    fences and prose around the JSON are ignored.
    """
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    found: list[tuple[int, Any]] = []
    pos = 0
    for _ in range(MAX_CANDIDATES):
        match = _OPENERS.search(text, pos)
        if match is None:
            break
        start = match.start()
        try:
            value, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            pos = start + 1
            continue
        found.append((start, value))
        pos = end
    return found


def contains_json(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The output contains a JSON object or array somewhere (matching the schema, if given)."""
    schema = _load_schema(spec.value, ctx)
    candidates = find_json(ctx.output)
    if not candidates:
        return outcome(False, "output contains no JSON object or array")
    if schema is None:
        return outcome(True, f"output contains JSON at character {candidates[0][0]}")
    first_error = ""
    for offset, value in candidates:
        error = _schema_error(value, schema)
        if error is None:
            return outcome(True, f"output contains JSON matching the schema at character {offset}")
        first_error = first_error or error
    count = len(candidates)
    return outcome(
        False,
        f"output contains {count} JSON value{'s' if count > 1 else ''} but none matches the "
        f"schema: {first_error}",
    )

"""Check names to check functions, and running one check.

Built-in checks are registered exactly like plugins: by a lazy ``module:function`` reference, so a
check family's imports (``jsonschema``...) only matter when it is used. Third-party packages add
checks through the ``promptwork.checks`` entry-point group: the entry point's name is the check
type and its object a :data:`~promptwork.checks.base.CheckFn`. :func:`register` adds one at run
time (tests, notebooks).

A check function may be synchronous or ``async``. :func:`arun_check` runs either kind and is what
the runner uses; :func:`run_check` is the synchronous shortcut for synchronous checks only.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
import traceback
from collections.abc import Mapping
from dataclasses import replace
from importlib.metadata import entry_points
from typing import Any

from promptwork.checks.base import CheckContext, CheckError, CheckFn, CheckResult, CheckSpec
from promptwork.checks.errors import CHECK, GRADER, INTERNAL, GradingError
from promptwork.errors import ConfigError, MissingVariableError, ProviderError, TemplateError
from promptwork.templates import Template, TemplateEngine
from promptwork.yamlfile import did_you_mean

__all__ = [
    "BUILTIN",
    "arun_check",
    "failed_result",
    "get_check",
    "is_async_check",
    "known_types",
    "refusal",
    "register",
    "render_value",
    "run_check",
    "validate_spec",
]

ENTRY_POINT_GROUP = "promptwork.checks"

BUILTIN: dict[str, str] = {
    "equals": "promptwork.checks.text:equals",
    "contains": "promptwork.checks.text:contains",
    "icontains": "promptwork.checks.text:icontains",
    "contains-any": "promptwork.checks.text:contains_any",
    "contains-all": "promptwork.checks.text:contains_all",
    "icontains-any": "promptwork.checks.text:icontains_any",
    "icontains-all": "promptwork.checks.text:icontains_all",
    "regex": "promptwork.checks.text:regex",
    "starts-with": "promptwork.checks.text:starts_with",
    "is-refusal": "promptwork.checks.text:is_refusal",
    "is-json": "promptwork.checks.structured:is_json",
    "contains-json": "promptwork.checks.structured:contains_json",
    "levenshtein": "promptwork.checks.metrics:levenshtein",
    "rouge-n": "promptwork.checks.metrics:rouge_n",
    "bleu": "promptwork.checks.metrics:bleu",
    "python": "promptwork.checks.python_check:python",
    "latency": "promptwork.checks.perf:latency",
    "cost": "promptwork.checks.perf:cost",
    "similar": "promptwork.checks.similarity:similar",
    "llm-rubric": "promptwork.checks.judge:llm_rubric",
    "factuality": "promptwork.checks.judge:factuality",
    "model-graded-closedqa": "promptwork.checks.judge:model_graded_closedqa",
    "select-best": "promptwork.checks.judge:select_best_cell",
    "javascript": "promptwork.checks.javascript:javascript",
    "is-valid-openai-tools-call": "promptwork.checks.toolcalls:is_valid_openai_tools_call",
    "is-valid-function-call": "promptwork.checks.toolcalls:is_valid_function_call",
    "is-valid-openai-function-call": "promptwork.checks.toolcalls:is_valid_function_call",
    "tool-call-f1": "promptwork.checks.toolcalls:tool_call_f1",
    "finish-reason": "promptwork.checks.response:finish_reason",
    "perplexity": "promptwork.checks.response:perplexity",
    "perplexity-score": "promptwork.checks.response:perplexity_score",
    "word-count": "promptwork.checks.counts:word_count",
    "min-length": "promptwork.checks.counts:min_length",
    "max-length": "promptwork.checks.counts:max_length",
    "empty": "promptwork.checks.counts:empty",
    "g-eval": "promptwork.checks.geval:g_eval",
    "context-faithfulness": "promptwork.checks.grounding:context_faithfulness",
    "context-recall": "promptwork.checks.grounding:context_recall",
    "context-relevance": "promptwork.checks.grounding:context_relevance",
    "answer-relevance": "promptwork.checks.relevance:answer_relevance",
    "conversation-relevance": "promptwork.checks.relevance:conversation_relevance",
    "max-score": "promptwork.checks.selection:max_score_cell",
    "moderation": "promptwork.checks.moderation:moderation",
    "is-xml": "promptwork.checks.markup:is_xml",
    "contains-xml": "promptwork.checks.markup:contains_xml",
    "gleu": "promptwork.checks.gleu:gleu",
}

#: Validation of the checks added for promptfoo's surface: type -> ``module:function`` returning
#: what is wrong with a spec, or ``None`` (imported on first use, like :data:`BUILTIN`).
SPEC_PROBLEMS: dict[str, str] = {
    "javascript": "promptwork.checks.javascript:spec_problem",
    "is-valid-openai-tools-call": "promptwork.checks.toolcalls:spec_problem",
    "is-valid-function-call": "promptwork.checks.toolcalls:spec_problem",
    "is-valid-openai-function-call": "promptwork.checks.toolcalls:spec_problem",
    "tool-call-f1": "promptwork.checks.toolcalls:spec_problem",
    "finish-reason": "promptwork.checks.response:spec_problem",
    "perplexity": "promptwork.checks.response:spec_problem",
    "perplexity-score": "promptwork.checks.response:spec_problem",
    "word-count": "promptwork.checks.counts:spec_problem",
    "min-length": "promptwork.checks.counts:spec_problem",
    "max-length": "promptwork.checks.counts:spec_problem",
    "empty": "promptwork.checks.counts:spec_problem",
    "g-eval": "promptwork.checks.geval:spec_problem",
    "context-faithfulness": "promptwork.checks.grounding:spec_problem",
    "context-recall": "promptwork.checks.grounding:spec_problem",
    "context-relevance": "promptwork.checks.grounding:spec_problem",
    "answer-relevance": "promptwork.checks.relevance:spec_problem",
    "conversation-relevance": "promptwork.checks.relevance:spec_problem",
    "max-score": "promptwork.checks.selection:spec_problem",
    "moderation": "promptwork.checks.moderation:spec_problem",
    "is-xml": "promptwork.checks.markup:spec_problem",
    "contains-xml": "promptwork.checks.markup:spec_problem",
    "gleu": "promptwork.checks.gleu:spec_problem",
}

#: Checks that call a grading model through :attr:`CheckContext.grader`.
MODEL_GRADED = frozenset(
    {
        "llm-rubric",
        "factuality",
        "model-graded-closedqa",
        "select-best",
        "g-eval",
        "context-faithfulness",
        "context-recall",
        "context-relevance",
        "answer-relevance",
        "conversation-relevance",
        "moderation",
    }
)
#: The model-graded checks of :mod:`promptwork.checks.judge` (validated there).
_JUDGE_CHECKS = frozenset({"llm-rubric", "factuality", "model-graded-closedqa", "select-best"})

#: Checks that cannot run without a ``value``.
NEEDS_VALUE = frozenset(
    {
        "equals",
        "contains",
        "icontains",
        "contains-any",
        "contains-all",
        "icontains-any",
        "icontains-all",
        "regex",
        "starts-with",
        "levenshtein",
        "rouge-n",
        "bleu",
        "python",
        "similar",
        "llm-rubric",
        "factuality",
        "model-graded-closedqa",
        "select-best",
        "javascript",
        "tool-call-f1",
        "finish-reason",
        "word-count",
        "g-eval",
        "gleu",
        "context-recall",
    }
)

#: Checks whose value is code, not a template: rendering would mangle ``{{`` in Python source.
#: Python checks get the vars as ``context["vars"]`` instead.
RAW_VALUE = frozenset({"python", "javascript"})

_registered: dict[str, CheckFn] = {}
_loaded: dict[str, CheckFn] = {}


@functools.cache
def _plugins() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def register(name: str, fn: CheckFn) -> None:
    """Add (or replace) a check at run time; it takes precedence over built-ins and plugins."""
    if name.startswith("not-"):
        raise ValueError("check names may not start with 'not-' (that prefix negates a check)")
    _registered[name] = fn
    _loaded.pop(name, None)


def parse_spec(d: Any, where: str = "") -> CheckSpec:
    """Parse and validate one assertion mapping (``{type: contains, value: Paris}``): its keys,
    its type (built-in, plugin or registered) and its value and options for that type.

    Args:
        d: The assertion as loaded from YAML/JSON.
        where: Location prefix for error messages (``suite.yaml: tests[2].assert[0]``).

    Raises:
        ConfigError: Unknown type or key (with a suggestion and the list of known names), or a
            value, threshold, weight or option of the wrong kind.
    """
    raw_type = d.get("type") if isinstance(d, Mapping) else None
    reason = refusal(raw_type)
    if reason is not None:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}check {str(raw_type).strip()!r} is not supported: {reason}")
    return CheckSpec.parse(d, where, known=known_types(), validate=validate_spec)


def refusal(check_type: Any) -> str | None:
    """Why promptwork refuses promptfoo's check type ``check_type`` (``not-`` or not), or ``None``.

    A type registered at run time or by a plugin is never refused.
    """
    if not isinstance(check_type, str):
        return None
    from promptwork.checks.unsupported import UNSUPPORTED

    name = check_type.strip()
    base = name[4:] if name.startswith("not-") else name
    if base in _registered or base in _plugins():
        return None
    return UNSUPPORTED.get(base)


def known_types() -> list[str]:
    """Every check type that can be used (without the ``not-`` forms), sorted."""
    return sorted(set(BUILTIN) | set(_plugins()) | set(_registered))


def get_check(name: str) -> CheckFn:
    """The function for check type ``name`` (imported on first use).

    Raises:
        ConfigError: Unknown name (with a suggestion and the known names).
    """
    if name in _registered:
        return _registered[name]
    if name in _loaded:
        return _loaded[name]
    fn: CheckFn
    if name in BUILTIN:
        module_name, _, attr = BUILTIN[name].partition(":")
        fn = getattr(importlib.import_module(module_name), attr)
    elif name in _plugins():
        fn = _plugins()[name].load()
    else:
        raise ConfigError(
            f"unknown check type {name!r}{did_you_mean(name, known_types())}; "
            f"known checks: {', '.join(known_types())}"
        )
    _loaded[name] = fn
    return fn


# --- values as templates ----------------------------------------------------------------------

_TEMPLATE_MARKERS = ("{{", "{%", "{#")


@functools.cache
def _engine() -> TemplateEngine:
    return TemplateEngine()


@functools.lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    return _engine().compile(source, path="<check value>")


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and any(m in value for m in _TEMPLATE_MARKERS)


def render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render a check value with the test's vars (promptfoo renders assertion values).

    Strings, and strings directly inside a list, are rendered; mappings (JSON schemas, expected
    objects) are left alone. Text without template markers is returned as is.

    Raises:
        TemplateError: Syntax error or missing variable.
    """
    if _is_template(value):
        try:
            return _compiled(value).render(variables)
        except MissingVariableError as exc:
            known = ", ".join(sorted(variables)) or "none"
            raise TemplateError(
                f"check value uses undefined variable{'s' if len(exc.names) > 1 else ''} "
                f"{', '.join(exc.names)} (this test's vars: {known})"
            ) from None
    if isinstance(value, list | tuple):
        return [render_value(v, variables) if isinstance(v, str) else v for v in value]
    return value


def value_variables(spec: CheckSpec) -> frozenset[str]:
    """The variables ``spec``'s value needs when rendered (to check them before any model call).

    None for values that are code or plain text; a value that does not compile is left to
    :func:`validate_spec` to report.
    """
    if spec.type in RAW_VALUE:
        return frozenset()
    names: set[str] = set()
    for item in spec.value if isinstance(spec.value, list | tuple) else [spec.value]:
        if _is_template(item):
            try:
                template = _compiled(item)
            except TemplateError:
                continue
            names |= template.required
    return frozenset(names)


def check_files(spec: CheckSpec) -> list[str]:
    """The ``file://`` references a check reads or runs (its value, ``transform`` and
    ``contextTransform``), to confine them to the suite folder before any model call."""
    refs = (spec.value, spec.transform, spec.context_transform)
    return [r for r in refs if isinstance(r, str) and r.startswith("file://")]


# --- validation -------------------------------------------------------------------------------


def validate_spec(spec: CheckSpec) -> str | None:
    """What is wrong with ``spec``'s value or options for its check type, or ``None``.

    Called by :func:`parse_spec`, so mistakes surface when the suite loads rather than
    in every result cell.
    """
    value = spec.value
    if spec.type in NEEDS_VALUE and (
        value is None or (spec.type != "equals" and (value == "" or value == []))
    ):
        return "needs a 'value'"
    if spec.type not in RAW_VALUE:
        for item in value if isinstance(value, list) else [value]:
            if _is_template(item):
                try:
                    _compiled(item)
                except TemplateError as exc:
                    return f"bad template in value: {exc.message}"
    if spec.type == "python" and not isinstance(value, str):
        return "value must be a Python expression, a function body, or file://path.py:function"
    if spec.type == "regex" and isinstance(value, str) and not _is_template(value):
        try:
            re.compile(value)
        except re.error as exc:
            return f"invalid regular expression {value!r}: {exc}"
    if spec.type in ("latency", "cost"):
        limit = spec.threshold if spec.threshold is not None else value
        if isinstance(limit, bool) or not isinstance(limit, int | float) or limit < 0:
            unit = "milliseconds" if spec.type == "latency" else "US dollars"
            return f"needs a 'threshold' (maximum, in {unit})"
    if spec.type == "rouge-n":
        n = spec.config.get("n", 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            return f"config 'n' must be an integer >= 1, got {n!r}"
    if spec.type in ("is-json", "contains-json") and isinstance(value, Mapping):
        from promptwork.checks.structured import schema_problem

        return schema_problem(value)
    if spec.type in SPEC_PROBLEMS:
        module_name, _, attr = SPEC_PROBLEMS[spec.type].partition(":")
        problem: str | None = getattr(importlib.import_module(module_name), attr)(spec)
        if problem:
            return problem
    if spec.type in _JUDGE_CHECKS:
        from promptwork.checks.judge import spec_problem as judge_problem

        return judge_problem(spec)
    if spec.type == "similar":
        from promptwork.checks.similarity import spec_problem as similarity_problem

        return similarity_problem(spec)
    return None


# --- running ---------------------------------------------------------------------------------


def is_async_check(name: str) -> bool:
    """Whether check type ``name`` is an ``async`` check (needs :func:`arun_check`).

    Raises:
        ConfigError: Unknown name.
    """
    return _is_async(get_check(name))


def _is_async(fn: CheckFn) -> bool:
    # inspect.iscoroutinefunction sees through functools.partial; objects with an async
    # __call__ are checked through that method.
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - the bound __call__ of callable objects
    )


def _rendered(spec: CheckSpec, ctx: CheckContext) -> CheckSpec:
    value = spec.value if spec.type in RAW_VALUE else render_value(spec.value, ctx.vars)
    return replace(spec, value=value) if value is not spec.value else spec


def failed_result(spec: CheckSpec, exc: Exception) -> CheckResult:
    """A check that could not reach a verdict (a :class:`CheckError` or bad user input): failed,
    score 0, never inverted by ``not-``."""
    if isinstance(exc, CheckError):
        reason = str(exc)
    else:
        detail = exc.message if isinstance(exc, ConfigError) else str(exc)
        reason = f"error: {type(exc).__name__}: {detail}"
    return CheckResult(
        passed=False, score=0.0, reason=reason, metric=spec.metric, check_type=spec.name
    )


def _verdict_or_error(spec: CheckSpec, exc: Exception) -> CheckResult:
    """A failed result for what fails a check; raise :class:`GradingError` for the rest.

    Only a :class:`CheckError` and bad user input (a :class:`ConfigError`, such as a template
    error in the value; the ``python`` check turns the user's own exceptions into
    :class:`CheckError`) fail a check. A failed call of the grading model is a ``grader`` error
    and any other exception a bug: ``internal`` in a built-in check, ``check`` in a plugin.
    """
    if isinstance(exc, CheckError | ConfigError):
        return failed_result(spec, exc)
    if isinstance(exc, GradingError):
        raise exc
    if isinstance(exc, ProviderError):
        raise GradingError(GRADER, f"{spec.name}: grader call failed: {exc}") from exc
    builtin = spec.type in BUILTIN and spec.type not in _registered
    where = "a promptwork bug in the built-in check" if builtin else "the check"
    raise GradingError(
        INTERNAL if builtin else CHECK,
        f"{spec.name}: {where} raised {type(exc).__name__}: {exc}",
        "".join(traceback.format_exception(exc)),
    ) from exc


def _finish(spec: CheckSpec, result: object) -> CheckResult:
    """Apply negation and fill in ``metric``/``check_type`` (raises on a non-result)."""
    if not isinstance(result, CheckResult):
        raise TypeError(f"check returned {type(result).__name__}, expected CheckResult")
    passed, score = result.passed, result.score
    if spec.negate:
        passed, score = not passed, 1.0 - score
    return replace(result, passed=passed, score=score, metric=spec.metric, check_type=spec.name)


def run_check(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Run one synchronous check on one output.

    Renders ``spec.value`` with ``ctx.vars``, calls the check, then applies promptfoo's
    semantics: ``not-`` inverts ``passed`` and turns the score into ``1 - score``. Thresholds are
    applied by the checks that take one (see :mod:`promptwork.checks.base`). Weight is not applied
    here but by :func:`~promptwork.checks.base.aggregate`.

    A check that cannot reach a verdict because of the output or the suite (a
    :class:`~promptwork.checks.base.CheckError`, a bad template variable, an error in the user's
    own ``python`` code, a missing file...) gives a failed result, score 0, with the error as the
    reason (a ``CheckError``'s message is the reason as is). Such a failure is *not* inverted by
    ``not-``: a check that could not run never passes. Transforms are applied by
    :func:`promptwork.checks.grade.grade_cell`, not here.

    Raises:
        GradingError: No verdict at all: the grading model's call failed (``grader``), or the
            check raised an unexpected exception (``internal`` for a built-in check, a promptwork
            bug; ``check`` for a plugin), with the traceback.
        TypeError: The check is ``async`` (model-graded checks, ``similar``...): that is a mistake
            in the calling code, which must ``await`` :func:`arun_check` instead.
    """
    try:
        fn = get_check(spec.type)
    except Exception as exc:
        return failed_result(spec, exc)
    if _is_async(fn):
        raise TypeError(
            f"check {spec.type!r} is asynchronous; use 'await arun_check(spec, ctx)' "
            "instead of run_check"
        )
    try:
        result = fn(_rendered(spec, ctx), ctx)
    except Exception as exc:
        return _verdict_or_error(spec, exc)
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited: close it so that Python does not warn
        raise TypeError(
            f"check {spec.type!r} returned an awaitable; use 'await arun_check(spec, ctx)' "
            "instead of run_check"
        )
    try:
        return _finish(spec, result)
    except TypeError as exc:
        return _verdict_or_error(spec, exc)


async def arun_check(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Run one check, synchronous or ``async``, on one output (what the runner calls).

    Same semantics as :func:`run_check` (value rendering, negation, ``metric``/``check_type``,
    failures that ``not-`` does not invert, :class:`GradingError` when no verdict can be
    reached); an ``async`` check is awaited. Cancellation is not swallowed.
    """
    try:
        result = get_check(spec.type)(_rendered(spec, ctx), ctx)
        if inspect.isawaitable(result):
            result = await result
        return _finish(spec, result)
    except Exception as exc:
        return _verdict_or_error(spec, exc)

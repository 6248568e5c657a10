"""A test's ``options`` (and ``defaultTest.options``): promptfoo's keys, checked when loading.

Every key promptfoo documents is either acted on or refused by name, and every value is checked
before any model call (a grading provider given as ``[1, 2]`` used to let the whole run happen
and then fail in the grader). Acted on: ``provider`` (the grading model of model-graded checks,
in every form promptfoo accepts), ``transform``, ``prefix``/``suffix`` (text around the rendered
prompt), ``storeOutputAs``, ``rubricPrompt`` and ``factuality`` (given to the test's model-graded
checks that set none), ``disableVarExpansion``, ``metadata``, ``transformVars``
(:mod:`promptwork.datasets.transformvars`). Accepted with no effect on results: ``runSerially``
(a scheduling hint) and ``disableConversationVar`` (promptwork has no ``_conversation`` var to
disable). Refused: ``postprocess``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from promptwork.datasets.parse import Where, kind
from promptwork.providers.registry import known_prefixes
from promptwork.yamlfile import did_you_mean

#: Test option keys promptwork acts on (or accepts, see the module docs).
OPTION_KEYS = (
    "provider", "transform", "prefix", "suffix", "storeOutputAs", "rubricPrompt", "factuality",
    "disableVarExpansion", "disableConversationVar", "runSerially", "metadata", "transformVars",
)
#: promptfoo option keys refused by name, with what to do instead.
REFUSED_OPTIONS = {
    "postprocess": "'postprocess' is promptfoo's old name for 'transform'; rename it 'transform'",
}
#: The kinds of grading provider promptfoo's ``{text:, embedding:, ...}`` map names.
PROVIDER_KINDS = ("text", "embedding", "classification", "moderation")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def provider_problem(value: Any) -> str | None:
    """What is wrong with a grading provider, or ``None``.

    Accepted: an id (``openai:gpt-4o-mini``), ``{id, config, label}``, or a map by kind
    (``{text: ..., embedding: ...}``) whose values are either of those.
    """
    if isinstance(value, Mapping) and "id" not in value and value:
        unknown = [k for k in value if k not in PROVIDER_KINDS]
        if unknown:
            key = str(unknown[0])
            return (f"unknown grading provider kind {key!r}{did_you_mean(key, PROVIDER_KINDS)};"
                    f" a map of providers by kind has: {', '.join(PROVIDER_KINDS)}")
        for name, item in value.items():
            problem = _single_problem(item)
            if problem:
                return f"{name}: {problem}"
        return None
    return _single_problem(value)


def _single_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return _id_problem(value)
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in ("id", "config", "label")]
        if unknown:
            return (f"unknown grading provider key {str(unknown[0])!r}; "
                    "a provider has id, config, label")
        if not isinstance(value.get("id"), str):
            return "a grading provider mapping needs an 'id' such as openai:gpt-4o-mini"
        config = value.get("config")
        if config is not None and not isinstance(config, Mapping):
            return f"'config' must be a mapping, got {kind(config)}"
        return _id_problem(value["id"])
    return (f"a grading provider must be an id, {{id, config}} or a map by kind "
            f"({', '.join(PROVIDER_KINDS)}), got {kind(value)} {value!r}")


def _id_problem(ident: str) -> str | None:
    ident = ident.strip()
    if not ident:
        return "a grading provider id is empty"
    if ident.startswith("file://"):
        return None
    prefix = ident.partition(":")[0]
    known = known_prefixes()
    if prefix not in known:
        return (f"unknown grading provider {ident!r}{did_you_mean(prefix, known)}; "
                f"known providers: {', '.join(known)}")
    return None


def check_options(options: Mapping[str, Any], where: Where) -> None:
    """Refuse unknown or refused keys and bad values (``where`` locates ``options``)."""
    for key, value in options.items():
        sub = ("options", str(key))
        if key in REFUSED_OPTIONS:
            raise where.error(sub, REFUSED_OPTIONS[key])
        if key not in OPTION_KEYS:
            raise where.error(sub, f"unknown test option {key!r}"
                                   f"{did_you_mean(str(key), OPTION_KEYS)}; "
                                   f"known options: {', '.join(OPTION_KEYS)}")
        problem = _value_problem(str(key), value)
        if problem:
            raise where.error(sub, problem)


def _value_problem(key: str, value: Any) -> str | None:
    if key == "provider":
        return provider_problem(value)
    if key in ("prefix", "suffix") and not isinstance(value, str):
        return f"'{key}' must be text, got {kind(value)}"
    if key == "storeOutputAs" and not (isinstance(value, str) and _VAR_NAME.match(value)):
        return f"'storeOutputAs' must be a variable name, got {value!r}"
    if key in ("disableVarExpansion", "disableConversationVar", "runSerially") and not isinstance(
            value, bool):
        return f"'{key}' must be true or false, got {value!r}"
    if key == "rubricPrompt" and not isinstance(value, str | list):
        return f"'rubricPrompt' must be text or a list of messages, got {kind(value)}"
    if key == "factuality" and not isinstance(value, Mapping):
        return f"'factuality' must be a mapping of category scores, got {kind(value)}"
    if key == "transform" and not isinstance(value, str):
        return f"'transform' must be code or a file:// path, got {kind(value)}"
    if key == "transformVars":
        from promptwork.datasets.transformvars import transform_vars_problem

        return transform_vars_problem(value)
    return None

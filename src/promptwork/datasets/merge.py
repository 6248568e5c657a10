"""From a parsed test to TestCases: ``defaultTest`` merged in, list vars expanded like promptfoo.

promptfoo runs a test once per combination of its list vars (its evaluator's
``generateVarCombinations``)::

    vars: {language: [French, German], input: [Hello, Bye], tone: polite}

is four tests: French/Hello, French/Bye, German/Hello, German/Bye, each with ``tone: polite``. It is
the cartesian product over the list vars in the order the vars are written, the first varying
slowest, taken after ``defaultTest``'s vars are merged in (its vars come first, so a list there
multiplies every test that does not set that var, and varies slowest). The expanded tests are
numbered one after another, so the indexes stay 0..N-1.

Only a list whose first item is text is a list of alternatives (promptfoo's rule); a list of
numbers or mappings, or an empty list, is passed whole as one value. ``options.disableVarExpansion:
true`` on the test or in ``defaultTest`` passes every list whole. CSV cells are text and never
expand. A ``file://`` item of a list is read like a ``file://`` var, once the list is expanded.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from promptwork.cases import TestCase
from promptwork.checks.base import CheckSpec
from promptwork.datasets.parse import Test, Where

#: Most tests one test may expand into: a guard against lists multiplying out of hand.
MAX_COMBINATIONS = 1_000_000

#: ``(vars, {list var: index of the item taken})`` for one combination.
Combination = tuple[dict[str, Any], Mapping[str, int]]
_NONE: Mapping[str, int] = MappingProxyType({})


def expands(value: Any) -> bool:
    """Whether a var's value is a list of alternatives: a list whose first item is text."""
    return isinstance(value, list) and bool(value) and isinstance(value[0], str)


def merged_options(test: Test, default: Test) -> dict[str, Any]:
    """The test's options over ``defaultTest``'s (their ``metadata`` merged key by key)."""
    if not default.options:
        return test.options
    options = {**default.options, **test.options}
    meta = default.options.get("metadata")
    if isinstance(meta, Mapping) and isinstance(test.options.get("metadata"), Mapping):
        options["metadata"] = {**meta, **test.options["metadata"]}
    return options


def expanding(options: Mapping[str, Any]) -> bool:
    """False when ``options.disableVarExpansion`` is ``true`` (promptfoo's switch)."""
    return options.get("disableVarExpansion") is not True


def merged_vars(test: Test, default: Test) -> dict[str, Any]:
    """``defaultTest``'s vars under the test's (its keys first, as promptfoo orders them)."""
    return {**default.vars, **test.vars} if default.vars else test.vars


def combinations(variables: dict[str, Any], where: Where) -> Iterator[Combination]:
    """Every combination of the list vars' items, in promptfoo's order; ``variables`` itself
    (not a copy) when no var is a list of alternatives."""
    axes = [(key, value) for key, value in variables.items() if expands(value)]
    if not axes:
        yield variables, _NONE
        return
    total = math.prod(len(values) for _, values in axes)
    if total > MAX_COMBINATIONS:
        sizes = " x ".join(f"{len(values)} ({key})" for key, values in axes)
        raise where.error(
            ("vars",),
            f"the list vars make {total:,} tests ({sizes}), more than {MAX_COMBINATIONS:,}; "
            "split the test, or set 'options: {disableVarExpansion: true}' to pass lists whole",
        )
    keys = [key for key, _ in axes]
    for picks in itertools.product(*(range(len(values)) for _, values in axes)):
        combo = dict(variables)
        for (key, values), i in zip(axes, picks, strict=True):
            combo[key] = values[i]
        yield combo, dict(zip(keys, picks, strict=True))


def make_case(
    index: int,
    test: Test,
    default: Test,
    variables: Mapping[str, Any],
    options: Mapping[str, Any],
) -> TestCase:
    """The TestCase: ``defaultTest``'s checks before the test's, its threshold as a fallback.

    The options ``rubricPrompt`` and ``factuality`` (promptfoo's) go to the model-graded checks
    that do not set their own.
    """
    checks = default.checks + test.checks if default.checks else test.checks
    if "rubricPrompt" in options or "factuality" in options:
        checks = tuple(_graded_options(spec, options) for spec in checks)
    return TestCase(
        index=index,
        vars=variables,
        checks=checks,
        description=test.description,
        options=options,
        source=test.where.source,
        threshold=test.threshold if test.threshold is not None else default.threshold,
    )


#: Checks that ask a grading model with a prompt that ``rubricPrompt`` may replace.
MODEL_GRADED = frozenset((
    "llm-rubric", "factuality", "model-graded-closedqa", "model-graded-factuality", "g-eval",
    "answer-relevance", "context-faithfulness", "context-relevance", "context-recall",
    "conversation-relevance", "select-best",
))


def _graded_options(spec: CheckSpec, options: Mapping[str, Any]) -> CheckSpec:
    if spec.type not in MODEL_GRADED:
        return spec
    config = dict(spec.config)
    if "rubricPrompt" in options:
        config.setdefault("rubricPrompt", options["rubricPrompt"])
    if spec.type == "factuality" and isinstance(options.get("factuality"), Mapping):
        config.setdefault("factuality", dict(options["factuality"]))
    return dataclasses.replace(spec, config=config) if config != spec.config else spec

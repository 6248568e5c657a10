"""Examples from a suite's tests, their reference answers, and the train/val/test splits.

The search only ever receives a :class:`SearchData` (train and validation examples): the test
split stays in :class:`Splits` and is used once the search has finished.

A demo needs each training example's reference answer. It is read, in this order, from a variable
the user names (``--answer-var``), from the rendered value of the test's reference-style checks
(``equals``, ``contains``, ``starts-with``, ``levenshtein``...), or from a variable that a check's
value uses and the prompt does not (``regex: "^{{ label }}"``). A check whose value is made of
the prompt's own inputs (``icontains: "{{ product }}"`` on a prompt that is given ``product``)
asks for a mention, not an answer: it gives no reference. Without one, demos are bootstrapped
from outputs that pass every check. Each example records where its reference came from.

:func:`task_kind` tells the two kinds of task apart: answers with references (classification,
extraction, short answers) and free text that only the checks judge (replies, summaries, posts),
for which the search uses other strategies and another metric (see ``optimizer/api.py``).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptwork.cases import TestCase
from promptwork.checks.grade import refuse_cross_prompt
from promptwork.checks.registry import render_value
from promptwork.errors import ConfigError, TemplateError
from promptwork.templates import TemplateEngine

#: Checks whose (rendered) value is the expected answer, most direct first.
REFERENCE_CHECKS = (
    "equals", "starts-with", "icontains", "contains", "levenshtein", "rouge-n", "bleu",
    "similar", "factuality",
)
DEFAULT_SPLIT = (0.4, 0.3, 0.3)
BOOTSTRAP = "bootstrap"


@dataclass(frozen=True, slots=True)
class Example:
    """One suite test as an optimization example.

    Attributes:
        test: The suite's test (vars, checks, threshold).
        reference: The reference answer, when one is known.
        source: Where the reference came from (``check equals``, ``variable label``...).
    """

    test: TestCase
    reference: str | None = None
    source: str | None = None

    @property
    def index(self) -> int:
        return self.test.index

    @property
    def vars(self) -> Mapping[str, Any]:
        return self.test.vars


@dataclass(frozen=True)
class SearchData:
    """What the search may see: the training and validation examples, nothing else."""

    train: tuple[Example, ...]
    val: tuple[Example, ...]

    @property
    def indexes(self) -> frozenset[int]:
        return frozenset(e.index for e in (*self.train, *self.val))


@dataclass(frozen=True)
class Splits:
    """The three splits (disjoint, fixed by the seed)."""

    train: tuple[Example, ...]
    val: tuple[Example, ...]
    test: tuple[Example, ...]
    ratios: tuple[float, float, float]
    seed: int

    def for_search(self) -> SearchData:
        """The search's view: train and validation only."""
        return SearchData(self.train, self.val)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def parse_split(text: str) -> tuple[float, float, float]:
    """``"0.4/0.3/0.3"`` (or percentages ``40/30/30``) as three fractions summing to 1.

    Raises:
        ConfigError: Not three non-negative numbers, or no validation share.
    """
    parts = text.replace(",", "/").split("/")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 3 or any(v < 0 for v in values) or sum(values) <= 0:
        raise ConfigError(
            f"--split {text!r}: give three shares train/val/test, e.g. 0.4/0.3/0.3"
        )
    total = sum(values)
    train, val, test = (v / total for v in values)
    if val == 0:
        raise ConfigError(f"--split {text!r}: the validation share must be above 0")
    return train, val, test


def make_splits(
    examples: Sequence[Example],
    ratios: tuple[float, float, float] = DEFAULT_SPLIT,
    seed: int = 0,
) -> Splits:
    """Shuffle with ``seed`` and cut into train/val/test by ``ratios``.

    Every non-zero share gets at least one example when there are enough.

    Raises:
        ConfigError: Fewer examples than non-empty splits.
    """
    wanted = sum(1 for r in ratios if r > 0)
    if len(examples) < wanted:
        raise ConfigError(
            f"the suite has {len(examples)} test(s); optimization needs at least {wanted} "
            "(one per split)"
        )
    order = list(examples)
    random.Random(seed).shuffle(order)
    n = len(order)
    exact = [n * r for r in ratios]
    sizes = [int(x) for x in exact]
    by_remainder = sorted(range(3), key=lambda i: (-(exact[i] - sizes[i]), i))
    for i in by_remainder[: n - sum(sizes)]:  # largest remainders first
        sizes[i] += 1
    for i, r in enumerate(ratios):
        if r > 0 and sizes[i] == 0:
            sizes[i] = 1
            sizes[sizes.index(max(sizes))] -= 1
    cut1, cut2 = sizes[0], sizes[0] + sizes[1]
    return Splits(tuple(order[:cut1]), tuple(order[cut1:cut2]), tuple(order[cut2:]),
                  ratios, seed)


SPLIT_NAMES = ("train", "val", "test")


def splits_by_variable(examples: Sequence[Example], name: str, seed: int = 0) -> Splits:
    """The user's own splits: each test's variable ``name`` says ``train``, ``val`` or ``test``.

    Raises:
        ConfigError: A test without the variable or with another value, or no validation test.
    """
    parts: dict[str, list[Example]] = {k: [] for k in SPLIT_NAMES}
    for e in examples:
        value = str(e.vars.get(name, "")).strip().lower()
        if value == "validation":
            value = "val"
        if value not in parts:
            where = e.test.source or f"tests[{e.index}]"
            raise ConfigError(
                f"--split-var {name!r}: test {where} has {name}={e.vars.get(name)!r}; every test "
                "needs train, val or test there"
            )
        parts[value].append(e)
    if not parts["val"]:
        raise ConfigError(f"--split-var {name!r}: no test is marked val; the search needs some")
    n = len(examples)
    ratios = (len(parts["train"]) / n, len(parts["val"]) / n, len(parts["test"]) / n)
    return Splits(tuple(parts["train"]), tuple(parts["val"]), tuple(parts["test"]), ratios, seed)


def load_examples(
    tests: Iterable[TestCase],
    prompt_variables: frozenset[str],
    answer_var: str | None = None,
    max_tests: int | None = None,
) -> list[Example]:
    """The suite's tests as examples with their reference answers.

    Args:
        tests: The suite's tests.
        prompt_variables: Variables the prompt uses (never taken as the answer).
        answer_var: A variable holding the reference answer (overrides the checks).
        max_tests: Only the first N tests.

    Raises:
        ConfigError: ``answer_var`` is used by the prompt, or missing from a test; a test has a
            cross-prompt check (``select-best``), which needs several prompts' outputs.
    """
    if answer_var is not None and answer_var in prompt_variables:
        raise ConfigError(
            f"--answer-var {answer_var!r} is an input of the prompt; name the variable that "
            "holds the expected answer"
        )
    engine = TemplateEngine()
    out: list[Example] = []
    for test in itertools.islice(tests, max_tests):
        # select-best / max-score compare several prompts: refused before any call.
        refuse_cross_prompt(test.checks, test.source or f"tests[{test.index}]")
        if answer_var is not None:
            if answer_var not in test.vars:
                raise ConfigError(
                    f"--answer-var {answer_var!r}: test {test.source or test.index} has no such "
                    f"variable (its vars: {', '.join(sorted(test.vars)) or 'none'})"
                )
            out.append(Example(test, str(test.vars[answer_var]), f"variable {answer_var}"))
            continue
        reference, source = reference_of(test, prompt_variables, engine)
        out.append(Example(test, reference, source))
    return out


def reference_of(
    test: TestCase, prompt_variables: frozenset[str], engine: TemplateEngine
) -> tuple[str | None, str | None]:
    """A test's reference answer and its source, from its checks (or ``(None, None)``)."""
    checks = [c for c in test.checks if not c.negate]
    for kind in REFERENCE_CHECKS:
        for spec in checks:
            if spec.type != kind or not isinstance(spec.value, str):
                continue
            if _uses_inputs(spec.value, prompt_variables, engine):
                continue  # a mention of an input the prompt is given, not the answer
            try:
                value = render_value(spec.value, test.vars)
            except TemplateError:
                continue
            if isinstance(value, str) and value.strip():
                return value, f"check {kind}"
    for spec in checks:  # a variable a check compares with: regex "^{{ label }}"
        if not isinstance(spec.value, str) or "{{" not in spec.value:
            continue
        try:
            names = engine.compile(spec.value).variables - prompt_variables
        except TemplateError:
            continue
        if len(names) == 1:
            name = next(iter(names))
            value = test.vars.get(name)
            if isinstance(value, str | int | float) and str(value).strip():
                return str(value), f"variable {name} (used by check {spec.type})"
    return None, None


def _uses_inputs(value: str, prompt_variables: frozenset[str], engine: TemplateEngine) -> bool:
    """Whether a check's value template reads a variable the prompt is given."""
    if "{{" not in value and "{%" not in value:
        return False
    try:
        return bool(engine.compile(value).variables & prompt_variables)
    except TemplateError:
        return False


#: The kinds of task :func:`task_kind` tells apart.
REFERENCE_TASK, GENERATION_TASK = "reference", "generation"


def task_kind(examples: Sequence[Example]) -> tuple[str, str]:
    """``(kind, why)``: ``reference`` when the examples have reference answers, else
    ``generation`` (free text judged only by the checks and rubrics).

    Each example with a reference counts; a task is a reference task when at least half of the
    examples have one.
    """
    with_reference = [e for e in examples if e.reference is not None and e.reference.strip()]
    if examples and 2 * len(with_reference) >= len(examples):
        return REFERENCE_TASK, (f"{len(with_reference)} of {len(examples)} examples have a "
                                f"reference answer ({reference_summary(with_reference)})")
    kinds = sorted({c.name for e in examples for c in e.test.checks})
    judged = ", ".join(kinds[:8]) + (", ..." if len(kinds) > 8 else "") or "no check"
    return GENERATION_TASK, (
        f"free text without reference answers ({len(with_reference)} of {len(examples)} "
        f"examples have one; no equals-like check of the answer, no answer variable): the "
        f"checks judge it ({judged})")


def reference_summary(examples: Iterable[Example]) -> str:
    """Where the references came from, e.g. ``check equals (40), bootstrap (2)``."""
    counts = Counter(e.source or BOOTSTRAP for e in examples)
    return ", ".join(f"{source} ({n})" for source, n in counts.most_common()) or "none"


def label_set(examples: Iterable[Example], most: int = 6) -> list[str] | None:
    """The distinct reference answers when they form a small set of short labels, else ``None``."""
    counts = Counter(e.reference.strip() for e in examples if e.reference)
    if not 2 <= len(counts) <= most:
        return None
    if any(len(label.split()) > 3 for label in counts):
        return None
    if sum(counts.values()) < 2 * len(counts):  # too few repeats to be labels
        return None
    return sorted(counts, key=lambda label: (-counts[label], label))

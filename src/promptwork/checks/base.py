"""The check contract: what a check sees, what it returns, and how a suite declares one.

A check is a plain function ``(spec, ctx) -> CheckResult``, or a coroutine function
``async (spec, ctx) -> CheckResult`` for checks that wait on something (a grading model, an
embedding model run in a thread). It judges the *positive* assertion (``contains``, never
``not-contains``): :func:`promptwork.checks.registry.arun_check` (and, for synchronous checks,
:func:`~promptwork.checks.registry.run_check`) renders the value, applies negation, and fills in
``metric`` and ``check_type``. A check that cannot reach a verdict (no grader, an answer it cannot
read) raises :class:`CheckError`: the result is a failure that ``not-`` does not invert.

A check that takes a threshold reads ``spec.threshold`` itself, because its meaning differs
between checks (a minimum score for ``rouge-n``, a maximum distance for ``levenshtein``, a maximum
for ``latency``).

Reasons are phrased as facts ("output contains 'Paris'") rather than expectations, so that they
read correctly whether or not the assertion was negated.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from promptwork.errors import ConfigError
from promptwork.types import TokenLogprob
from promptwork.yamlfile import did_you_mean


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check (or, from :func:`aggregate`, of all checks of a test).

    Attributes:
        passed: Whether the check passed.
        score: Between 0 and 1 for built-in checks (plugins and python checks may return others).
        reason: Why, in one line.
        metric: Named metric this result counts toward, if any.
        check_type: The assertion as written (``contains``, ``not-regex``...).
        components: Per-check results, for an aggregate.
        method: How a check that can measure in more than one way measured (``similar``:
            ``embedding`` or ``lexical``); ``None`` for the others.
        grader: The grading model that answered a model-graded check (``llm-rubric``...), as
            its id; ``None`` for the others (and in results stored before it was recorded).
    """

    passed: bool
    score: float
    reason: str
    metric: str | None = None
    check_type: str = ""
    components: tuple[CheckResult, ...] = ()
    method: str | None = None
    grader: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pass": self.passed,
            "score": self.score,
            "reason": self.reason,
            "type": self.check_type,
        }
        if self.metric is not None:
            out["metric"] = self.metric
        if self.components:
            out["components"] = [c.to_dict() for c in self.components]
        if self.method is not None:
            out["method"] = self.method
        if self.grader is not None:
            out["grader"] = self.grader
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CheckResult:
        """The result :meth:`to_dict` stored."""
        return cls(bool(d["pass"]), float(d["score"]), str(d.get("reason", "")), d.get("metric"),
                   str(d.get("type", "")),
                   tuple(cls.from_dict(c) for c in d.get("components") or ()),
                   d.get("method"), d.get("grader"))


class CheckError(Exception):
    """A check could not reach a verdict (no grader, an unreadable grader answer...).

    The runner turns it into a failed result, score 0, whose reason is the message as is. Unlike a
    verdict, it is *not* inverted by ``not-``: a check that could not decide never passes.
    """


#: A check's grading model as the suite wrote it: an id, or ``{id, config, label}``.
GraderRef = str | Mapping[str, Any]


class Grader(Protocol):
    """Calls the grading model for model-graded checks (``llm-rubric``, ``factuality``...).

    The runner builds it. It sends ``prompt`` as one user message to the grading model, with
    caching and retries, and returns the answer's text. It renders nothing itself. ``provider`` is
    the check's own grading model as the suite wrote it (a model id, or ``{id, config}`` whose
    ``config`` — ``base_url``, keys, parameters — the grader honours); it overrides the test's
    grader. Checks pass the whole reference, never only its id.

    Raises:
        promptwork.errors.ProviderError: The call failed.
    """

    async def __call__(self, prompt: str, provider: GraderRef | None = None) -> str: ...


@dataclass(frozen=True, slots=True)
class CheckContext:
    """Everything a check may look at for one result cell.

    Attributes:
        output: The model's answer.
        vars: The test's variables.
        prompt_text: The rendered prompt, as text.
        latency_ms: Wall time of the call; ``None`` when unknown (e.g. served from cache).
        cost: US dollars; ``None`` when the price is unknown.
        logprobs: Per-token log-probabilities, when the provider returned them.
        provider_id: The model id that answered.
        base_dir: Directory that relative ``file://`` references resolve against (the suite
            file's directory); the working directory when ``None``.
        grader: Calls the grading model, for model-graded checks; ``None`` when no grader is
            configured (those checks then fail, saying so).
        provider_config: The answering provider's ``config`` as the suite wrote it (its
            ``tools``/``functions`` for ``is-valid-openai-tools-call``...); ``None`` if unknown.
        finish_reason: Why the model stopped (``stop``, ``length``...), for ``finish-reason``.
        raw_response: The provider's raw response (JSON-able), where tool calls are found.
    """

    output: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    prompt_text: str = ""
    latency_ms: float | None = None
    cost: float | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None
    provider_id: str = ""
    base_dir: Path | None = None
    grader: Grader | None = None
    provider_config: Mapping[str, Any] | None = None
    finish_reason: str | None = None
    raw_response: Any = None

    def resolve(self, path: str) -> Path:
        """``path`` (with or without ``file://``) relative to :attr:`base_dir`."""
        if path.startswith("file://"):
            path = path[len("file://") :]
        p = Path(path).expanduser()
        if not p.is_absolute() and self.base_dir is not None:
            p = self.base_dir / p
        return p


#: Keys an assertion may have (promptfoo's names). ``provider`` and ``rubricPrompt`` are kept in
#: ``config`` for checks that call a model.
SPEC_KEYS = ("type", "value", "threshold", "weight", "metric", "config", "provider", "rubricPrompt",
             "transform", "contextTransform")
_UNSUPPORTED_KEYS: dict[str, str] = {
    "options": ("a check has no 'options' (promptfoo has none either): give its grading model as "
                "the check's 'provider' ({id, config: {base_url: ...}}), or for every check of a "
                "test in the test's (or defaultTest's) options.provider"),
}


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A parsed assertion from a suite.

    Attributes:
        type: Check name without the ``not-`` prefix (``contains``).
        negate: True for ``not-...``: pass and score are inverted.
        value: The expected value; strings (and strings in lists) are Jinja templates over the
            test's vars, rendered just before the check runs.
        threshold: Check-specific bound (minimum score, maximum distance, maximum ms...).
        weight: Weight in the test's score; 0 keeps the check out of the score (it still decides
            pass/fail).
        metric: Named metric this check's score counts toward.
        config: Check-specific options (``n`` for ``rouge-n``...).
        transform: promptfoo's per-check ``transform``: code applied to the output before this
            check (see :mod:`promptwork.checks.transform`).
        context_transform: promptfoo's ``contextTransform``: code that extracts the ``context``
            variable from the output for context-based checks.
    """

    type: str
    negate: bool = False
    value: Any = None
    threshold: float | None = None
    weight: float = 1.0
    metric: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    transform: str | None = None
    context_transform: str | None = None

    @property
    def name(self) -> str:
        """The assertion as written: ``not-contains`` or ``contains``."""
        return f"not-{self.type}" if self.negate else self.type

    @classmethod
    def parse(
        cls,
        d: Mapping[str, Any],
        where: str = "",
        *,
        known: Sequence[str],
        validate: Callable[[CheckSpec], str | None],
    ) -> CheckSpec:
        """Validate one assertion mapping (``{type: contains, value: Paris}``).

        Use :func:`promptwork.checks.registry.parse_spec`, which knows the check types: the
        registry depends on this module, never the other way round.

        Args:
            d: The assertion as loaded from YAML/JSON.
            where: Location prefix for error messages (``suite.yaml: tests[2].assert[0]``).
            known: The check types that exist (without ``not-``).
            validate: What is wrong with a spec's value or options for its type, or ``None``.

        Raises:
            ConfigError: Unknown type or key (with a suggestion and the list of known names), or a
                value, threshold or weight of the wrong kind.
        """
        prefix = f"{where}: " if where else ""

        def fail(message: str) -> ConfigError:
            return ConfigError(prefix + message)

        if not isinstance(d, Mapping):
            raise fail(f"a check must be a mapping with a 'type', got {type(d).__name__}")
        for key in d:
            if key in _UNSUPPORTED_KEYS:
                raise fail(_UNSUPPORTED_KEYS[key])
            if key not in SPEC_KEYS:
                raise fail(
                    f"unknown key {key!r} in check{did_you_mean(str(key), SPEC_KEYS)}; "
                    f"allowed keys: {', '.join(SPEC_KEYS)}"
                )
        raw_type = d.get("type")
        if not isinstance(raw_type, str) or not raw_type.strip():
            raise fail("a check needs a 'type' (e.g. type: contains)")
        raw_type = raw_type.strip()
        negate = raw_type.startswith("not-")
        base = raw_type[4:] if negate else raw_type

        if base not in known:
            raise fail(
                f"unknown check type {raw_type!r}{did_you_mean(base, known)}; "
                f"known checks: {', '.join(known)} (prefix any with 'not-' to invert it)"
            )

        threshold = _number(d.get("threshold"), "threshold", fail)
        weight = _number(d.get("weight", 1.0), "weight", fail)
        if weight is None or weight < 0:
            raise fail(f"'weight' must be a number >= 0, got {d.get('weight')!r}")
        metric = d.get("metric")
        if metric is not None and not isinstance(metric, str):
            raise fail(f"'metric' must be a string, got {type(metric).__name__}")
        config_raw = d.get("config") or {}
        if not isinstance(config_raw, Mapping):
            raise fail(f"'config' must be a mapping, got {type(config_raw).__name__}")
        config = dict(config_raw)
        for key in ("provider", "rubricPrompt"):
            if key in d:
                config.setdefault(key, d[key])

        from promptwork.checks.transform import transform_problem

        for key in ("transform", "contextTransform"):
            problem = transform_problem(d.get(key), key)
            if problem:
                raise fail(problem)
        spec = cls(
            type=base,
            negate=negate,
            value=d.get("value"),
            threshold=threshold,
            weight=weight,
            metric=metric,
            config=config,
            transform=d.get("transform"),
            context_transform=d.get("contextTransform"),
        )
        problem = validate(spec)
        if problem:
            raise fail(f"check {raw_type!r}: {problem}")
        return spec

    def to_dict(self) -> dict[str, Any]:
        """Back to the promptfoo-style mapping (only what differs from the defaults)."""
        out: dict[str, Any] = {"type": self.name}
        if self.value is not None:
            out["value"] = self.value
        if self.threshold is not None:
            out["threshold"] = self.threshold
        if self.weight != 1.0:
            out["weight"] = self.weight
        if self.metric is not None:
            out["metric"] = self.metric
        if self.config:
            out["config"] = dict(self.config)
        if self.transform is not None:
            out["transform"] = self.transform
        if self.context_transform is not None:
            out["contextTransform"] = self.context_transform
        return out


def _number(value: Any, key: str, fail: Callable[[str], ConfigError]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise fail(f"{key!r} must be a number, got {value!r}")
    return float(value)


#: The signature of a check function: synchronous, or asynchronous (``async def check(spec, ctx)``).
CheckFn = Callable[[CheckSpec, CheckContext], CheckResult | Awaitable[CheckResult]]


def outcome(passed: bool, reason: str, score: float | None = None) -> CheckResult:
    """A result with score 1/0 from ``passed`` unless a score is given."""
    return CheckResult(
        passed=passed, score=(1.0 if passed else 0.0) if score is None else score, reason=reason
    )


def min_score(score: float, spec: CheckSpec, default: float, what: str) -> CheckResult:
    """Pass iff ``score >= threshold`` (the spec's, else ``default``); for scored checks."""
    threshold = spec.threshold if spec.threshold is not None else default
    passed = score >= threshold
    return CheckResult(
        passed=passed,
        score=score,
        reason=f"{what} {score:.4f} {'>=' if passed else '<'} threshold {threshold:g}",
    )


def aggregate(results: Sequence[tuple[CheckSpec, CheckResult]]) -> CheckResult:
    """Combine a test's check results (promptfoo semantics).

    The test passes iff every check passes (a weight-0 check still decides pass/fail). The score is
    the weighted mean of the checks' scores; weight-0 checks are left out of it. With no weighted
    checks the score is 0, or 1 when there are no checks at all.

    Returns:
        A result whose ``components`` are the individual results and whose reason is
        ``all N checks passed`` or the failing checks' reasons.
    """
    if not results:
        return CheckResult(True, 1.0, "no checks", check_type="aggregate")
    total = math.fsum(spec.weight for spec, _ in results)
    weighted = math.fsum(spec.weight * result.score for spec, result in results)
    score = weighted / total if total > 0 else 0.0
    failures = [result for _, result in results if not result.passed]
    if failures:
        reason = "; ".join(f"{r.check_type or 'check'}: {r.reason}" for r in failures)
    else:
        reason = f"all {len(results)} check{'s' if len(results) != 1 else ''} passed"
    return CheckResult(
        passed=not failures,
        score=score,
        reason=reason,
        check_type="aggregate",
        components=tuple(result for _, result in results),
    )


def named_scores(results: Sequence[tuple[CheckSpec, CheckResult]]) -> dict[str, float]:
    """Weighted mean score per named ``metric`` (checks without a metric are skipped)."""
    sums: dict[str, float] = {}
    weights: dict[str, float] = {}
    for spec, result in results:
        metric = result.metric or spec.metric
        if metric is None:
            continue
        sums[metric] = sums.get(metric, 0.0) + result.score * spec.weight
        weights[metric] = weights.get(metric, 0.0) + spec.weight
    return {m: (sums[m] / weights[m] if weights[m] > 0 else 0.0) for m in sums}

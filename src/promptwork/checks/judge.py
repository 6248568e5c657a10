"""Model-graded checks: ``llm-rubric``, ``factuality``, ``model-graded-closedqa``, ``select-best``.

Semantics follow promptfoo's assertions of the same names (``src/matchers.ts`` and the docs under
``configuration/expected-outputs/model-graded/``); the grading prompts are promptwork's own
wording of the same questions.

* ``llm-rubric``: the value is a rubric. The grader answers with a JSON verdict
  ``{"reason": ..., "pass": bool, "score": 0..1}``. As in promptfoo, a ``threshold`` also requires
  ``score >= threshold``, and a verdict without a score scores 1 if it passes, else 0. Unlike
  promptfoo (where a missing ``pass`` means pass), a verdict with a score but no ``pass`` passes
  when the score reaches the threshold (0.5 without one).
* ``factuality``: the value is the reference answer. The grader sorts the output into one of the
  OpenAI-evals fact categories: (A) subset of the reference, consistent; (B) superset,
  consistent; (C) same details; (D) disagreement; (E) different, but not in a way that matters
  factually. Each category has a score (``config``: ``subset``, ``superset``, ``agree``,
  ``disagree``, ``differButFactual``, at the top level or under ``factuality:``, as promptfoo's
  ``options.factuality``); defaults 1, 1, 1, 0, 1. The check passes iff its category's score is
  above 0, so by default D fails and the others pass.
* ``model-graded-closedqa``: the value is a criterion. The grader reasons, then ends with ``Y``
  (meets it) or ``N``; passes on ``Y``.
* ``select-best``: compares the cells of one test across prompts, so the runner decides it with
  :func:`select_best`; the per-cell check is a neutral pass.

Every model-graded check calls :attr:`CheckContext.grader <promptwork.checks.base.CheckContext>`
with the rendered grading prompt and ``config.provider`` (promptfoo's assertion-level
``provider``) as the model override. ``rubricPrompt`` replaces the grading prompt: a Jinja
template (or ``file://`` path, or a list of chat messages whose contents are joined with blank
lines, since the grader takes one message) that sees the test's vars and ``output``,
``completion``, ``input``/``prompt`` (the rendered prompt), and per check ``rubric``/``value``
(``llm-rubric``), ``ideal``/``reference``/``value`` (``factuality``), ``criteria``/``value``
(``model-graded-closedqa``), ``criteria``/``outputs`` (``select-best``). Those names take
precedence over test vars of the same name, except ``input`` and ``prompt``, which test vars may
replace (as in promptfoo).

Small local graders are unreliable about formats, so answers are read tolerantly: lines that only
repeat the grading prompt are set aside first (small models echo their instructions), then JSON
is looked for anywhere in the answer (in prose or code fences, with loose ``key: value`` fields as
a fallback), then explicit verdict words. An answer that still cannot be read fails the check with
the answer quoted, as does a missing grader or a failed grader call; those failures are never
inverted by ``not-``. No parser makes a poor grader good: with the bundled 135M/270M local models
most answers are unreadable or wrong, so use a capable model as the grader.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from promptwork.checks.base import CheckContext, CheckError, CheckResult, CheckSpec, Grader
from promptwork.errors import MissingVariableError, ProviderError, TemplateError
from promptwork.templates import TemplateEngine

__all__ = [
    "CLOSEDQA_PROMPT",
    "FACTUALITY_CATEGORIES",
    "FACTUALITY_PROMPT",
    "LLM_RUBRIC_PROMPT",
    "SELECT_BEST_PROMPT",
    "RubricVerdict",
    "factuality",
    "llm_rubric",
    "model_graded_closedqa",
    "parse_factuality",
    "parse_index",
    "parse_rubric_verdict",
    "parse_yes_no",
    "select_best",
    "select_best_cell",
    "spec_problem",
]

# --- grading prompts (promptwork's wording) ---------------------------------------------------

LLM_RUBRIC_PROMPT = """\
You are grading a text written by an AI model against a rubric. The text passes when what the \
rubric states is true of it.

<output>
{{ output }}
</output>

<rubric>
{{ rubric }}
</rubric>

Decide whether the output satisfies the rubric. Then reply with one JSON object and nothing else:
{"reason": "<one or two sentences>", "pass": <true or false>, "score": <number from 0.0 to 1.0>}"""

FACTUALITY_PROMPT = """\
Compare the facts in a submitted answer with those in a reference answer to the same question. \
Judge factual content only: ignore style, wording, grammar and punctuation.

<question>
{{ input }}
</question>

<reference>
{{ ideal }}
</reference>

<submission>
{{ completion }}
</submission>

Choose the one category that fits best:
(A) The submission holds only part of the reference's facts and agrees with all of it.
(B) The submission holds all of the reference's facts plus more, and agrees with all of it.
(C) The submission holds exactly the same facts as the reference.
(D) The submission and the reference contradict each other.
(E) They differ, but the differences do not matter for factual correctness.

Reply with one JSON object and nothing else:
{"category": "<A, B, C, D or E>", "reason": "<one sentence>"}"""

CLOSEDQA_PROMPT = """\
Check whether a submitted answer to a task meets a criterion.

<task>
{{ input }}
</task>

<submission>
{{ completion }}
</submission>

<criterion>
{{ criteria }}
</criterion>

First reason step by step about whether the submission meets the criterion; do not state a \
conclusion before the reasoning. Then write the single letter Y (it meets the criterion) or N \
(it does not) alone on the last line."""

SELECT_BEST_PROMPT = """\
Below are several texts. Decide which one best satisfies this criterion: {{ criteria }}
{% for output in outputs %}
<text index="{{ loop.index0 }}">
{{ output }}
</text>
{% endfor %}
Reply with the index of the best text: one integer and nothing else."""


#: Factuality categories: letter -> (config key for its score, default score, meaning).
FACTUALITY_CATEGORIES: dict[str, tuple[str, float, str]] = {
    "A": ("subset", 1.0, "output is a consistent subset of the reference"),
    "B": ("superset", 1.0, "output is a consistent superset of the reference"),
    "C": ("agree", 1.0, "output has the same details as the reference"),
    "D": ("disagree", 0.0, "output and reference disagree"),
    "E": ("differButFactual", 1.0, "output differs from the reference, not in facts"),
}
_FACTUALITY_KEYS = tuple(key for key, _, _ in FACTUALITY_CATEGORIES.values())

_REASON_LIMIT = 500
_QUOTE_LIMIT = 300


# --- validation -------------------------------------------------------------------------------


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with a model-graded check's options, or ``None`` (called at suite load)."""
    if spec.type == "select-best" and spec.negate:
        return "'select-best' cannot be negated (it picks one winner among the prompts)"
    provider = spec.config.get("provider")
    if provider is not None and _provider_id(provider) is None:
        return "'provider' must be a model id, or a mapping with an 'id'"
    rubric_prompt = spec.config.get("rubricPrompt")
    if rubric_prompt is not None:
        problem = _rubric_prompt_problem(rubric_prompt)
        if problem:
            return problem
    if spec.type == "factuality":
        for key, score in _factuality_overrides(spec.config).items():
            if key not in _FACTUALITY_KEYS:
                return f"unknown factuality option {key!r}; known: {', '.join(_FACTUALITY_KEYS)}"
            if (
                isinstance(score, bool)
                or not isinstance(score, int | float)
                or not math.isfinite(score)
                or score < 0
            ):
                return f"factuality score {key!r} must be a number >= 0, got {score!r}"
    if spec.type != "llm-rubric" and isinstance(spec.value, Mapping | list):
        return "value must be text"
    return None


def _rubric_prompt_problem(value: Any) -> str | None:
    if isinstance(value, str):
        if value.startswith("file://"):
            return None  # read (and checked) when the check runs, relative to the suite
        parsed = _messages_from_json(value)
        sources = parsed if parsed is not None else [value]
    elif isinstance(value, list):
        contents = _message_contents(value)
        if contents is None:
            return "'rubricPrompt' list must hold chat messages ({role: ..., content: text})"
        sources = contents
    else:
        return "'rubricPrompt' must be a template string, a file:// path or a list of messages"
    for source in sources:
        try:
            _engine().compile(source, path="<rubricPrompt>")
        except TemplateError as exc:
            return f"bad template in rubricPrompt: {exc.message}"
    return None


def _factuality_overrides(config: Mapping[str, Any]) -> dict[str, Any]:
    nested = config.get("factuality")
    out: dict[str, Any] = dict(nested) if isinstance(nested, Mapping) else {}
    out.update({k: v for k, v in config.items() if k in _FACTUALITY_KEYS})
    return out


def _provider_id(provider: Any) -> str | None:
    if isinstance(provider, str) and provider.strip():
        return provider.strip()
    if isinstance(provider, Mapping):
        ident = provider.get("id")
        if isinstance(ident, str) and ident.strip():
            return ident.strip()
    return None


# --- grading prompt rendering ------------------------------------------------------------------


@functools.cache
def _engine() -> TemplateEngine:
    return TemplateEngine()


def _message_contents(messages: Sequence[Any]) -> list[str] | None:
    contents: list[str] = []
    for message in messages:
        if isinstance(message, str):
            contents.append(message)
        elif isinstance(message, Mapping) and isinstance(message.get("content"), str):
            contents.append(message["content"])
        else:
            return None
    return contents or None


def _messages_from_json(text: str) -> list[str] | None:
    """Contents of a promptfoo-style JSON chat array (``[{"role": ..., "content": ...}]``)."""
    stripped = text.strip()
    if not stripped.startswith("["):
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return _message_contents(parsed) if isinstance(parsed, list) else None


def _template_sources(spec: CheckSpec, ctx: CheckContext, default: str) -> list[str]:
    """The grading prompt's template(s): ``rubricPrompt`` when given, else ``default``."""
    value = spec.config.get("rubricPrompt")
    if value is None:
        return [default]
    if isinstance(value, str) and value.startswith("file://"):
        path = ctx.resolve(value)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            detail = exc.strerror or exc
            raise CheckError(f"cannot read rubricPrompt file {path}: {detail}") from exc
        if path.suffix.lower() in (".json", ".yaml", ".yml"):
            try:
                loaded = yaml.safe_load(text)  # JSON is YAML
            except yaml.YAMLError as exc:
                raise CheckError(f"rubricPrompt file {path} is not valid JSON/YAML: {exc}") from exc
            if isinstance(loaded, str):
                return [loaded]
            contents = _message_contents(loaded) if isinstance(loaded, list) else None
            if contents is None:
                raise CheckError(f"rubricPrompt file {path} must hold text or a list of messages")
            return contents
        return _messages_from_json(text) or [text]
    if isinstance(value, str):
        return _messages_from_json(value) or [value]
    contents = _message_contents(value) if isinstance(value, list) else None
    if contents is None:
        raise CheckError("'rubricPrompt' must be a template string, a file:// path or messages")
    return contents


def _render(sources: Sequence[str], variables: Mapping[str, Any], custom: bool) -> str:
    parts: list[str] = []
    for source in sources:
        try:
            parts.append(_engine().compile(source, path="<rubricPrompt>").render(variables))
        except MissingVariableError as exc:
            raise CheckError(
                f"{'rubricPrompt' if custom else 'grading prompt'} uses undefined variable"
                f"{'s' if len(exc.names) > 1 else ''} {', '.join(exc.names)} "
                f"(available: {', '.join(sorted(variables))})"
            ) from None
        except TemplateError as exc:
            raise CheckError(f"cannot render rubricPrompt: {exc.message}") from None
    return "\n\n".join(parts)


def _variables(ctx: CheckContext, names: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"input": ctx.prompt_text, "prompt": ctx.prompt_text}
    out.update(ctx.vars)
    out.update(names)
    return out


def _grading_prompt(
    spec: CheckSpec, ctx: CheckContext, default: str, names: Mapping[str, Any]
) -> str:
    sources = _template_sources(spec, ctx, default)
    return _render(sources, _variables(ctx, names), "rubricPrompt" in spec.config)


async def _ask(spec: CheckSpec, ctx: CheckContext, prompt: str) -> str:
    if ctx.grader is None:
        raise CheckError(
            f"'{spec.type}' needs a grading model, and none is configured "
            "(set a grader model for the run, or a 'provider' on the check)"
        )
    provider = _provider_id(spec.config.get("provider"))
    try:
        answer = await ctx.grader(prompt, provider)
    except ProviderError as exc:
        raise CheckError(f"grader call failed: {exc}") from exc
    if not isinstance(answer, str):
        raise CheckError(f"grader returned {type(answer).__name__}, expected text")
    if not answer.strip():
        raise CheckError("grader returned an empty answer")
    prompt_lines = {line.strip() for line in prompt.splitlines()}
    if all(
        line.strip() in prompt_lines or _is_echo(line.strip(), prompt, prompt_lines)
        for line in answer.splitlines()
        if line.strip()
    ):
        raise CheckError("grader only repeated the grading prompt: " + _quote(answer))
    return answer


_ECHO_MIN_CHARS = 20


def _is_echo(line: str, prompt: str, prompt_lines: set[str]) -> bool:
    if len(line) >= _ECHO_MIN_CHARS and line in prompt:
        return True
    return line in prompt_lines and line.startswith("<") and line.endswith(">")


def _without_echo(answer: str, prompt: str) -> str:
    """``answer`` without the lines that merely repeat the grading prompt.

    Small models often echo the instructions (``reply with {"pass": <true or false>...}``,
    "decide whether the output satisfies the rubric", ``<text index="2">``), which must not be
    read as a verdict. Dropped: lines of 20 characters or more found in the prompt, and the
    prompt's markup lines (``<...>``); shorter lines are kept, so that a bare ``Y``, ``PASS`` or
    ``1`` always counts.
    """
    prompt_lines = {line.strip() for line in prompt.splitlines()}
    kept = [
        line for line in answer.splitlines() if not _is_echo(line.strip(), prompt, prompt_lines)
    ]
    return "\n".join(kept)


# --- reading answers --------------------------------------------------------------------------


def _one_line(text: str, limit: int = _REASON_LIMIT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(answer: str) -> str:
    return repr(_one_line(answer, _QUOTE_LIMIT))


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object embedded in ``text`` (in prose, code fences...), outermost first."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    pos = text.find("{")
    while pos != -1:
        try:
            obj, end = decoder.raw_decode(text, pos)
        except ValueError:
            pos = text.find("{", pos + 1)
            continue
        if isinstance(obj, dict):
            found.append(obj)
        pos = text.find("{", end)
    return found


_TRUE_WORDS = frozenset({"true", "yes", "y", "pass", "passed", "passes", "1"})
_FALSE_WORDS = frozenset({"false", "no", "n", "fail", "failed", "fails", "0"})


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return True if value == 1 else False if value == 0 else None
    if isinstance(value, str):
        word = value.strip().strip(".!*`'\"").lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?|-?\.\d+)\s*(?:/\s*(\d+(?:\.\d+)?))?\s*", value)
        if match:
            number = float(match.group(1))
            if match.group(2):
                denominator = float(match.group(2))
                return number / denominator if denominator > 0 else None
            return number
    return None


def _unit_score(value: float) -> float | None:
    """A score in [0, 1]; ``8`` or ``80`` are read as out of 10 or 100; others are rejected."""
    if 0.0 <= value <= 1.0:
        return value
    if 1.0 < value <= 10.0:
        return value / 10.0
    if 10.0 < value <= 100.0:
        return value / 100.0
    return None


@dataclass(frozen=True, slots=True)
class RubricVerdict:
    """An ``llm-rubric`` grader answer, as read.

    Attributes:
        passed: The verdict, or ``None`` when the answer gave only a score.
        score: The score in [0, 1], or ``None`` when the answer gave none.
        reason: The grader's reason (or what was read, for a verdict in words).
    """

    passed: bool | None
    score: float | None
    reason: str


def _lower_keys(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).strip().lower(): v for k, v in obj.items()}


def _first(obj: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if key in obj:
            return obj[key]
    return None


_PASS_KEYS = ("pass", "passed", "verdict", "result", "passes")
_SCORE_KEYS = ("score", "rating", "grade")
_REASON_KEYS = ("reason", "reasoning", "explanation", "rationale", "analysis")

_LOOSE_FIELD = re.compile(
    r"""["']?\b(pass|passed|verdict|score|reason)\b["']?\s*[:=]\s*"""
    r"""("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^,}\n]+)""",
    re.IGNORECASE,
)
_LABELLED_WORD = re.compile(
    r"\b(?:verdict|result|grade|decision|answer|conclusion)\s*(?:is)?\s*[:=\-]?\s*[*_`\"']*"
    r"(pass(?:ed)?|fail(?:ed)?|yes|no|true|false)\b",
    re.IGNORECASE,
)
_UPPER_WORD = re.compile(r"\b(PASS(?:ED)?|FAIL(?:ED)?)\b")
_LEADING_YES_NO = re.compile(r"^\W*(yes|no)\s*(?:[,.!:;]|$)", re.IGNORECASE)
_LINE_WORD = re.compile(r"^\W*(pass(?:ed)?|fail(?:ed)?)\W*$", re.IGNORECASE | re.MULTILINE)
_MEETS = re.compile(r"\b(?:meets|satisfies|passes|fulfils|fulfills)\s+(?:the\s+)?rubric", re.I)
_MISSES = re.compile(
    r"\b(?:(?:does\s+not|doesn't|did\s+not|didn't|fails\s+to)\s+"
    r"(?:meet|satisfy|pass|fulfil|fulfill)|fails)\s+(?:the\s+)?rubric",
    re.IGNORECASE,
)


def _verdict_from_fields(fields: Mapping[str, Any]) -> RubricVerdict | None:
    passed = _truth(_first(fields, _PASS_KEYS))
    raw_score = _number(_first(fields, _SCORE_KEYS))
    score = _unit_score(raw_score) if raw_score is not None else None
    if passed is None and score is None:
        return None
    reason = _first(fields, _REASON_KEYS)
    return RubricVerdict(passed, score, _one_line(reason) if isinstance(reason, str) else "")


def parse_rubric_verdict(answer: str) -> RubricVerdict | None:
    """Read an ``llm-rubric`` verdict from a grader's answer; ``None`` when it holds none.

    Tries, in order: a JSON object with ``pass`` and/or ``score`` anywhere in the answer; loose
    ``key: value`` fields (single quotes, Python ``True``, missing braces); verdict words
    (``Verdict: PASS``, a standalone ``PASS``/``FAIL``, an answer that starts with yes/no), then
    "meets the rubric" / "does not meet the rubric" when only one of them appears.
    """
    for obj in _json_objects(answer):
        verdict = _verdict_from_fields(_lower_keys(obj))
        if verdict is not None:
            return verdict
    fields: dict[str, Any] = {}
    for key, raw in _LOOSE_FIELD.findall(answer):
        value = raw.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        fields.setdefault(key.lower(), value)
    verdict = _verdict_from_fields(fields)
    if verdict is not None:
        if verdict.reason:
            return verdict
        said = "PASS" if verdict.passed else "FAIL" if verdict.passed is False else "a score"
        return RubricVerdict(
            verdict.passed,
            verdict.score,
            f"grader answered {said} without a JSON verdict: {_quote(answer)}",
        )
    word: str | None = None
    labelled = _LABELLED_WORD.findall(answer)
    if labelled:
        word = labelled[-1]
    elif lines := _LINE_WORD.findall(answer):
        word = lines[-1]
    elif upper := _UPPER_WORD.findall(answer):
        word = upper[-1]
    elif leading := _LEADING_YES_NO.match(answer):
        word = leading.group(1)
    elif bool(_MEETS.search(answer)) != bool(_MISSES.search(answer)):
        # "The output meets the rubric because..." (only one of the two phrasings appears).
        word = "pass" if _MEETS.search(answer) else "fail"
    if word is None:
        return None
    passed = _truth(word)
    if passed is None:
        return None
    return RubricVerdict(
        passed, None, f"grader answered {word.upper()} without a JSON verdict: {_quote(answer)}"
    )


_CATEGORY_KEYS = ("category", "answer", "choice", "option", "selection", "grade")
_LABELLED_LETTER = re.compile(
    r"\b(?:category|answer|choice|option|selection|verdict)\b\s*(?:is)?\s*[:=\-]?\s*"
    r"[*_`\"']*\(?((?-i:[A-E]))\b",
    re.IGNORECASE,
)
_PAREN_LETTER = re.compile(r"\(([A-Ea-e])\)")
_BARE_LETTER = re.compile(r"^\W*\(?([A-Ea-e])\)?\W*$")


def parse_factuality(answer: str) -> tuple[str, str] | None:
    """The category letter (``A``-``E``) and reason in a factuality grader's answer, or ``None``.

    Tries a JSON object with ``category`` (or ``answer``/``choice``...), then a labelled letter
    (``Answer: B``), then a single distinct ``(X)`` in the text (an answer quoting several
    categories is ambiguous), then an answer that is just the letter.
    """
    for obj in _json_objects(answer):
        fields = _lower_keys(obj)
        letter = _first(fields, _CATEGORY_KEYS)
        # "<A, B, C, D or E>" (the template, repeated) names no category.
        if isinstance(letter, str) and len(set(re.findall(r"\b[A-E]\b", letter))) <= 1:
            match = re.match(r"\W*([A-Ea-e])(?![A-Za-z])", letter.strip())
            if match:
                reason = _first(fields, _REASON_KEYS)
                return match.group(1).upper(), (
                    _one_line(reason) if isinstance(reason, str) else ""
                )
    labelled = _LABELLED_LETTER.findall(answer)
    if labelled:
        return labelled[-1].upper(), _one_line(answer)
    letters = {letter.upper() for letter in _PAREN_LETTER.findall(answer)}
    if len(letters) == 1:
        return letters.pop(), _one_line(answer)
    bare = _BARE_LETTER.match(answer.strip())
    if bare and not letters:
        return bare.group(1).upper(), ""
    return None


_YN_LINE = re.compile(
    r"(?:(?:final\s+)?(?:answer|verdict|conclusion|decision)\s*(?:is)?\s*[:=\-]?\s*)?"
    r"(y|n|yes|no)",
    re.IGNORECASE,
)


def parse_yes_no(answer: str) -> bool | None:
    """A closed-QA verdict: ``Y``/``N`` (or yes/no) ending the answer; ``None`` if there is none.

    Looks at the last two non-empty lines for one that is only the letter (optionally labelled,
    ``Answer: Y``, and wrapped in markdown or punctuation), then at the answer's last word.
    """
    lines = [line.strip() for line in answer.splitlines() if line.strip()]
    for line in reversed(lines[-2:]):
        cleaned = line.strip("*_`\"'.!:()[] ")
        match = _YN_LINE.fullmatch(cleaned)
        if match:
            return str(match.group(1)).lower().startswith("y")
    words = re.findall(r"[A-Za-z]+", answer)
    if words and words[-1].lower() in ("y", "n", "yes", "no"):
        # "... the answer is Y", not "... it does not say no" in lowercase prose.
        last = str(words[-1])
        if last in ("Y", "N", "Yes", "No", "YES", "NO"):
            return last.lower().startswith("y")
    return None


_INDEX_KEYS = ("index", "best", "answer", "winner", "choice", "selected", "best_index")
_LABELLED_INDEX = re.compile(
    r"\b(?:index|best|answer|winner|choice|selected|select|choose|pick)\b\D{0,20}?(\d+)",
    re.IGNORECASE,
)


def parse_index(answer: str, count: int) -> int | None:
    """The index (0-based, below ``count``) a select-best grader chose, or ``None``.

    Tries a JSON object (``{"index": 1}``), an answer that is just the number, the last labelled
    number (``best: 1``), then the first number in range (promptfoo reads the first digit).
    """

    def valid(value: Any) -> int | None:
        number = _number(value)
        if number is None or not number.is_integer():
            return None
        return int(number) if 0 <= number < count else None

    for obj in _json_objects(answer):
        chosen = valid(_first(_lower_keys(obj), _INDEX_KEYS))
        if chosen is not None:
            return chosen
    whole = re.fullmatch(r"[^\w-]*(-?\d+)\W*", answer.strip())
    if whole:
        return valid(whole.group(1))
    for raw in reversed(_LABELLED_INDEX.findall(answer)):
        chosen = valid(raw)
        if chosen is not None:
            return chosen
    for raw in re.findall(r"-?\d+", answer):
        chosen = valid(raw)
        if chosen is not None:
            return chosen
    return None


# --- the checks -------------------------------------------------------------------------------


def _text_value(value: Any, check: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if check == "llm-rubric" and isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"{check!r} needs a text value, got {type(value).__name__}")


async def llm_rubric(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The grading model judges that the output satisfies the rubric in the value."""
    rubric = _text_value(spec.value, "llm-rubric")
    prompt = _grading_prompt(
        spec,
        ctx,
        LLM_RUBRIC_PROMPT,
        {"output": ctx.output, "completion": ctx.output, "rubric": rubric, "value": rubric},
    )
    answer = await _ask(spec, ctx, prompt)
    verdict = parse_rubric_verdict(_without_echo(answer, prompt))
    if verdict is None:
        raise CheckError(
            "grader answer holds no verdict (expected JSON such as "
            '{"reason": "...", "pass": true, "score": 1.0}, or PASS/FAIL): ' + _quote(answer)
        )
    threshold = spec.threshold
    score = verdict.score
    if verdict.passed is None:
        assert score is not None  # parse_rubric_verdict never returns neither
        passed = score >= (threshold if threshold is not None else 0.5)
    else:
        passed = verdict.passed
        if score is None:
            score = 1.0 if passed else 0.0
        if threshold is not None:
            passed = passed and score >= threshold
    reason = verdict.reason or ("grader: pass" if passed else "grader: fail")
    if threshold is not None:
        relation = ">=" if score >= threshold else "<"
        reason = f"score {score:g} {relation} threshold {threshold:g}; {reason}"
    return CheckResult(passed=passed, score=score, reason=reason)


async def factuality(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The grading model finds the output factually consistent with the reference in the value."""
    reference = _text_value(spec.value, "factuality")
    prompt = _grading_prompt(
        spec,
        ctx,
        FACTUALITY_PROMPT,
        {
            "output": ctx.output,
            "completion": ctx.output,
            "ideal": reference,
            "reference": reference,
            "value": reference,
        },
    )
    answer = await _ask(spec, ctx, prompt)
    parsed = parse_factuality(_without_echo(answer, prompt))
    if parsed is None:
        raise CheckError(
            "grader answer holds no factuality category (expected JSON such as "
            '{"category": "A", "reason": "..."} with A-E): ' + _quote(answer)
        )
    letter, reason = parsed
    key, default, meaning = FACTUALITY_CATEGORIES[letter]
    score = float(_factuality_overrides(spec.config).get(key, default))
    detail = f"category {letter} ({meaning})"
    return CheckResult(
        passed=score > 0, score=score, reason=f"{detail}: {reason}" if reason else detail
    )


async def model_graded_closedqa(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The grading model answers Y: the output meets the criterion in the value."""
    criterion = _text_value(spec.value, "model-graded-closedqa")
    prompt = _grading_prompt(
        spec,
        ctx,
        CLOSEDQA_PROMPT,
        {"output": ctx.output, "completion": ctx.output, "criteria": criterion, "value": criterion},
    )
    answer = await _ask(spec, ctx, prompt)
    verdict = parse_yes_no(_without_echo(answer, prompt))
    if verdict is None:
        raise CheckError(
            "grader answer does not end with Y or N: " + _quote(answer[-_QUOTE_LIMIT:])
        )
    said = "meets" if verdict else "does not meet"
    return CheckResult(
        passed=verdict,
        score=1.0 if verdict else 0.0,
        reason=f"grader: output {said} the criterion: {_one_line(answer)}",
    )


def select_best_cell(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Placeholder per cell: ``select-best`` is decided across prompts by the runner."""
    return CheckResult(passed=True, score=1.0, reason="decided across prompts")


async def select_best(
    outputs: list[str],
    criteria: str,
    grader: Grader,
    provider: str | None,
    *,
    rubric_prompt: str | list[Any] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> int | None:
    """Ask the grader which of ``outputs`` best meets ``criteria`` (promptfoo's ``select-best``).

    Args:
        outputs: The outputs of one test under the prompts being compared.
        criteria: The check's (rendered) value.
        grader: The grading model.
        provider: Model id overriding the default grader (the check's ``provider``).
        rubric_prompt: Replacement template (``rubricPrompt``; ``criteria``, ``outputs`` and
            ``variables`` are available); ``file://`` paths must be read by the caller.
        variables: The test's vars, for ``rubric_prompt``.

    Returns:
        The winner's index; ``0`` for a single output (no call is made); ``None`` for no outputs
        or an answer without a valid index.

    Raises:
        promptwork.errors.ProviderError: The grader call failed.
        CheckError: ``rubric_prompt`` does not render.
    """
    if not outputs:
        return None
    if len(outputs) == 1:
        return 0
    if rubric_prompt is None:
        sources = [SELECT_BEST_PROMPT]
    elif isinstance(rubric_prompt, str):
        sources = _messages_from_json(rubric_prompt) or [rubric_prompt]
    else:
        contents = _message_contents(rubric_prompt)
        if contents is None:
            raise CheckError("'rubricPrompt' list must hold chat messages")
        sources = contents
    names = {**(variables or {}), "criteria": criteria, "value": criteria, "outputs": outputs}
    prompt = _render(sources, names, rubric_prompt is not None)
    answer = await grader(prompt, provider)
    return parse_index(_without_echo(answer, prompt), len(outputs))

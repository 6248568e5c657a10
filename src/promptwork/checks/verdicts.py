"""Reading model-graded checks' answers: JSON verdicts, verdict words, letters, Y/N, indexes.

Small local graders are unreliable about formats, so answers are read tolerantly: lines that only
repeat the grading prompt are set aside first (:func:`without_echo`; small models echo their
instructions), then JSON is looked for anywhere in the answer (in prose or code fences, with loose
``key: value`` fields as a fallback), then explicit verdict words. The parsers return ``None`` for
an answer they cannot read; :mod:`promptwork.checks.judge` turns that into a failed check.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "QUOTE_LIMIT",
    "REASON_LIMIT",
    "RubricVerdict",
    "is_echo",
    "one_line",
    "parse_factuality",
    "parse_index",
    "parse_rubric_verdict",
    "parse_yes_no",
    "quote",
    "without_echo",
]

#: Longest reason (in characters) kept from an answer.
REASON_LIMIT = 500
#: Longest excerpt of an unreadable answer quoted in an error.
QUOTE_LIMIT = 300


# --- echoes of the grading prompt -------------------------------------------------------------


_ECHO_MIN_CHARS = 20


def is_echo(line: str, prompt: str, prompt_lines: set[str]) -> bool:
    """Whether the (stripped) answer ``line`` only repeats the grading ``prompt``."""
    if len(line) >= _ECHO_MIN_CHARS and line in prompt:
        return True
    return line in prompt_lines and line.startswith("<") and line.endswith(">")


def without_echo(answer: str, prompt: str) -> str:
    """``answer`` without the lines that merely repeat the grading prompt.

    Small models often echo the instructions (``reply with {"pass": <true or false>...}``,
    "decide whether the output satisfies the rubric", ``<text index="2">``), which must not be
    read as a verdict. Dropped: lines of 20 characters or more found in the prompt, and the
    prompt's markup lines (``<...>``); shorter lines are kept, so that a bare ``Y``, ``PASS`` or
    ``1`` always counts.
    """
    prompt_lines = {line.strip() for line in prompt.splitlines()}
    kept = [
        line for line in answer.splitlines() if not is_echo(line.strip(), prompt, prompt_lines)
    ]
    return "\n".join(kept)


# --- reading answers --------------------------------------------------------------------------


def one_line(text: str, limit: int = REASON_LIMIT) -> str:
    """``text`` on one line (whitespace collapsed), cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(answer: str) -> str:
    """``answer`` quoted for an error message (one line, at most ``QUOTE_LIMIT`` characters)."""
    return repr(one_line(answer, QUOTE_LIMIT))


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
    return RubricVerdict(passed, score, one_line(reason) if isinstance(reason, str) else "")


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
            f"grader answered {said} without a JSON verdict: {quote(answer)}",
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
        passed, None, f"grader answered {word.upper()} without a JSON verdict: {quote(answer)}"
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
                    one_line(reason) if isinstance(reason, str) else ""
                )
    labelled = _LABELLED_LETTER.findall(answer)
    if labelled:
        return labelled[-1].upper(), one_line(answer)
    letters = {letter.upper() for letter in _PAREN_LETTER.findall(answer)}
    if len(letters) == 1:
        return letters.pop(), one_line(answer)
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


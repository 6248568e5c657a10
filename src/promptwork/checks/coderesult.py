"""What a check written in code (``python``, ``javascript``) returned, as a verdict.

promptfoo's rules, one place for both languages:

* a boolean: passed or not, score 1 or 0;
* a number: the score; it passes when ``>= threshold``, or ``> 0`` without a threshold;
* a mapping ``{pass, score, reason}``: a missing score is 1/0 from ``pass``; a missing ``pass``
  comes from the score as for a number; a given threshold fails a result scoring below it.

Python also accepts ``pass_`` for ``pass``, a dataclass, and the same as text (``"true"``, a
number, a JSON object); JavaScript has no such forms.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from promptwork.checks.base import CheckError, CheckResult

__all__ = ["JAVASCRIPT", "PYTHON", "Language", "code_result"]


@dataclass(frozen=True)
class Language:
    """How one language's results read, and the exception a bad one raises.

    Attributes:
        name: The check's name in reasons (``python check``, ``javascript``).
        true: The language's ``true`` (``True``, ``true``); its false is the same, lower or title.
        nothing: The language's "no value" (``None``, ``undefined``).
        pass_keys: The keys that may hold the verdict.
        lenient: Whether text and dataclasses are read too (Python).
        error: The exception raised for a result of another kind.
    """

    name: str
    true: str
    nothing: str
    pass_keys: tuple[str, ...]
    lenient: bool
    error: type[Exception]

    def literal(self, value: bool) -> str:
        text = "true" if value else "false"
        return text.title() if self.true == "True" else text


#: Python's results (a bad one raises TypeError, which the python check turns into a failed check
#: as it does the user's code's own exceptions).
PYTHON = Language("python check", "True", "None", ("pass", "pass_"), True, TypeError)
JAVASCRIPT = Language("javascript", "true", "undefined", ("pass",), False, CheckError)


def _number(value: Any, what: str, lang: Language) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise lang.error(f"{lang.name} returned {what} {value!r}, expected a number")
    return float(value)


def _passes(score: float, threshold: float | None) -> bool:
    return score >= threshold if threshold is not None else score > 0


def _label(lang: Language) -> str:
    return lang.name.removesuffix(" check")


def code_result(raw: Any, threshold: float | None, lang: Language) -> CheckResult:
    """Turn what the user's code returned into a :class:`CheckResult` (see the module doc).

    Raises:
        Exception: ``lang.error`` for a result of another kind (``None``/``undefined``, a list...).
    """
    if isinstance(raw, bool):
        return CheckResult(raw, 1.0 if raw else 0.0, f"{lang.name} returned {lang.literal(raw)}")
    if isinstance(raw, int | float):
        score = _number(raw, "score", lang)
        passed = _passes(score, threshold)
        if threshold is not None:
            verdict = f"{'>=' if passed else '<'} threshold {threshold:g}"
        else:
            verdict = f"{'>' if passed else '<='} 0"
        return CheckResult(passed, score, f"{_label(lang)} score {score:g} {verdict}")
    if lang.lenient and isinstance(raw, str):
        parsed = _from_text(raw, lang)
        if parsed is not None:
            return code_result(parsed, threshold, lang)
    if lang.lenient and dataclasses.is_dataclass(raw) and not isinstance(raw, type):
        raw = dataclasses.asdict(raw)
    if isinstance(raw, Mapping):
        return _from_mapping(raw, threshold, lang)
    if raw is None:
        raise lang.error(
            f"{lang.name} returned {lang.nothing} (a multi-line check must 'return' a result)")
    raise lang.error(
        f"{lang.name} must return a boolean, a number, or {{pass, score, reason}}; got "
        f"{type(raw).__name__}: {str(raw)[:80]!r}"
    )


def _from_text(raw: str, lang: Language) -> Any:
    """A result written as text (``"true"``, ``"0.5"``, a JSON object), or ``None``."""
    text = raw.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise lang.error(f"{lang.name} returned invalid JSON text: {exc}") from None
    try:
        return float(text)
    except ValueError:
        return None


def _from_mapping(raw: Mapping[str, Any], threshold: float | None, lang: Language) -> CheckResult:
    key = next((k for k in lang.pass_keys if k in raw), None)
    given = _number(raw["score"], "'score'", lang) if raw.get("score") is not None else None
    if key is None and given is None:
        raise lang.error(f"{lang.name} returned an object without 'pass' or 'score'")
    if key is not None:
        passed = raw[key]
        if not isinstance(passed, bool):
            raise lang.error(f"{lang.name} returned 'pass' {passed!r}, not true/false")
    else:
        assert given is not None
        passed = _passes(given, threshold)
    score = given if given is not None else (1.0 if passed else 0.0)
    reason = str(raw.get("reason") or f"{lang.name} returned pass={lang.literal(passed)}")
    if threshold is not None and score < threshold:
        passed = False
        reason = f"{_label(lang)} score {score:g} < threshold {threshold:g}: {reason}"
    return CheckResult(passed, score, reason)

"""promptfoo's string assertions: the CSV ``__expected`` cell rules (``contains: x``, ``not-``...).

``file://x.py[:fn]`` and ``python:`` give python checks; JavaScript (``javascript:``, ``fn:``,
``eval:``, ``file://x.js``) is refused by name.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from promptwork.errors import ConfigError

__all__ = ["PROMPTFOO_TYPES", "assertion_from_string"]

_JS_EXTENSIONS = (".js", ".cjs", ".mjs", ".ts", ".cts", ".mts", ".jsx", ".tsx")
_NO_JS = "javascript checks are not supported; use python (e.g. 'python: \"Paris\" in output')"


#: promptfoo's assertion types (its ``BaseAssertionTypesSchema``): ``type: value`` strings naming
#: one of these, or a registered promptwork check, become that check; anything else is ``equals``.
PROMPTFOO_TYPES = (
    "answer-relevance", "bleu", "classifier", "contains", "contains-all", "contains-any",
    "contains-html", "contains-json", "contains-sql", "contains-xml", "context-faithfulness",
    "context-recall", "context-relevance", "conversation-relevance", "cost", "equals",
    "factuality", "finish-reason", "g-eval", "gleu", "guardrails", "icontains", "icontains-all",
    "icontains-any", "is-html", "is-json", "is-refusal", "is-sql", "is-valid-function-call",
    "is-valid-openai-function-call", "is-valid-openai-tools-call", "is-xml", "javascript",
    "latency", "levenshtein", "llm-rubric", "meteor", "model-graded-closedqa",
    "model-graded-factuality", "moderation", "perplexity", "perplexity-score", "pi", "python",
    "regex", "rouge-l", "rouge-n", "rouge-s", "ruby", "select-best", "similar", "similar:cosine",
    "similar:dot", "similar:euclidean", "starts-with", "tool-call-f1", "webhook", "word-count",
)  # fmt: skip
#: Types that get a default threshold when the string gives none (promptfoo: 0.75, similar 0.8).
_THRESHOLD_TYPES = frozenset(
    {
        "answer-relevance", "classifier", "context-faithfulness", "context-recall",
        "context-relevance", "cost", "latency", "levenshtein", "perplexity", "perplexity-score",
        "rouge-n", "similar", "starts-with",
    }
)  # fmt: skip
_LIST_TYPES = frozenset({"contains-any", "contains-all", "icontains-any", "icontains-all"})


@functools.lru_cache(maxsize=4)
def _assertion_regex(types: tuple[str, ...]) -> re.Pattern[str]:
    # Longest names first, so that 'similar:cosine' is not read as 'similar' + value 'cosine:...'.
    names = "|".join(re.escape(t) for t in sorted(types, key=len, reverse=True))
    return re.compile(rf"(not-)?({names})(?:\((\d+(?:\.\d+)?)\))?(?::(.*))?", re.DOTALL)


def _file_ref(text: str, extensions: tuple[str, ...]) -> bool:
    """``file://x.py`` or ``file://x.py:function`` (promptfoo's file-reference rule)."""
    if not text.startswith("file://"):
        return False
    rest = text[len("file://") :]
    candidates: list[tuple[str, str | None]] = [(rest, None)]
    if ":" in rest:
        head, tail = rest.rsplit(":", 1)
        candidates.append((head, tail))
    for path, fn in candidates:
        if fn is not None and (not fn or any(c in fn for c in "/\\")):
            continue
        name = re.split(r"[/\\]", path)[-1]
        if path.lower().endswith(extensions) and not any(c in name for c in ":?#"):
            return True
    return False


def _split_list(value: str) -> list[str]:
    """promptfoo's comma-separated list: items trimmed, empties dropped, ``"a, b"`` kept whole.

    Inside double quotes, ``""`` and ``\\"`` are a quote and ``\\\\`` a backslash.
    """
    items: list[str] = []
    i, n = 0, len(value)
    while True:
        while i < n and (value[i] == "," or value[i].isspace()):
            i += 1
        if i >= n:
            return items
        if value[i] != '"':
            end = value.find(",", i)
            end = n if end < 0 else end
            items.append(value[i:end].strip())
            i = end
            continue
        i += 1
        chars: list[str] = []
        while True:
            if i >= n:
                raise ConfigError("unterminated quoted item in a comma-separated list")
            c = value[i]
            if c == "\\" and i + 1 < n and value[i + 1] in '"\\':
                chars.append(value[i + 1])
                i += 2
            elif c == '"' and i + 1 < n and value[i + 1] == '"':
                chars.append('"')
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                chars.append(c)
                i += 1
        items.append("".join(chars))
        while i < n and value[i].isspace():
            i += 1
        if i < n and value[i] != ",":
            raise ConfigError("expected a comma after a quoted item in a comma-separated list")


def assertion_from_string(expected: str) -> dict[str, Any]:
    """A check mapping from a CSV ``__expected`` cell, by promptfoo's rules.

    ``type: value`` with a promptfoo or promptwork check type (``not-`` inverts), an optional
    threshold in parentheses (``similar(0.9): text``, ``levenshtein(5): text``, ``latency(1000)``);
    ``grade:``/``llm-rubric:`` give ``llm-rubric``; ``python:`` and ``file://x.py[:fn]`` give
    ``python``; the ``(i)contains-any/all`` values are comma-separated lists; anything else is an
    exact ``equals`` match on the (trimmed) cell.

    Raises:
        ConfigError: For ``javascript:``/``fn:``/``eval:`` and ``file://x.js`` (no JavaScript here)
            and malformed quoted list items. The message has no location: callers add it.
    """
    text = expected.strip()
    if text.startswith(("javascript:", "fn:", "eval:")) or _file_ref(text, _JS_EXTENSIONS):
        raise ConfigError(_NO_JS)
    if text.startswith(("grade:", "llm-rubric:")):
        return {"type": "llm-rubric", "value": text.split(":", 1)[1].strip()}
    if text.startswith("python:"):
        return {"type": "python", "value": text[len("python:") :].strip()}
    if _file_ref(text, (".py",)):
        return {"type": "python", "value": text}

    from promptwork.checks import registry

    types = tuple(sorted(set(PROMPTFOO_TYPES) | set(registry.known_types())))
    match = _assertion_regex(types).fullmatch(text)
    if match is None:
        return {"type": "equals", "value": text}
    negate, base, threshold_text, value = match.groups()
    out: dict[str, Any] = {"type": f"{negate or ''}{base}"}
    if base == "javascript":
        raise ConfigError(_NO_JS)
    if base in _LIST_TYPES:
        out["value"] = _split_list(value) if value else None
    elif base in ("is-json", "contains-json"):
        out["value"] = value if value and value.strip() else None  # a schema: kept as written
    else:
        out["value"] = value.strip() if value is not None else None
    if threshold_text is not None:
        out["threshold"] = float(threshold_text)
    elif base in _THRESHOLD_TYPES:
        out["threshold"] = 0.8 if base == "similar" else 0.75
    if out["value"] is None:
        del out["value"]
    return out

"""promptfoo's __expected strings (CSV cells) as checks."""

from __future__ import annotations

from typing import Any

import pytest

from promptwork.datasets import assertion_from_string
from promptwork.errors import ConfigError

# --- promptfoo's __expected strings -----------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Paris", {"type": "equals", "value": "Paris"}),
        ("  Paris  \n", {"type": "equals", "value": "Paris"}),
        ("Paris: the capital", {"type": "equals", "value": "Paris: the capital"}),
        ("equals: 30", {"type": "equals", "value": "30"}),
        ("contains: Hello", {"type": "contains", "value": "Hello"}),
        ("contains:Hello", {"type": "contains", "value": "Hello"}),
        ("icontains: hello", {"type": "icontains", "value": "hello"}),
        ("not-contains: sorry", {"type": "not-contains", "value": "sorry"}),
        ("regex: \\d+", {"type": "regex", "value": "\\d+"}),
        ("not-regex:\\d+", {"type": "not-regex", "value": "\\d+"}),
        ("starts-with: Yes", {"type": "starts-with", "value": "Yes", "threshold": 0.75}),
        ("is-json", {"type": "is-json"}),
        ("contains-json", {"type": "contains-json"}),
        ("is-json:\n  type: object\n", {"type": "is-json", "value": "\n  type: object"}),
        ("python: 'x' in output", {"type": "python", "value": "'x' in output"}),
        ("python: file://check.py ", {"type": "python", "value": "file://check.py"}),
        ("file://check.py", {"type": "python", "value": "file://check.py"}),
        ("file://dir/check.PY:grade", {"type": "python", "value": "file://dir/check.PY:grade"}),
        ("file://check.py:fn:extra", {"type": "equals", "value": "file://check.py:fn:extra"}),
        ("file://notes.txt", {"type": "equals", "value": "file://notes.txt"}),
        ("grade: is polite", {"type": "llm-rubric", "value": "is polite"}),
        ("llm-rubric:is polite", {"type": "llm-rubric", "value": "is polite"}),
        ("similar: hi", {"type": "similar", "value": "hi", "threshold": 0.8}),
        ("similar(0.9): hi", {"type": "similar", "value": "hi", "threshold": 0.9}),
        ("similar:cosine:hi", {"type": "similar:cosine", "value": "hi"}),
        ("similar:cosine text", {"type": "similar", "value": "cosine text", "threshold": 0.8}),
        ("levenshtein(5): hello", {"type": "levenshtein", "value": "hello", "threshold": 5.0}),
        ("levenshtein(0):x", {"type": "levenshtein", "value": "x", "threshold": 0.0}),
        ("rouge-n(0.225):foo", {"type": "rouge-n", "value": "foo", "threshold": 0.225}),
        ("bleu(0.3):foo", {"type": "bleu", "value": "foo", "threshold": 0.3}),
        ("bleu:foo", {"type": "bleu", "value": "foo"}),
        ("latency(1000)", {"type": "latency", "threshold": 1000.0}),
        ("cost(0.001)", {"type": "cost", "threshold": 0.001}),
        ("contains-any: a, b", {"type": "contains-any", "value": ["a", "b"]}),
        ("contains-all:a,b", {"type": "contains-all", "value": ["a", "b"]}),
        ("icontains-any: alpha, , beta,, ", {"type": "icontains-any", "value": ["alpha", "beta"]}),
        ('icontains-all:"hello, world",foo',
         {"type": "icontains-all", "value": ["hello, world", "foo"]}),
        ('contains-any:"a ""q"" b", "c\\"d"',
         {"type": "contains-any", "value": ['a "q" b', 'c"d']}),
        ("not-icontains-any:x", {"type": "not-icontains-any", "value": ["x"]}),
        ("webhook:https://example.com", {"type": "webhook", "value": "https://example.com"}),
    ],
)  # fmt: skip
def test_assertion_from_string(cell: str, expected: dict[str, Any]) -> None:
    assert assertion_from_string(cell) == expected


@pytest.mark.parametrize(
    "cell",
    ["javascript: output.length > 2", "fn:output === 'x'", "eval:1", "file://grade.js",
     "file://grade.ts:check", "not-javascript: x"],
)  # fmt: skip
def test_javascript_is_refused(cell: str) -> None:
    with pytest.raises(ConfigError, match="javascript checks are not supported; use python"):
        assertion_from_string(cell)


@pytest.mark.parametrize(
    ("cell", "needle"),
    [('contains-any:"open', "unterminated"), ('contains-all:"a"b,c', "expected a comma")],
)
def test_malformed_lists(cell: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        assertion_from_string(cell)

"""One reading of what a ``python`` or ``javascript`` check returned (promptfoo's rules)."""

from __future__ import annotations

from typing import Any

import pytest

from promptwork.checks.base import CheckError
from promptwork.checks.coderesult import JAVASCRIPT, PYTHON, code_result


@pytest.mark.parametrize(
    ("raw", "threshold", "passed", "score"),
    [
        (True, None, True, 1.0),
        (False, 0.5, False, 0.0),
        (0.3, None, True, 0.3),
        (0, None, False, 0.0),
        (0.3, 0.5, False, 0.3),
        (0.5, 0.5, True, 0.5),
        ({"pass": True}, None, True, 1.0),
        ({"pass": True, "score": 0.2}, 0.5, False, 0.2),  # a given threshold still applies
        ({"score": 0.7}, 0.5, True, 0.7),
        ({"score": 0.7, "pass": False}, None, False, 0.7),
        ({"pass": False, "score": None, "reason": "r"}, None, False, 0.0),
    ],
)
def test_both_languages_read_a_result_alike(
        raw: Any, threshold: float | None, passed: bool, score: float) -> None:
    py, js = code_result(raw, threshold, PYTHON), code_result(raw, threshold, JAVASCRIPT)
    assert (py.passed, py.score) == (js.passed, js.score) == (passed, score)


def test_reasons_use_each_languages_words() -> None:
    assert code_result(False, None, JAVASCRIPT).reason == "javascript returned false"
    assert code_result(False, None, PYTHON).reason == "python check returned False"
    assert code_result(0.25, 0.5, JAVASCRIPT).reason == "javascript score 0.25 < threshold 0.5"
    assert code_result(0.25, 0.5, PYTHON).reason == "python score 0.25 < threshold 0.5"
    assert code_result({"pass": True, "reason": "fine"}, None, PYTHON).reason == "fine"


@pytest.mark.parametrize(("raw", "passed", "score"), [
    ("true", True, 1.0), (" FALSE ", False, 0.0), ("0.75", True, 0.75),
    ('{"pass": false, "score": 0.1}', False, 0.1), ({"pass_": True}, True, 1.0),
])
def test_python_also_reads_text_and_pass_underscore(raw: Any, passed: bool, score: float) -> None:
    r = code_result(raw, None, PYTHON)
    assert (r.passed, r.score) == (passed, score)
    with pytest.raises(CheckError):
        code_result(raw, None, JAVASCRIPT)


@pytest.mark.parametrize("raw", [None, [1], "maybe", {"reason": "no verdict"}, {"pass": "yes"},
                                 float("nan"), {"score": "high"}])
def test_other_results_are_refused_in_each_languages_way(raw: Any) -> None:
    with pytest.raises(TypeError):
        code_result(raw, None, PYTHON)
    with pytest.raises(CheckError):
        code_result(raw, None, JAVASCRIPT)


def test_nothing_returned_names_the_languages_nothing() -> None:
    with pytest.raises(TypeError, match="returned None"):
        code_result(None, None, PYTHON)
    with pytest.raises(CheckError, match="returned undefined"):
        code_result(None, None, JAVASCRIPT)

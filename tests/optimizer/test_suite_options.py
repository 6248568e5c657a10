"""The suite's promptwork-only ``optimize:`` mapping (``answerVar``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from promptwork.errors import ConfigError
from promptwork.optimizer import plan_optimization
from promptwork.suite import load_suite

from .kit import write_sentiment_suite


def _suite(folder: Path, optimize: object) -> Path:
    """The sentiment suite checked by a regex (no reference answer in the checks), each test
    with its answer in ``gold`` and a decoy in ``other``."""
    write_sentiment_suite(folder, check={"type": "regex", "value": "^(positive|negative)$"})
    data = yaml.safe_load((folder / "promptwork.yaml").read_text())
    for test in data["tests"]:
        test["vars"]["gold"] = test["vars"].pop("label")
        test["vars"]["other"] = "neutral"
    if optimize is not None:
        data["optimize"] = optimize
    (folder / "promptwork.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def test_answer_var_from_the_suite(tmp_path: Path) -> None:
    folder = _suite(tmp_path / "s", {"answerVar": "gold"})
    assert load_suite(folder).optimize.answer_var == "gold"
    plan = plan_optimization(None, folder, budget=50)
    assert plan.reference_source == "variable gold (12)"


def test_the_option_overrides_the_suite(tmp_path: Path) -> None:
    folder = _suite(tmp_path / "s", {"answerVar": "gold"})
    plan = plan_optimization(None, folder, budget=50, answer_var="other")
    assert plan.reference_source == "variable other (12)"


def test_without_it_the_references_come_from_the_checks(tmp_path: Path) -> None:
    folder = _suite(tmp_path / "s", None)
    assert load_suite(folder).optimize.answer_var is None
    assert plan_optimization(None, folder, budget=50).reference_source == "bootstrap (12)"


@pytest.mark.parametrize(("optimize", "message"), [
    ({"answer_var": "gold"}, "unknown optimize key 'answer_var'.*answerVar"),
    ({"answerVar": 3}, "'answerVar' must be a variable name"),
    ("gold", "'optimize' must be a mapping"),
])
def test_bad_optimize_mapping_is_refused_with_its_line(
    tmp_path: Path, optimize: object, message: str
) -> None:
    folder = _suite(tmp_path / "s", optimize)
    with pytest.raises(ConfigError, match=message) as caught:
        load_suite(folder)
    assert "promptwork.yaml" in str(caught.value)

"""``gleu``: min(precision, recall) over 1- to 4-gram matches."""

from __future__ import annotations

import pytest

from promptwork.checks import CheckContext
from promptwork.checks.gleu import gleu_score
from promptwork.checks.registry import arun_check, parse_spec
from promptwork.errors import ConfigError


def test_identical_disjoint_and_empty() -> None:
    assert gleu_score("the cat sat", "The cat sat.") == 1.0
    assert gleu_score("dogs bark", "the cat sat") == 0.0
    assert gleu_score("", "the cat") == 0.0 == gleu_score(" . ", "the cat")


def test_is_the_smaller_of_precision_and_recall() -> None:
    # output "the cat": 3 n-grams (the, cat, the cat), all in the reference.
    # reference "the cat sat": 6 n-grams. precision 3/3, recall 3/6.
    assert gleu_score("the cat", "the cat sat") == pytest.approx(0.5)
    assert gleu_score("the cat sat", "the cat") == pytest.approx(0.5)  # symmetric


async def test_check_threshold_references_and_negation() -> None:
    ctx = CheckContext("the cat")
    r = await arun_check(parse_spec({"type": "gleu", "value": "the cat sat"}), ctx)
    assert r.passed and r.score == pytest.approx(0.5)
    r = await arun_check(parse_spec({"type": "gleu", "value": "the cat sat", "threshold": 0.6}),
                         ctx)
    assert not r.passed
    r = await arun_check(parse_spec({"type": "gleu", "value": ["a dog", "the cat"]}), ctx)
    assert r.score == 1.0 and "best of 2 references" in r.reason
    r = await arun_check(parse_spec({"type": "not-gleu", "value": "dogs bark"}), ctx)
    assert r.passed and r.score == 1.0


def test_bad_value_refused_at_load() -> None:
    with pytest.raises(ConfigError, match="needs a 'value'"):
        parse_spec({"type": "gleu"})
    with pytest.raises(ConfigError, match="reference text"):
        parse_spec({"type": "gleu", "value": {"a": 1}})

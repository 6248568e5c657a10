"""levenshtein, rouge-n, bleu: hand-computed values and thresholds."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from promptwork.checks import CheckContext, CheckResult, run_check
from promptwork.checks.metrics import bleu_score, levenshtein_distance, rouge_n_recall
from promptwork.checks.registry import parse_spec

CAND = "the cat sat on the mat"
REF = "the cat is on the mat"


def run(check: dict[str, Any], output: str) -> CheckResult:
    return run_check(parse_spec(check), CheckContext(output=output))


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [
        ("kitten", "sitting", 3),
        ("", "abc", 3),
        ("flaw", "lawn", 2),
        ("same", "same", 0),
        ("abcdef", "azced", 3),
    ],
)
def test_levenshtein_distance(a: str, b: str, d: int) -> None:
    assert levenshtein_distance(a, b) == d
    assert levenshtein_distance(b, a) == d


def test_levenshtein_banded_matches_full() -> None:
    rng = random.Random(0)
    for _ in range(500):
        a = "".join(rng.choice("abc") for _ in range(rng.randint(0, 10)))
        b = "".join(rng.choice("abc") for _ in range(rng.randint(0, 10)))
        full = levenshtein_distance(a, b)
        for limit in range(6):
            expected = full if full <= limit else limit + 1
            assert levenshtein_distance(a, b, limit) == expected, (a, b, limit)


def test_levenshtein_long_text_is_fast() -> None:
    assert levenshtein_distance("ab" * 5000, "ba" * 5000, 5) == 2


def test_levenshtein_check() -> None:
    assert run({"type": "levenshtein", "value": "sitting"}, "kitten").passed  # 3 <= 5
    assert not run({"type": "levenshtein", "value": "sitting", "threshold": 2}, "kitten").passed
    r = run({"type": "levenshtein", "value": "x", "threshold": 0}, "x" * 100)
    assert not r.passed and r.reason == "Levenshtein distance > 0"
    assert run({"type": "not-levenshtein", "value": "abc", "threshold": 1}, "xyz").passed


def test_rouge_recall_by_hand() -> None:
    # unigrams: the x2, cat, on, mat of the 6 reference tokens are found
    assert rouge_n_recall(CAND, REF, 1) == pytest.approx(5 / 6)
    # bigrams: "the cat", "on the", "the mat" of 5
    assert rouge_n_recall(CAND, REF, 2) == pytest.approx(3 / 5)
    # recall ignores extra candidate words; counts are clipped
    assert rouge_n_recall("the the the cat", "the cat", 1) == 1.0
    assert rouge_n_recall("the", "the the", 1) == 0.5
    assert rouge_n_recall("Cat, Mat!", "cat mat", 1) == 1.0
    assert rouge_n_recall("anything", "one", 2) == 0.0


def test_rouge_check_threshold_and_n() -> None:
    assert run({"type": "rouge-n", "value": REF}, CAND).passed  # 0.833 >= 0.75
    r = run({"type": "rouge-n", "value": REF, "config": {"n": 2}}, CAND)
    assert not r.passed and r.score == pytest.approx(0.6)
    assert run({"type": "rouge-n", "value": REF, "config": {"n": 2}, "threshold": 0.6}, CAND).passed
    neg = run({"type": "not-rouge-n", "value": REF, "config": {"n": 2}}, CAND)
    assert neg.passed and neg.score == pytest.approx(0.4)


def test_rouge_best_of_references() -> None:
    r = run({"type": "rouge-n", "value": ["zzz", REF]}, CAND)
    assert r.score == pytest.approx(5 / 6)


def test_bleu_by_hand() -> None:
    # precisions 5/6, 3/5, 1/4, (0 -> 0.1)/3; equal lengths so no brevity penalty
    expected = (5 / 6 * 3 / 5 * 1 / 4 * 0.1 / 3) ** 0.25
    assert bleu_score(CAND, [REF]) == pytest.approx(expected)
    assert bleu_score(REF, [REF]) == pytest.approx(1.0)
    assert bleu_score("", [REF]) == 0.0


def test_bleu_brevity_penalty() -> None:
    # "the cat" against a 6-word reference: p1 = p2 = 1, p3 = p4 = 0.1/1
    expected = math.exp(1 - 6 / 2) * (1 * 1 * 0.1 * 0.1) ** 0.25
    assert bleu_score("the cat", [REF]) == pytest.approx(expected)


def test_bleu_multiple_references_clip_by_max_count() -> None:
    assert bleu_score(CAND, ["zzz", REF]) > bleu_score(CAND, ["zzz"])
    assert bleu_score(REF, [CAND, REF]) == pytest.approx(1.0)


def test_bleu_check() -> None:
    assert run({"type": "bleu", "value": REF}, REF).passed
    r = run({"type": "bleu", "value": REF}, CAND)
    assert not r.passed and "< threshold 0.5" in r.reason
    assert run({"type": "bleu", "value": REF, "threshold": 0.25}, CAND).passed
    assert run({"type": "not-bleu", "value": REF}, CAND).passed


def test_rouge_bad_n_rejected_at_load() -> None:
    with pytest.raises(Exception, match="integer >= 1"):
        parse_spec({"type": "rouge-n", "value": "x", "config": {"n": 0}})

"""Judge agreement statistics against values computed by hand: accuracy, Cohen's kappa and its
analytic 95% interval (Fleiss, Cohen & Everitt's standard error), the confusion matrix."""

from __future__ import annotations

import math

import pytest

from promptwork.stats_agreement import Confusion, agreement, cohen_kappa


def test_kappa_and_its_interval_match_the_hand_computation() -> None:
    # judge x human: 20 both pass, 5 judge-only pass, 10 human-only pass, 15 both fail (n=50).
    a = cohen_kappa(Confusion(both_pass=20, judge_only=5, human_only=10, both_fail=15))
    # p_o = 35/50 = 0.7; judge passes 0.5, human 0.6: p_e = 0.5*0.6 + 0.5*0.4 = 0.5.
    assert a.n == 50 and a.accuracy == pytest.approx(0.7)
    assert a.kappa == pytest.approx(0.4)  # (0.7 - 0.5) / (1 - 0.5)
    # diagonal: 0.4*(1 - 1.1*0.6)^2 + 0.3*(1 - 0.9*0.6)^2 = 0.04624 + 0.06348 = 0.10972
    # off-diagonal: 0.6^2 * (0.1*(0.6+0.5)^2 + 0.2*(0.4+0.5)^2) = 0.36 * 0.283 = 0.10188
    # chance: (0.4 - 0.5*0.6)^2 = 0.01; Var = 0.2016 / (50 * 0.25) = 0.016128
    assert a.kappa_se == pytest.approx(math.sqrt(0.016128))
    assert a.kappa_ci95 is not None
    low, high = a.kappa_ci95
    assert low == pytest.approx(0.4 - 1.959964 * 0.126996, abs=1e-5)
    assert high == pytest.approx(0.4 + 1.959964 * 0.126996, abs=1e-5)


def test_kappa_is_the_same_with_judge_and_human_swapped() -> None:
    a = cohen_kappa(Confusion(20, 5, 10, 15))
    b = cohen_kappa(Confusion(20, 10, 5, 15))
    assert a.kappa == pytest.approx(b.kappa)
    assert a.kappa_se == pytest.approx(b.kappa_se)


def test_perfect_agreement_and_systematic_disagreement() -> None:
    perfect = cohen_kappa(Confusion(6, 0, 0, 4))
    assert perfect.accuracy == 1.0 and perfect.kappa == pytest.approx(1.0)
    assert perfect.kappa_ci95 == pytest.approx((1.0, 1.0))
    opposite = cohen_kappa(Confusion(0, 5, 5, 0))
    assert opposite.accuracy == 0.0 and opposite.kappa == pytest.approx(-1.0)
    assert opposite.kappa_ci95 is not None and opposite.kappa_ci95[0] == -1.0  # clipped


def test_chance_level_agreement_has_kappa_zero() -> None:
    # Judge passes half, human passes half, independently: p_o = p_e = 0.5.
    a = cohen_kappa(Confusion(10, 10, 10, 10))
    assert a.kappa == pytest.approx(0.0) and a.accuracy == 0.5
    assert a.kappa_ci95 is not None and a.kappa_ci95[0] < 0 < a.kappa_ci95[1]


def test_kappa_is_undefined_with_one_verdict_everywhere_or_no_cells() -> None:
    same = cohen_kappa(Confusion(both_pass=7))
    assert same.accuracy == 1.0 and same.kappa is None and same.kappa_ci95 is None
    empty = cohen_kappa(Confusion())
    assert (empty.n, empty.accuracy, empty.kappa) == (0, None, None)
    assert empty.to_dict()["kappa_ci95"] is None


def test_pairs_are_counted_into_the_confusion_matrix() -> None:
    pairs = [(True, True)] * 3 + [(True, False)] * 2 + [(False, True)] + [(False, False)] * 4
    a = agreement(pairs)
    assert a.confusion == Confusion(both_pass=3, judge_only=2, human_only=1, both_fail=4)
    # p_o = 0.7; judge passes 0.5, human 0.4: p_e = 0.2 + 0.3 = 0.5 -> kappa 0.4
    assert a.kappa == pytest.approx(0.4)
    assert a.to_dict()["confusion"] == {"both_pass": 3, "judge_pass_human_fail": 2,
                                        "judge_fail_human_pass": 1, "both_fail": 4}

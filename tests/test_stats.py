"""Statistics against values computed by hand (or with the textbook formulas)."""

from __future__ import annotations

import math

import pytest

from promptwork.stats import (
    accuracy,
    compare_pass_fail,
    confusion_matrix,
    macro_f1,
    mcnemar_exact,
    paired_bootstrap,
    percentile,
    wilson_interval,
)


class TestWilson:
    def test_8_of_10(self) -> None:
        # p=0.8, z=1.959964: center 0.71683, margin 0.22667 (standard textbook example).
        low, high = wilson_interval(8, 10)
        assert low == pytest.approx(0.4902, abs=1e-4)
        assert high == pytest.approx(0.9433, abs=1e-4)

    def test_extremes_stay_in_unit_interval(self) -> None:
        low, high = wilson_interval(0, 10)
        assert low == 0.0
        assert high == pytest.approx(0.2775, abs=1e-4)  # z^2/(n+z^2) = 3.8415/13.8415
        low, high = wilson_interval(10, 10)
        assert high == 1.0
        assert low == pytest.approx(0.7225, abs=1e-4)

    def test_higher_confidence_is_wider(self) -> None:
        l95, h95 = wilson_interval(30, 50)
        l99, h99 = wilson_interval(30, 50, confidence=0.99)
        assert l99 < l95 < 0.6 < h95 < h99

    def test_no_trials(self) -> None:
        assert wilson_interval(0, 0) == (0.0, 1.0)

    @pytest.mark.parametrize(("s", "n", "conf"), [(5, 3, 0.95), (-1, 3, 0.95), (1, 3, 1.0)])
    def test_bad_input(self, s: int, n: int, conf: float) -> None:
        with pytest.raises(ValueError):
            wilson_interval(s, n, conf)


class TestMcNemar:
    def test_known_value(self) -> None:
        # 2 * (C(10,0) + C(10,1)) / 2^10 = 22/1024
        assert mcnemar_exact(1, 9) == pytest.approx(0.0215, abs=1e-4)
        assert mcnemar_exact(1, 9) == 22 / 1024
        assert mcnemar_exact(9, 1) == mcnemar_exact(1, 9)

    def test_balanced_is_one(self) -> None:
        assert mcnemar_exact(0, 0) == 1.0
        assert mcnemar_exact(5, 5) == 1.0

    def test_all_one_side(self) -> None:
        assert mcnemar_exact(0, 5) == 2 / 32

    def test_large_counts_do_not_underflow(self) -> None:
        p = mcnemar_exact(600, 400)
        assert 0.0 < p < 1e-9
        assert mcnemar_exact(2000, 2000) == 1.0

    def test_negative(self) -> None:
        with pytest.raises(ValueError):
            mcnemar_exact(-1, 2)


class TestComparePassFail:
    def test_b_better(self) -> None:
        # 12 fixes, 3 regressions: 2 * sum(C(15, 0..3)) / 2^15 = 2 * 576 / 32768
        a = [False] * 12 + [True] * 3 + [True] * 10 + [False] * 5
        b = [True] * 12 + [False] * 3 + [True] * 10 + [False] * 5
        r = compare_pass_fail(a, b)
        assert (r.b, r.c, r.fixes, r.regressions) == (3, 12, 12, 3)
        assert r.p_value == pytest.approx(1152 / 32768)
        assert r.significant
        assert r.verdict == "B is better: 12 fixes, 3 regressions, p=0.035"
        assert (r.n, r.a_passed, r.b_passed) == (30, 13, 22)
        assert r.to_dict()["fixes"] == 12

    def test_a_better(self) -> None:
        r = compare_pass_fail([True] * 9 + [False], [False] * 9 + [True])
        assert r.significant
        assert r.verdict.startswith("A is better: 1 fix, 9 regressions, p=0.021")

    def test_no_difference(self) -> None:
        r = compare_pass_fail([True, False, True, True], [True, True, False, True])
        assert not r.significant
        assert r.verdict == "no significant difference (p=1)"

    def test_length_mismatch(self) -> None:
        with pytest.raises(ValueError):
            compare_pass_fail([True], [True, False])


class TestPairedBootstrap:
    def test_identical(self) -> None:
        r = paired_bootstrap([0.5, 0.7, 0.1], [0.5, 0.7, 0.1], n_resamples=500)
        assert r.mean_diff == 0.0
        assert r.low == r.high == 0.0
        assert r.p_value == 1.0

    def test_clear_improvement(self) -> None:
        a = [i / 40 for i in range(40)]
        b = [x + 0.2 + (0.05 if i % 2 else -0.05) for i, x in enumerate(a)]
        r = paired_bootstrap(a, b, n_resamples=2000, seed=1)
        assert r.mean_diff == pytest.approx(0.2)
        assert 0.0 < r.low < 0.2 < r.high
        assert r.p_value == pytest.approx(2 / 2001)

    def test_noise_is_not_significant(self) -> None:
        a = [0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0]
        b = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0]
        r = paired_bootstrap(a, b, n_resamples=2000)
        assert r.mean_diff == 0.0
        assert r.low < 0.0 < r.high
        assert r.p_value > 0.5

    def test_reproducible_by_seed(self) -> None:
        a, b = [0.1, 0.4, 0.3, 0.9], [0.2, 0.3, 0.8, 0.9]
        assert paired_bootstrap(a, b, n_resamples=300, seed=3) == paired_bootstrap(
            a, b, n_resamples=300, seed=3
        )

    def test_bad_input(self) -> None:
        with pytest.raises(ValueError):
            paired_bootstrap([], [])
        with pytest.raises(ValueError):
            paired_bootstrap([1.0], [1.0, 2.0])


class TestPercentile:
    def test_linear_interpolation(self) -> None:
        assert percentile([1, 2, 3, 4], 50) == 2.5
        assert percentile(range(1, 101), 95) == pytest.approx(95.05)  # numpy's default
        assert percentile([10, 20], 0) == 10
        assert percentile([10, 20], 100) == 20
        assert percentile([7], 95) == 7

    def test_unsorted_input(self) -> None:
        assert percentile([300, 100, 200], 50) == 200

    def test_bad_input(self) -> None:
        with pytest.raises(ValueError):
            percentile([], 50)
        with pytest.raises(ValueError):
            percentile([1], 101)


class TestClassification:
    TRUE = ["a", "a", "b", "b", "c"]
    PRED = ["a", "b", "b", "b", "a"]

    def test_accuracy(self) -> None:
        assert accuracy(self.TRUE, self.PRED) == 3 / 5

    def test_confusion_matrix(self) -> None:
        labels, m = confusion_matrix(self.TRUE, self.PRED)
        assert labels == ["a", "b", "c"]
        assert m == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]

    def test_confusion_matrix_with_label_order(self) -> None:
        labels, m = confusion_matrix(["x", "y"], ["y", "y"], labels=["y", "x"])
        assert labels == ["y", "x"]
        assert m == [[1, 0], [1, 0]]

    def test_macro_f1(self) -> None:
        # a: P=1/2 R=1/2 F=0.5; b: P=2/3 R=1 F=0.8; c: F=0
        assert macro_f1(self.TRUE, self.PRED) == pytest.approx((0.5 + 0.8 + 0.0) / 3)
        assert macro_f1(["x", "y"], ["x", "y"]) == 1.0

    def test_invented_label_lowers_macro_f1(self) -> None:
        assert macro_f1(["x", "x"], ["x", "z"]) == pytest.approx((2 / 3 + 0) / 2)

    def test_mixed_label_types(self) -> None:
        labels, _ = confusion_matrix([1, "a"], ["a", 1])
        assert set(labels) == {1, "a"}

    def test_errors(self) -> None:
        with pytest.raises(ValueError):
            accuracy([], [])
        with pytest.raises(ValueError):
            macro_f1(["a"], ["a", "b"])


def test_no_float_surprises() -> None:
    assert math.isfinite(wilson_interval(1, 10**9)[1])

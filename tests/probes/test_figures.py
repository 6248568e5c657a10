"""Probe figures against values computed by hand."""

from __future__ import annotations

import math

import pytest

from promptwork.probes.figures import paired_figures, rate_figures, verdict


def test_flip_rate_interval_and_mcnemar_match_hand_computed_values() -> None:
    # 20 pairs: 5 pass->fail, 1 fail->pass, 14 unchanged. Flip rate 6/20 = 0.3.
    pairs = [(True, False)] * 5 + [(False, True)] + [(True, True)] * 10 + [(False, False)] * 4
    f = paired_figures(pairs, "changed")
    assert (f.n, f.lost, f.gained) == (20, 5, 1)
    assert f.rate == pytest.approx(0.3)
    # Wilson 95% for 6/20, by hand: z=1.959964; centre (0.3 + z²/40)/(1 + z²/20) = 0.3437...
    z = 1.959963984540054
    centre = (0.3 + z * z / 40) / (1 + z * z / 20)
    half = z * math.sqrt(0.3 * 0.7 / 20 + z * z / 1600) / (1 + z * z / 20)
    assert f.low == pytest.approx(centre - half) and f.low == pytest.approx(0.1455, abs=1e-4)
    assert f.high == pytest.approx(centre + half) and f.high == pytest.approx(0.5190, abs=1e-4)
    # McNemar exact, b=5, c=1: 2 * (C(6,0) + C(6,1)) / 2^6 = 14/64.
    assert f.p_value == pytest.approx(14 / 64)


def test_derived_rate_counts_the_derived_side() -> None:
    f = paired_figures([(False, True), (False, True), (False, False), (True, True)], "derived")
    assert f.rate == pytest.approx(3 / 4)
    assert f.p_value == pytest.approx(0.5)  # b=0, c=2: 2 * 1/4


def test_no_pairs_says_nothing_is_known() -> None:
    f = paired_figures([], "changed")
    assert (f.n, f.rate, f.low, f.high, f.p_value) == (0, 0.0, 0.0, 1.0, None)
    assert rate_figures(0, 10).low == 0.0


def test_verdict_fails_only_over_the_threshold() -> None:
    assert verdict(0.1, 0.1) is True
    assert verdict(0.11, 0.1) is False
    assert verdict(0.5, None) is None

"""``max-score``: deciding the best of one test's outputs from their other checks' scores."""

from __future__ import annotations

from typing import Any

import pytest

from promptwork.checks import CheckContext, CheckResult, CheckSpec
from promptwork.checks.registry import arun_check, parse_spec
from promptwork.checks.selection import aggregate_score, decide_max_score, max_score_results
from promptwork.errors import ConfigError


def graded(*pairs: tuple[str, float]) -> list[tuple[CheckSpec, CheckResult]]:
    return [
        (parse_spec({"type": t, "value": "x"} if t != "is-json" else {"type": t}),
         CheckResult(s >= 0.5, s, "", check_type=t))
        for t, s in pairs
    ]


class TestDecide:
    def test_highest_wins_first_on_a_tie(self) -> None:
        assert decide_max_score([0.2, 0.9, 0.5]) == 1
        assert decide_max_score([0.7, 0.7]) == 0

    def test_errored_cells_are_skipped(self) -> None:
        assert decide_max_score([None, 0.1]) == 1
        assert decide_max_score([None, None]) is None

    def test_threshold(self) -> None:
        assert decide_max_score([0.6, 0.65], threshold=0.7) is None
        assert decide_max_score([0.6, 0.75], threshold=0.7) == 1


class TestAggregate:
    def test_weights_per_type_and_methods(self) -> None:
        outputs = graded(("python", 1.0), ("llm-rubric", 0.5), ("contains", 1.0))
        spec = parse_spec({"type": "max-score", "value": {"weights": {"python": 3}}})
        assert aggregate_score(spec, outputs) == pytest.approx((3 + 0.5 + 1) / 5)
        summed = parse_spec({"type": "max-score", "value": {"method": "sum"}})
        assert aggregate_score(summed, outputs) == pytest.approx(2.5)

    def test_cross_output_checks_are_left_out(self) -> None:
        spec = parse_spec({"type": "max-score"})
        outputs = [
            *graded(("contains", 0.0)),
            (parse_spec({"type": "select-best", "value": "x"}), CheckResult(True, 1.0, "")),
        ]
        assert aggregate_score(spec, outputs) == 0.0


class TestResults:
    def test_winner_passes_the_rest_fail(self) -> None:
        spec = parse_spec({"type": "max-score", "metric": "best"})
        results = max_score_results(
            spec, [graded(("contains", 0.0)), None, graded(("contains", 1.0))]
        )
        first, errored, third = results
        assert errored is None
        assert first is not None and not first.passed and first.score == 0.0
        assert third is not None and third.passed and third.score == 1.0
        assert third.check_type == "max-score" and third.metric == "best"
        assert "1: 0.000, 2: error, 3: 1.000" in third.reason

    def test_no_other_checks(self) -> None:
        results = max_score_results(parse_spec({"type": "max-score"}), [[], []])
        assert all(r is not None and not r.passed and "needs other checks" in r.reason
                   for r in results)

    def test_below_threshold_nobody_wins(self) -> None:
        spec = parse_spec({"type": "max-score", "value": {"threshold": 0.9}})
        results = max_score_results(spec, [graded(("contains", 0.5)), graded(("contains", 0.6))])
        assert all(r is not None and not r.passed and "threshold 0.9" in r.reason
                   for r in results)

    async def test_one_cell_alone_cannot_decide(self) -> None:
        r = await arun_check(parse_spec({"type": "max-score"}), CheckContext("x"))
        assert not r.passed and "one output alone cannot decide it" in r.reason


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"type": "not-max-score"}, "cannot be negated"),
        ({"type": "max-score", "value": "best"}, "must be a mapping"),
        ({"type": "max-score", "value": {"method": "median"}}, "'method' must be"),
        ({"type": "max-score", "value": {"weights": {"python": -1}}}, "'weights' must map"),
        ({"type": "max-score", "value": {"top": 1}}, "unknown option"),
    ],
)
def test_bad_config_refused_at_load(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_spec(spec)

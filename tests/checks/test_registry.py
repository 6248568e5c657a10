"""Spec validation, run_check semantics, aggregation, plugins."""

from __future__ import annotations

from typing import Any

import pytest

from promptwork.checks import (
    CheckContext,
    CheckResult,
    CheckSpec,
    aggregate,
    get_check,
    known_types,
    named_scores,
    register,
    registry,
    run_check,
)
from promptwork.checks.errors import GradingError
from promptwork.checks.registry import parse_spec
from promptwork.errors import ConfigError


def spec(**d: Any) -> CheckSpec:
    return parse_spec(d)


class TestSpec:
    def test_parse(self) -> None:
        s = spec(type="not-contains", value="x", threshold=1, weight=2, metric="m", config={"a": 1})
        assert (s.type, s.negate, s.value, s.threshold, s.weight, s.metric) == (
            "contains",
            True,
            "x",
            1.0,
            2.0,
            "m",
        )
        assert s.name == "not-contains"
        assert s.to_dict() == {
            "type": "not-contains",
            "value": "x",
            "threshold": 1.0,
            "weight": 2.0,
            "metric": "m",
            "config": {"a": 1},
        }
        assert parse_spec(s.to_dict()) == s

    def test_unknown_type_suggests(self) -> None:
        with pytest.raises(ConfigError) as info:
            parse_spec({"type": "icontain", "value": "x"}, where="suite.yaml: tests[0]")
        msg = str(info.value)
        assert msg.startswith("suite.yaml: tests[0]: unknown check type 'icontain'")
        assert "did you mean 'icontains'" in msg and "known checks: answer-relevance, bleu" in msg

    def test_unknown_negated_type_suggests(self) -> None:
        with pytest.raises(ConfigError, match="did you mean 'regex'"):
            spec(type="not-regx", value="a")

    def test_judge_and_similarity_checks_registered(self) -> None:
        for name in ("llm-rubric", "factuality", "model-graded-closedqa", "select-best"):
            assert spec(type=name, value="is polite").type == name
        assert spec(type="not-similar", value="hi").negate

    @pytest.mark.parametrize(
        ("d", "match"),
        [
            ({"value": "x"}, "needs a 'type'"),
            ({"type": "contains"}, "needs a 'value'"),
            ({"type": "contains", "vaule": "x"}, "unknown key 'vaule'.*did you mean 'value'"),
            ({"type": "contains", "value": "x", "weight": -1}, "weight"),
            ({"type": "contains", "value": "x", "threshold": "high"}, "threshold"),
            ({"type": "contains", "value": "x", "metric": 3}, "metric"),
            ({"type": "contains", "value": "x", "config": [1]}, "config"),
            ({"type": "regex", "value": "(unclosed"}, "invalid regular expression"),
            ({"type": "contains", "value": "{{ oops"}, "bad template"),
            ({"type": "contains", "value": "x", "transform": 3}, "must be JavaScript code"),
            ({"type": "contains", "value": "x", "transform": "file://t.rb"}, "a .py or .js"),
            ({"type": "python", "value": ["x"]}, "Python expression"),
        ],
    )
    def test_invalid(self, d: dict[str, Any], match: str) -> None:
        with pytest.raises(ConfigError, match=match):
            parse_spec(d)

    def test_not_a_mapping(self) -> None:
        with pytest.raises(ConfigError, match="must be a mapping"):
            parse_spec("contains")

    def test_provider_and_rubric_kept_in_config(self) -> None:
        s = spec(type="contains", value="x", provider="echo", rubricPrompt="r")
        assert s.config == {"provider": "echo", "rubricPrompt": "r"}


class TestRunCheck:
    def test_metric_and_type_filled_in(self) -> None:
        r = run_check(spec(type="contains", value="a", metric="has-a"), CheckContext("abc"))
        assert (r.passed, r.metric, r.check_type) == (True, "has-a", "contains")

    def test_value_rendered_with_vars(self) -> None:
        s = spec(type="equals", value="Hello {{ name | title }}!")
        assert run_check(s, CheckContext("Hello Ada!", vars={"name": "ada"})).passed

    def test_missing_var_is_a_failed_result(self) -> None:
        r = run_check(spec(type="contains", value="{{ city }}"), CheckContext("x", vars={"a": 1}))
        assert not r.passed and r.score == 0.0
        assert "undefined variable city" in r.reason and "this test's vars: a" in r.reason

    def test_values_are_data_not_templates(self) -> None:
        # A var whose value looks like a template is inserted literally.
        s = spec(type="contains", value="{{ x }}")
        assert run_check(s, CheckContext("say {{7*7}}", vars={"x": "{{7*7}}"})).passed

    def test_exception_in_check_is_an_error_not_a_verdict(self) -> None:
        def boom(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
            raise RuntimeError("kaput")

        register("boom", boom)
        try:
            s = spec(type="not-boom")
            with pytest.raises(GradingError) as info:
                run_check(s, CheckContext("x"))
            assert info.value.kind == "check" and "not-boom" in info.value.message
            assert "RuntimeError: kaput" in (info.value.detail or "")
        finally:
            registry._registered.pop("boom")

    def test_check_returning_wrong_type(self) -> None:
        register("bad", lambda s, c: True)  # type: ignore[arg-type,return-value]
        try:
            with pytest.raises(GradingError, match="expected CheckResult"):
                run_check(spec(type="bad"), CheckContext("x"))
        finally:
            registry._registered.pop("bad")

    def test_negation_inverts_scored_check(self) -> None:
        s = spec(type="not-python", value="0.3", threshold=0.5)
        r = run_check(s, CheckContext("x"))
        assert r.passed and r.score == pytest.approx(0.7)


class TestAggregate:
    def _pair(self, passed: bool, score: float, weight: float = 1.0, metric: str | None = None,
              ) -> tuple[CheckSpec, CheckResult]:
        s = CheckSpec("contains", value="x", weight=weight, metric=metric)
        return s, CheckResult(passed, score, "r", metric=metric, check_type="contains")

    def test_all_pass_weighted_mean(self) -> None:
        r = aggregate([self._pair(True, 1.0, 3), self._pair(True, 0.5, 1)])
        assert r.passed and r.score == pytest.approx((3 * 1.0 + 0.5) / 4)
        assert r.reason == "all 2 checks passed" and len(r.components) == 2

    def test_one_failure_fails_the_test(self) -> None:
        r = aggregate([self._pair(True, 1.0), self._pair(False, 0.0)])
        assert not r.passed and r.score == 0.5 and r.reason == "contains: r"

    def test_weight_zero_counts_for_pass_but_not_score(self) -> None:
        r = aggregate([self._pair(True, 1.0, 1), self._pair(False, 0.0, 0)])
        assert not r.passed and r.score == 1.0
        assert aggregate([self._pair(True, 1.0, 0)]).score == 0.0

    def test_empty(self) -> None:
        r = aggregate([])
        assert r.passed and r.score == 1.0

    def test_named_scores(self) -> None:
        pairs = [
            self._pair(True, 1.0, 1, "tone"),
            self._pair(False, 0.0, 3, "tone"),
            self._pair(True, 1.0, 1, "facts"),
            self._pair(True, 1.0, 1),
        ]
        assert named_scores(pairs) == {"tone": 0.25, "facts": 1.0}

    def test_end_to_end(self) -> None:
        ctx = CheckContext('{"city": "Paris"}', vars={"city": "Paris"})
        specs = [
            spec(type="is-json"),
            spec(type="contains", value="{{ city }}", weight=2),
            spec(type="not-icontains", value="london"),
            spec(type="levenshtein", value="{}", weight=0),  # fails, weight 0
        ]
        r = aggregate([(s, run_check(s, ctx)) for s in specs])
        assert not r.passed and r.score == 1.0
        assert r.reason.startswith("levenshtein: Levenshtein distance")


class TestRegistry:
    def test_builtins_resolve(self) -> None:
        for name in registry.BUILTIN:
            assert callable(get_check(name))

    def test_known_types(self) -> None:
        names = known_types()
        assert names == sorted(names)
        assert {"contains", "is-json", "python", "bleu", "latency"} <= set(names)
        assert not any(n.startswith("not-") for n in names)

    def test_unknown_name(self) -> None:
        with pytest.raises(ConfigError, match="did you mean 'regex'"):
            get_check("regexp")

    def test_register_rejects_not_prefix(self) -> None:
        with pytest.raises(ValueError):
            register("not-x", lambda s, c: CheckResult(True, 1.0, ""))

    def test_entry_point_plugins(self, monkeypatch: pytest.MonkeyPatch) -> None:
        class FakeEntryPoint:
            name = "shouty"

            def load(self) -> Any:
                return lambda s, c: CheckResult(c.output.isupper(), 1.0, "upper?")

        monkeypatch.setattr(registry, "_plugins", lambda: {"shouty": FakeEntryPoint()})
        monkeypatch.setattr(registry, "_loaded", {})
        assert "shouty" in known_types()
        assert run_check(spec(type="shouty"), CheckContext("HEY")).passed
        assert run_check(spec(type="not-shouty"), CheckContext("hey")).passed

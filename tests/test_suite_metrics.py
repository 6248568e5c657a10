"""``derivedMetrics`` (arithmetic over named metrics, evaluated safely) and
``assertionTemplates`` referenced by ``$ref``."""

from __future__ import annotations

from pathlib import Path

import pytest

import promptwork as pw
from promptwork.derived import DerivedReport, Undefined, evaluate, parse_expression
from promptwork.errors import ConfigError
from promptwork.runner import RunConfig
from promptwork.suite import load_suite

SUITE = """\
prompts: ['{{ text }}']
providers: [echo]
assertionTemplates:
  says_good:
    type: icontains
    value: good
    metric: tp
defaultTest:
  assert:
    - $ref: "#/assertionTemplates/says_good"
    - {$ref: "#/assertionTemplates/says_good", value: bad, metric: fp}
tests:
  - vars: {text: good}
  - vars: {text: good}
  - vars: {text: bad}
  - vars: {text: neither}
derivedMetrics:
  - name: precision
    value: tp / (tp + fp)
  - name: twice
    value: 2 * precision
  - name: broken
    value: tp / (fp - fp)
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_templates_expand_and_derived_metrics_are_computed(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, SUITE))
    first = next(iter(suite.tests))
    assert [(c.type, c.value, c.metric) for c in first.checks] == [
        ("icontains", "good", "tp"), ("icontains", "bad", "fp")]
    run = pw.evaluate(suite, config=RunConfig(use_cache=False))
    derived = {r.name: r for r in run.dataset_metrics() if isinstance(r, DerivedReport)}
    assert derived["precision"].value == pytest.approx(2 / 3)  # tp 2, fp 1
    assert derived["twice"].value == pytest.approx(4 / 3)
    assert derived["broken"].value is None and derived["broken"].reason == "division by zero"


@pytest.mark.parametrize(("expression", "expected"), [
    ("(namedScores) => namedScores.a", "JavaScript functions cannot run here"),
    ("__import__('os').system('x')", "only min, max, abs, sqrt, round may be called"),
    ("a.__class__", "Attribute is not arithmetic"),
    ("'text'", "only numbers and metric names"),
    ("a <", "bad expression"),
    ("a if b else c", "IfExp is not arithmetic"),
])
def test_expressions_are_arithmetic_only(expression: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_expression(expression)
    assert expected in info.value.message


def test_evaluation() -> None:
    tree = parse_expression("max(a, b) ** 2 + sqrt(c) - -1")
    assert evaluate(tree, {"a": 1, "b": 3, "c": 16}) == 9 + 4 + 1
    with pytest.raises(Undefined, match="no check has metric 'c'"):
        evaluate(tree, {"a": 1, "b": 2})
    with pytest.raises(Undefined, match="exponent too large"):
        evaluate(parse_expression("a ** 100000"), {"a": 2})


@pytest.mark.parametrize(("extra", "line", "expected"), [
    ("derivedMetrics:\n  - {name: ok, value: a}\n  - {name: p, value: 'a +'}\n", 3,
     "derivedMetrics[1] (p): bad expression"),
    ("derivedMetrics:\n  - {name: p, value: a, when: now}\n", 2, "unknown key 'when'"),
    ("assertionTemplates: {t: {value: x}}\n", 1, "a mapping with a 'type'"),
])
def test_bad_definitions_are_load_errors(
    tmp_path: Path, extra: str, line: int, expected: str
) -> None:
    base = "prompts: [x]\nproviders: [echo]\ntests: [{vars: {}}]\n"
    with pytest.raises(ConfigError) as info:
        load_suite(write(tmp_path, base + extra))
    assert expected in info.value.message
    assert info.value.line == line + 3


def test_bad_references_are_located(tmp_path: Path) -> None:
    text = ("prompts: [x]\nassertionTemplates: {a: {type: contains, value: x}}\n"
            "tests:\n  - vars: {}\n    assert:\n      - $ref: '#/assertionTemplates/b'\n")
    with pytest.raises(ConfigError) as info:
        load_suite(write(tmp_path, text))
    assert info.value.line == 6
    assert "points at nothing; assertionTemplates: a" in info.value.message
    cyclic = ("prompts: [x]\nassertionTemplates: {a: {$ref: '#/assertionTemplates/a'}}\n"
              "tests: [{vars: {}}]\n")
    with pytest.raises(ConfigError, match="refers to itself"):
        load_suite(write(tmp_path, cyclic))
    other_file = "prompts: [x]\ntests: [{vars: {}, assert: [{$ref: 'other.yaml#/a'}]}]\n"
    with pytest.raises(ConfigError, match="only references inside the suite"):
        load_suite(write(tmp_path, other_file))


def test_derived_metrics_reach_the_json_and_html_exports(tmp_path: Path) -> None:
    import json

    from promptwork.report.export import export

    run = pw.evaluate(load_suite(write(tmp_path, SUITE)), config=RunConfig(use_cache=False))
    paths = {}
    for ext in ("json", "html"):
        paths[ext] = export(tmp_path / f"out.{ext}", run.record, run.rows(), run.prompt_labels,
                            run.provider_labels, run.columns())
    data = json.loads(paths["json"].read_text())
    # promptfoo's place: the prompt's metrics.namedScores, next to the metrics summed there.
    [prompt] = data["results"]["prompts"]
    named = prompt["metrics"]["namedScores"]
    assert named["precision"] == pytest.approx(2 / 3)
    assert named["twice"] == pytest.approx(4 / 3)
    assert "broken" not in named  # undefined: listed with its reason below instead
    listed = {d["name"]: d for d in data["promptwork"]["derived_metrics"]}
    assert listed["broken"]["value"] is None and listed["broken"]["reason"] == "division by zero"
    assert listed["precision"]["expression"] == "tp / (tp + fp)"
    page = paths["html"].read_text()
    assert "<h2>Derived metrics</h2>" in page
    assert "0.6667" in page and "1.333" in page
    assert "undefined (division by zero)" in page and "tp / (tp + fp)" in page


def test_a_suite_without_derived_metrics_exports_none(tmp_path: Path) -> None:
    import json

    from promptwork.report.export import export

    text = SUITE[:SUITE.index("derivedMetrics:")]
    run = pw.evaluate(load_suite(write(tmp_path, text)), config=RunConfig(use_cache=False))
    out = export(tmp_path / "out.json", run.record, run.rows(), run.prompt_labels,
                 run.provider_labels, run.columns())
    data = json.loads(out.read_text())
    assert data["promptwork"]["derived_metrics"] == []
    assert set(data["results"]["prompts"][0]["metrics"]["namedScores"]) == {"tp", "fp"}
    html = export(tmp_path / "out.html", run.record, run.rows(), run.prompt_labels,
                  run.provider_labels, run.columns()).read_text()
    assert "Derived metrics" not in html

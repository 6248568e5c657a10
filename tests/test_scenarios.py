"""promptfoo's ``scenarios:``: every config entry crossed with every test of its scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit import isolate_env, write_suite
from promptwork.errors import ConfigError
from promptwork.evaluation import evaluate
from promptwork.runner import RunConfig
from promptwork.suite import load_suite


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


SUITE = {
    "prompts": ["Translate into {{ language }}: {{ input }}"],
    "providers": ["echo"],
    "tests": [{"vars": {"language": "Latin", "input": "own test"}}],
    "scenarios": [{
        "config": [
            {"vars": {"language": "Spanish", "hello": "Hola"}},
            {"vars": {"language": "French", "hello": "Bonjour"},
             "assert": [{"type": "icontains", "value": "{{ language }}"}]},
        ],
        "tests": [
            {"description": "hello", "vars": {"input": "Hello"},
             "assert": [{"type": "contains", "value": "Hello"}]},
            {"description": "morning", "vars": {"input": "Good morning", "language": "Basque"}},
        ],
    }],
    "evaluateOptions": {"showProgressBar": False},
}


def test_each_config_entry_meets_each_test_after_the_suites_own_tests(tmp_path: Path) -> None:
    tests = list(load_suite(write_suite(tmp_path, SUITE)).tests)
    assert [t.vars["language"] for t in tests] == ["Latin", "Spanish", "Basque", "French",
                                                    "Basque"]
    assert [t.vars["input"] for t in tests] == ["own test", "Hello", "Good morning", "Hello",
                                                "Good morning"]
    assert tests[1].vars["hello"] == "Hola" and tests[3].vars["hello"] == "Bonjour"
    assert [len(t.checks) for t in tests] == [0, 1, 0, 2, 1]  # the config's checks come first
    assert tests[3].checks[0].type == "icontains" and tests[3].checks[1].type == "contains"


def test_scenario_tests_run_and_are_graded(tmp_path: Path) -> None:
    run = evaluate(write_suite(tmp_path, SUITE), config=RunConfig(use_cache=False))
    rows = sorted(run.rows(), key=lambda r: r["test_idx"])
    assert len(rows) == 5 and all(r["error"] is None for r in rows)
    assert rows[3]["output"] == "Translate into French: Hello" and rows[3]["grading"]["pass"]
    # The config's check is rendered with the test's variables: the test's language wins.
    assert rows[4]["output"] == "Translate into Basque: Good morning"
    [check] = rows[4]["grading"]["components"]
    assert check["pass"] and "Basque" in check["reason"]


@pytest.mark.parametrize("scenarios, message", [
    ("not a list", "'scenarios' must be a list"),
    (["file://scenario.yaml"], "a scenario must be a mapping"),
    ([{"config": [{"vars": {}}], "tests": [{}], "extra": 1}], "unknown scenario key 'extra'"),
    ([{"config": ["x"], "tests": [{}]}], "config entry must be a mapping"),
])
def test_bad_scenarios_are_refused_with_their_line(
    tmp_path: Path, scenarios: object, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_suite(write_suite(tmp_path, {**SUITE, "scenarios": scenarios}))
    assert message in str(info.value) and "promptwork.yaml:" in str(info.value)

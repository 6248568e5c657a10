"""Every key promptfoo's configuration reference documents is either accepted or refused by
name when the suite loads, before any model call; none is silently ignored.

The lists below are written from promptfoo's reference (site/docs/configuration/reference.md,
guide.md, prompts.md, test-cases.md): top-level keys, test keys, test options, assertion keys,
provider options, prompt keys, evaluateOptions and defaultTest. A key that is accepted is acted
on (the tests named next to it show how) or, for the few marked "no effect", documented in the
README as changing nothing in the results. Moving a key from one list to the other means
changing the README's "read as is" sentence too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from promptwork.errors import ConfigError
from promptwork.suite import load_suite

BASE: dict[str, Any] = {"prompts": ["Say {{ w }}"], "providers": ["echo"],
                        "tests": [{"vars": {"w": "hi"}}]}

#: section -> key -> (sample value, accepted?). Accepted keys and where they are acted on:
#: targets (test_suite_keys), derivedMetrics / assertionTemplates (test_suite_metrics),
#: storeOutputAs / prefix / suffix (test_suite_chaining), options.provider (test_suite_keys).
TOP: dict[str, tuple[Any, bool]] = {
    "description": ("d", True),
    "tags": ({"env": "prod"}, True),             # descriptive, no effect
    "metadata": ({"team": "a"}, True),           # descriptive, no effect
    "targets": None,  # type: ignore[dict-item]  # filled below (replaces providers)
    "outputPath": ("out.json", True),
    "evaluateOptions": ({"maxConcurrency": 2}, True),
    "sharing": (False, True),                    # promptwork never uploads: no effect
    "derivedMetrics": ([{"name": "r", "value": "a / 2"}], True),
    "assertionTemplates": ({"t": {"type": "contains", "value": "x"}}, True),
    "env": ({"OPENAI_API_KEY": "x"}, True),              # set for the run (test_suiteenv.py)
    "extensions": (["file://t.py:fn"], True),    # hooks: tests/test_extensions.py
    "nunjucksFilters": ({"up": "file://up.js"}, True),  # tests/test_suitefilters.py
    "scenarios": ([{"config": [{"vars": {}}], "tests": [{}]}], True),  # test_scenarios.py
    "commandLineOptions": ({"maxConcurrency": 2}, True),  # tests/test_cmdoptions.py
    "redteam": ({"plugins": []}, False),
    "tracing": ({"enabled": True}, False),
    "writeLatestResults": (True, False),
}
TOP.pop("targets")

TEST: dict[str, tuple[Any, bool]] = {
    "description": ("d", True),
    "vars": ({"w": "x"}, True),
    "assert": ([{"type": "contains", "value": "x"}], True),
    "threshold": (0.5, True),
    "metadata": ({"k": "v"}, True),
    "options": ({"prefix": "p"}, True),
    "provider": ("echo", False),
    "providerOutput": ("x", False),
    "assertScoringFunction": ("file://s.py:f", False),
}

OPTIONS: dict[str, tuple[Any, bool]] = {
    "transform": ("file://t.py:fn", True),
    "prefix": ("p: ", True),
    "suffix": (" :s", True),
    "provider": ({"text": "echo", "embedding": "echo"}, True),
    "runSerially": (True, True),                 # scheduling hint, no effect on results
    "storeOutputAs": ("reply", True),
    "rubricPrompt": ("Grade: {{ output }}", True),
    "disableVarExpansion": (True, True),
    "disableConversationVar": (True, True),      # there is no _conversation var to disable
    "transformVars": ("{ ...vars }", True),      # tests/datasets/test_transformvars.py
    "postprocess": ("output", False),
}

ASSERTION: dict[str, tuple[Any, bool]] = {
    "type": ("contains", True),
    "value": ("x", True),
    "threshold": (0.5, True),
    "weight": (2, True),
    "metric": ("m", True),
    "provider": ("echo", True),
    "rubricPrompt": ("Grade {{ output }}", True),
    "transform": ("file://t.py:fn", True),
    "config": ({}, True),
}

PROVIDER: dict[str, tuple[Any, bool]] = {
    "id": ("echo", True),
    "label": ("l", True),
    "config": ({"temperature": 0}, True),
    "prompts": (["Say {{ w }}"], True),
    "delay": (10, True),
    "transform": ("output.trim()", False),
}

PROMPT: dict[str, tuple[Any, bool]] = {
    "id": ("Say {{ w }}", True),
    "raw": ("Say {{ w }}", True),
    "label": ("l", True),
    "config": ({"temperature": 0}, True),
}

EVALUATE: dict[str, tuple[Any, bool]] = {
    "maxConcurrency": (2, True),
    "repeat": (2, True),
    "delay": (0, True),
    "cache": (False, True),
    "timeoutMs": (1000, True),
    "showProgressBar": (True, True),  # display only
    "maxEvalTimeMs": (1000, True),               # tests/test_limits_time.py
    "generateSuggestions": (True, False),
}

DEFAULT_TEST: dict[str, tuple[Any, bool]] = {
    k: v for k, v in TEST.items() if k not in ("description", "providerOutput",
                                                  "assertScoringFunction")
}


def suite_with(section: str, key: str, value: Any) -> dict[str, Any]:
    suite = {k: (list(v) if isinstance(v, list) else v) for k, v in BASE.items()}
    assertion = {"type": "contains", "value": "x"}
    if section == "top":
        suite[key] = value
    elif section == "test":
        suite["tests"] = [{"vars": {"w": "hi"}, key: value}]
    elif section == "options":
        suite["tests"] = [{"vars": {"w": "hi"}, "options": {key: value}}]
    elif section == "assertion":
        suite["tests"] = [{"vars": {"w": "hi"}, "assert": [{**assertion, key: value}]}]
    elif section == "provider":
        suite["providers"] = [{"id": "echo", key: value}]
    elif section == "prompt":
        suite["prompts"] = [{"id": "Say {{ w }}", key: value}]
    elif section == "evaluateOptions":
        suite["evaluateOptions"] = {key: value}
    elif section == "defaultTest":
        suite["defaultTest"] = {key: value}
    return suite


CASES = [
    (section, key, value, accepted)
    for section, table in (("top", TOP), ("test", TEST), ("options", OPTIONS),
                           ("assertion", ASSERTION), ("provider", PROVIDER), ("prompt", PROMPT),
                           ("evaluateOptions", EVALUATE), ("defaultTest", DEFAULT_TEST))
    for key, (value, accepted) in table.items()
]


@pytest.mark.parametrize(("section", "key", "value", "accepted"), CASES,
                         ids=[f"{c[0]}.{c[1]}" for c in CASES])
def test_each_documented_key_is_accepted_or_refused_by_name(
    tmp_path: Path, section: str, key: str, value: Any, accepted: bool
) -> None:
    (tmp_path / "t.py").write_text("def fn(output, context):\n    return output\n")
    (tmp_path / "up.js").write_text("module.exports = (s) => s.toUpperCase();\n")
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(yaml.safe_dump(suite_with(section, key, value), sort_keys=False),
                    encoding="utf-8")
    if accepted:
        suite = load_suite(path)
        assert sum(1 for _ in suite.tests) >= 1  # the tests stream too (options are checked)
    else:
        with pytest.raises(ConfigError) as info:
            suite = load_suite(path)
            list(suite.tests)
        assert key in info.value.message
        assert info.value.line is not None  # located in the suite file


def test_targets_replaces_providers(tmp_path: Path) -> None:
    suite = {k: v for k, v in BASE.items() if k != "providers"}
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(yaml.safe_dump({**suite, "targets": ["echo"]}), encoding="utf-8")
    assert [p.id for p in load_suite(path).providers] == ["echo"]


def test_default_test_may_be_a_file(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text("vars: {w: from-file}\n", encoding="utf-8")
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(yaml.safe_dump({**BASE, "tests": [{"vars": {}}],
                                    "defaultTest": "file://default.yaml"}), encoding="utf-8")
    (case,) = list(load_suite(path).tests)
    assert case.vars["w"] == "from-file"

"""The majority answer and the agreement of the consistency probe, by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit import write_suite
from promptwork.errors import ConfigError
from promptwork.probes.consistency import ConsistencyProbe, majority_share, normalise
from promptwork.probes.plan import build_probes, plan_probes
from promptwork.suite import PromptEntry, load_suite


def test_exact_normalised_and_similar_matching() -> None:
    answers = ["Positive.", "positive", "POSITIVE!", "negative", "Positive."]
    assert majority_share(answers, "exact") == (2, "Positive.")
    assert majority_share(answers, "normalised") == (4, "Positive.")
    assert normalise("  Café,  crème! ") == "cafe creme"
    long = ["The parcel ships on Monday from Lyon.", "The parcel ships Monday from Lyon.",
            "Your refund was declined.", "The parcel ships on Monday, from Lyon!"]
    assert majority_share(long, "exact")[0] == 1
    assert majority_share(long, "similar", 0.7)[0] == 3
    assert majority_share([], "exact") == (0, "")


def test_ties_go_to_the_earliest_answer() -> None:
    assert majority_share(["b", "a", "a", "b"], "exact") == (2, "b")


def test_samples_are_copies_with_their_own_sample_index() -> None:
    from promptwork.cases import TestCase

    probe = ConsistencyProbe.from_spec({"kind": "consistency", "samples": 4}, "s.yaml:3")
    derived = probe.derive([TestCase(0, {"q": "x"}), TestCase(1, {"q": "y"})],
                           list[PromptEntry]())
    assert [(d.origin, d.case.probe.sample if d.case.probe else None) for d in derived] == [
        (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3)]
    assert all(d.case.vars == {"q": "xy"[d.origin]} for d in derived)
    assert probe.calls_per_test() == 3


def test_bad_consistency_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"s\.yaml:3: .*'samples' must be a whole number"):
        ConsistencyProbe.from_spec({"kind": "consistency", "samples": 1}, "s.yaml:3")
    with pytest.raises(ConfigError, match="'match' must be one of"):
        ConsistencyProbe.from_spec({"kind": "consistency", "match": "fuzzy"}, "s.yaml:3")


def test_consistency_refuses_a_suite_that_already_repeats(tmp_path: Path) -> None:
    path = write_suite(tmp_path, {
        "prompts": ["{{ q }}"], "providers": ["echo"], "tests": [{"vars": {"q": "x"}}],
        "evaluateOptions": {"repeat": 2}, "probes": [{"kind": "consistency"}]})
    suite = load_suite(path)
    with pytest.raises(ConfigError, match=r"remove evaluateOptions\.repeat"):
        plan_probes(suite, build_probes(suite))

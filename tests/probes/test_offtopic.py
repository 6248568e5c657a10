"""The off-topic probe: purpose from the front matter, similarity to it, refusals apart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from promptwork.cases import CellKey, CellResult, TestCase
from promptwork.checks.base import CheckContext, aggregate
from promptwork.checks.registry import arun_check
from promptwork.errors import ConfigError
from promptwork.probes.base import Derivation, ProbeCell
from promptwork.probes.registry import build
from promptwork.suite import load_suite
from promptwork.types import Completion

PURPOSE = "Answer customers' questions about descaling and repairing kettles."


def _suite(folder: Path, description: str | None) -> Path:
    front = f"description: {description}\n" if description else ""
    (folder / "p.prompt").write_text(f"---\nname: p\n{front}---\n{{{{ q }}}}\n", "utf-8")
    path = folder / "promptwork.yaml"
    path.write_text("prompts: [file://p.prompt]\nproviders: [echo]\n"
                    "tests: [{vars: {q: hi}}]\n", "utf-8")
    return path


def test_a_prompt_without_description_is_refused_by_name(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path, None))
    probe = build({"kind": "offtopic"}, "promptwork.yaml:7")
    with pytest.raises(ConfigError, match=r"states no purpose.*description") as info:
        probe.derive(list(suite.tests), suite.prompts)
    assert "promptwork.yaml:7" in str(info.value)
    given = build({"kind": "offtopic", "purpose": PURPOSE}, "x")
    assert given.derive(list(suite.tests), suite.prompts)[0].case.checks[0].value == PURPOSE


def test_derived_copies_check_similarity_to_the_description(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path, PURPOSE))
    probe = build({"kind": "offtopic", "min_similarity": 0.2, "method": "lexical",
                   "judge": True, "provider": "echo"}, "x")
    (derivation,) = probe.derive(list(suite.tests), suite.prompts)
    similar, judge = derivation.case.checks
    assert (similar.type, similar.value, similar.threshold) == ("similar", PURPOSE, 0.2)
    assert similar.config == {"method": "lexical"}
    assert judge.type == "llm-rubric" and PURPOSE in judge.value
    assert derivation.case.vars == {"q": "hi"} and derivation.case.probe is not None


def _cell(case: TestCase, answer: str, index: int) -> ProbeCell:
    results = [(spec, asyncio.run(arun_check(spec, CheckContext(output=answer))))
               for spec in case.checks]
    cell = CellResult(CellKey(0, 0, index), case.vars,
                      completion=Completion(text=answer, provider="echo"),
                      grade=aggregate(results), probe=case.probe)
    return ProbeCell(Derivation(case, 0), cell, None)


def test_off_topic_rate_with_refusals_counted_apart(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path, PURPOSE))
    probe = build({"kind": "offtopic", "min_similarity": 0.2, "method": "lexical",
                   "threshold": 0.4}, "x")
    (derivation,) = probe.derive(list(suite.tests), suite.prompts)
    answers = [
        "To descale the kettle, answer: fill it with vinegar and water, then repair the seal.",
        "Customers ask about descaling kettles; we answer questions and repair kettles.",
        "The 1998 football world cup was won by France in Paris.",
        "I'm sorry, but I can't help with that.",
    ]
    cells = [_cell(derivation.case, a, i) for i, a in enumerate(answers)]
    report = probe.measure("p / echo", cells, [])
    assert (report.metric, report.n) == ("off-topic rate", 3)
    assert report.rate == pytest.approx(1 / 3)
    assert report.passed is True and report.threshold == 0.4
    assert [c.derived.output for c in report.worst] == [answers[2]]
    assert "refusals counted apart: 1 of 4" in report.notes
    assert any("method: lexical" in note for note in report.notes)

"""A probe run end to end on scripted models: derived cells recorded in the store, the figures
match what the script implies, thresholds decide the verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from evalkit import isolate_env, write_suite
from promptwork.probes.bias import shipped_lists
from promptwork.probes.plan import build_probes
from promptwork.probes.robustness import PARAPHRASE_PROMPT
from promptwork.probes.running import arun_probes
from promptwork.providers.scripted import ScriptedProvider
from promptwork.store import schema
from promptwork.store.probes import probe_counts, probe_reports
from promptwork.suite import load_suite
from promptwork.types import Params, RenderedPrompt

TARGETED = shipped_lists("en")["origin"]["groups"]["african-american"]
QUESTIONS = ["Where is my order 42, please?", "My order never came.",
             "Is the order shipped yet?", "Cancel this order now."]


class SeededScript(ScriptedProvider):
    """Answers from the prompt and the seed each repeat gets (as seeded providers do)."""

    def for_repeat(self, prompt: RenderedPrompt, params: Params, repeat: int) -> Params:
        return params.model_copy(update={"seed": repeat})


def answer(prompt: RenderedPrompt, params: Params) -> str:
    text = prompt.as_text()
    if "Cancel" in text and (params.seed or 0) % 2 == 1:
        return "I am not sure."  # test 4 answers differently on odd samples: unstable
    if any(f"Customer {name} " in text for name in TARGETED):
        return "We cannot help you."  # the biased model of this test
    return "Your order is on its way." if "order" in text else "Sorry, no idea."


@pytest.fixture
def suite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_env(monkeypatch, tmp_path)
    return write_suite(tmp_path, {
        "prompts": ["Customer {{ name }} asks: {{ question }}"],
        "providers": ["echo"],
        "tests": [{"vars": {"name": "Emily", "question": q},
                   "assert": [{"type": "icontains", "value": "order"}]} for q in QUESTIONS],
        "probes": [
            {"kind": "robustness", "vars": ["question"], "seed": 3, "threshold": 0.9},
            {"kind": "consistency", "samples": 4, "match": "exact", "threshold": 0.05},
            {"kind": "bias", "attributes": [{"var": "name", "list": "origin"}],
             "threshold": 0.5},
        ]})


async def test_a_probe_run_measures_what_the_script_implies(suite_file: Path) -> None:
    suite = load_suite(suite_file)
    probes = build_probes(suite)
    provider = SeededScript(answer)
    probed = await arun_probes(suite, probes, providers={0: provider})
    reports = {r.kind: r for r in probed.reports}

    # Robustness: an original passes; a derived copy passes iff "order" survived as written.
    rob = reports["robustness"]
    derived = [d for d, p in probed.plan.derived.values() if p.kind == "robustness"]
    expected_flips = sum(1 for d in derived if "order" not in d.case.vars["question"])
    assert rob.n == len(derived) == 4 * 5
    assert rob.rate == pytest.approx(expected_flips / rob.n)
    assert 0 < expected_flips < rob.n  # casing/typos broke some, whitespace none
    casing = next(g for g in rob.groups if g.group == "whitespace")
    assert casing.rate == 0.0
    assert rob.passed is True  # under 0.9

    # Consistency: test 4 answers one way on even samples (0, 2), another on odd (1, 3).
    con = reports["consistency"]
    assert con.n == 4 * 4
    assert con.rate == pytest.approx((4 + 4 + 4 + 2) / 16)
    assert con.passed is False  # disagreement 2/16 is over 0.05
    assert [c.derivation.origin for c in con.worst] == [3]
    assert any("unstable tests: 1 of 4: test 4 (50% agree)" in n for n in con.notes)

    # Bias: every african-american name fails, every other group passes.
    bias = reports["bias"]
    groups = {g.group: g.rate for g in bias.groups}
    assert groups["origin=african-american"] == 0.0
    assert all(rate == 1.0 for g, rate in groups.items() if g != "origin=african-american")
    assert bias.rate == pytest.approx(1.0)
    assert bias.p_value == pytest.approx(2 / 2**4)  # 4 discordant pairs, all one way
    assert bias.passed is False

    # The store records each derived cell's probe, origin and transformation.
    store = probed.run.store
    counts = probe_counts(store, probed.run.id)
    assert counts == {"robustness": 20, "consistency": 12, "bias": 24}
    res = schema.results
    with store.engine.connect() as conn:
        rows = conn.execute(select(res.c.test_idx, res.c.probe_kind, res.c.probe_origin,
                                   res.c.probe_transform, res.c.probe_group).where(
            res.c.run_id == probed.run.id)).all()
    assert sum(1 for r in rows if r.probe_kind is None) == 4  # the originals
    for r in rows:
        if r.probe_kind is not None:
            d, _p = probed.plan.derived[r.test_idx]
            assert d.case.probe is not None
            assert (r.probe_origin, r.probe_transform, r.probe_group) == (
                d.origin, d.case.probe.transform, d.case.probe.group)
    kept = probe_reports(store, probed.run.id)
    assert [k["kind"] for k in kept] == ["robustness", "consistency", "bias"]


async def test_consistency_samples_are_distinct_cache_entries(suite_file: Path) -> None:
    suite = load_suite(suite_file)
    probes = build_probes(suite, ["consistency"])
    first = SeededScript(answer)
    await arun_probes(suite, probes, providers={0: first})
    assert len(first.calls) == 16  # 4 tests x 4 samples, none served by another's cache
    assert sorted({p.seed or 0 for _, p in first.calls}) == [0, 1, 2, 3]
    again = SeededScript(answer)
    probed = await arun_probes(suite, probes, providers={0: again})
    assert again.calls == []  # the second run is served from the cache, sample by sample
    assert probed.reports[0].rate == pytest.approx(14 / 16)


def test_fail_over_replaces_the_thresholds(suite_file: Path) -> None:
    import asyncio

    suite = load_suite(suite_file)
    probed = asyncio.run(arun_probes(suite, build_probes(suite, ["consistency"]),
                                     providers={0: SeededScript(answer)}, fail_over=0.2))
    assert probed.reports[0].threshold == 0.2 and probed.reports[0].passed is True



async def test_paraphrases_come_from_the_named_model_through_the_cache(
        suite_file: Path, tmp_path: Path) -> None:
    path = write_suite(tmp_path / "para", {
        "prompts": ["Q: {{ question }}"], "providers": ["echo"],
        "tests": [{"vars": {"question": q}} for q in QUESTIONS[:2]],
        "probes": [{"kind": "robustness", "perturbations": ["paraphrase"],
                    "paraphrase_model": "echo"}]})
    suite = load_suite(path)
    probed = await arun_probes(suite, build_probes(suite))
    assert probed.paraphrase_calls == 2
    derived = sorted(probed.plan.derived.values(), key=lambda x: x[0].origin)
    for (d, _p), question in zip(derived, QUESTIONS[:2], strict=True):
        # echo answers with the prompt it got: the paraphrase request for this question.
        assert d.case.vars["question"] == (PARAPHRASE_PROMPT + question).strip()
        assert d.case.probe is not None and d.case.probe.transform == "paraphrase(model=echo)"
    again = await arun_probes(suite, build_probes(suite))
    assert again.run.stats() == probed.run.stats()

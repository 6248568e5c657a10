"""The injection probe's corpus, configuration and derivations."""

from __future__ import annotations

import pytest

from promptwork.cases import TestCase
from promptwork.errors import ConfigError
from promptwork.probes.converters import CONVERTERS
from promptwork.probes.injection import InjectionProbe, corpus
from promptwork.probes.registry import build

TEST = TestCase(3, {"message": "My kettle leaks.", "notes": "none", "other": "x"},
                options={"transform": "output.upper()", "provider": "echo"})


def probe(**spec: object) -> InjectionProbe:
    built = build({"kind": "injection", "target": "message", **spec}, "suite.yaml:9")
    assert isinstance(built, InjectionProbe)
    return built


def test_the_shipped_corpus() -> None:
    families = corpus().families
    assert set(families) == {"extraction", "direct", "indirect", "exfiltration",
                             "markdown-image", "html", "harmful", "benign"}
    seeds = [s for f in families.values() for s in f.seeds]
    assert 45 <= len(seeds) <= 60
    assert len({s.id for s in seeds}) == len(seeds)
    assert all("{attack}" in s.carrier for s in families["indirect"].seeds if s.carrier)
    assert all("{rogue}" in s.text for f in ("direct", "indirect") for s in families[f].seeds)


@pytest.mark.parametrize(("spec", "message"), [
    ({"target": None}, "needs 'target'"),
    ({"families": ["extraction"]}, "family 'extraction' plants a secret.*needs 'plant'"),
    ({"families": ["nope"]}, "unknown family 'nope'"),
    ({"converters": ["morse"]}, "unknown converter 'morse'"),
    ({"judge": "yes"}, "'judge' must be true or false"),
    ({"colour": 1}, "unknown key 'colour'"),
])
def test_bad_entries_are_refused_with_their_line(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        build({"kind": "injection", "target": "message", **spec}, "suite.yaml:9")
    assert "suite.yaml:9" in str(info.value)


def test_without_plant_the_planting_families_are_left_out() -> None:
    assert probe().families == ("direct", "indirect", "html", "harmful", "benign")
    assert "extraction" in probe(plant="notes").families


def test_derivations_plant_convert_and_replace_the_checks() -> None:
    p = probe(plant="notes", families=["extraction", "benign"],
              converters=["base64"], limit=2, seed=7)
    assert p.converters == ("identity", "base64")
    derived = p.derive([TEST], [])
    assert len(derived) == p.calls_per_test() == 2 * 2 + 2  # benign: identity only
    assert derived == p.derive([TEST], [])  # reproducible
    first = derived[0].case
    assert first.probe is not None and first.probe.group == "extraction"
    canary = first.checks[0].config["canary"]
    assert canary in first.vars["notes"] and first.vars["notes"].startswith("none ")
    assert first.vars["message"].startswith("My kettle leaks.\n\n")
    assert first.vars["other"] == "x" and "transform" not in first.options
    assert first.options["provider"] == "echo"
    assert [c.type for c in first.checks] == ["injection-resisted"]
    b64 = derived[1].case
    assert b64.probe is not None and b64.probe.transform.startswith("base64:")
    assert b64.checks[0].config["canary"] == canary  # paired with identity: same codes
    seed_text = CONVERTERS["base64"].encode("x")  # the attack is encoded, not in plain text
    assert seed_text not in b64.vars["message"] and "base64-encoded" in b64.vars["message"]
    assert other_seed_codes_differ(p)


def other_seed_codes_differ(p: InjectionProbe) -> bool:
    seeds = corpus().families["extraction"].seeds
    return p.planted(3, seeds[0]) != p.planted(3, seeds[1]) != p.planted(4, seeds[1])


def test_the_judge_adds_a_rubric_only_where_detectors_fall_short() -> None:
    p = probe(families=["harmful", "html"], converters=["identity"], judge=True,
              provider="openai:gpt-4o-mini")
    by_family = {d.case.probe.group: d.case for d in p.derive([TEST], []) if d.case.probe}
    harmful, html = by_family["harmful"], by_family["html"]
    assert [c.type for c in harmful.checks] == ["injection-resisted", "llm-rubric"]
    assert harmful.checks[1].config == {"provider": "openai:gpt-4o-mini"}
    assert [c.type for c in html.checks] == ["injection-resisted"]


def test_a_target_no_prompt_uses_is_refused() -> None:
    from types import SimpleNamespace

    prompt = SimpleNamespace(template=SimpleNamespace(variables=frozenset({"question"})))
    with pytest.raises(ConfigError, match="target variable 'message' is used by no prompt"):
        probe().derive([TEST], [prompt])  # type: ignore[list-item]

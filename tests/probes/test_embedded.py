"""A probe run end to end on the embedded model (tiny budget: 2 tests, a few tokens each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit import isolate_env, write_suite
from promptwork.probes.plan import build_probes
from promptwork.probes.running import arun_probes
from promptwork.store.probes import probe_counts
from promptwork.suite import load_suite

pytestmark = pytest.mark.embedded


async def test_robustness_and_bias_on_the_embedded_model(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_env(monkeypatch, tmp_path)
    path = write_suite(tmp_path, {
        "prompts": ["Reply with one word, positive or negative. Review by {{ name }}: {{ text }}"],
        "providers": [{"id": "local:gemma3-270m",
                       "config": {"temperature": 0, "max_tokens": 4}}],
        "tests": [{"vars": {"name": "Emily", "text": "I love this kettle, it is great."},
                   "assert": [{"type": "icontains", "value": "positive"}]},
                  {"vars": {"name": "Greg", "text": "Broken after a day. Awful."},
                   "assert": [{"type": "icontains", "value": "negative"}]}],
        "probes": [{"kind": "robustness", "vars": ["text"], "perturbations": ["typos"]},
                   {"kind": "bias", "attributes": [{"var": "name", "list": "gender"}]}]})
    suite = load_suite(path)
    probed = await arun_probes(suite, build_probes(suite))
    assert probe_counts(probed.run.store, probed.run.id) == {"robustness": 2, "bias": 4}
    kinds = [r.kind for r in probed.reports]
    assert kinds == ["robustness", "bias"]
    rob = probed.reports[0]
    assert rob.n == 2 and 0.0 <= rob.low <= rob.rate <= rob.high <= 1.0
    assert probed.run.stats()["errors"] == 0

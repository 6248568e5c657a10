"""End to end on the embedded model: the quickstart sentiment suite with a tiny budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.optimizer import optimize, read_provenance

pytestmark = pytest.mark.embedded

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


def test_quickstart_with_a_tiny_budget(tmp_path: Path) -> None:
    lines: list[str] = []
    result = optimize(
        "prompts/instruction.prompt", QUICKSTART, budget=58, max_tests=30,
        db=f"sqlite:///{tmp_path / 'store.db'}", output=tmp_path / "best.prompt",
        log=lines.append,
    )
    # 58 = 40 for the search + 18 reserved for the test report (seed and best on 9 examples)
    assert result.budget["used"] <= 40 and result.budget["model_requests"] <= 40
    assert result.calls_used <= 58
    assert result.plan.task_model == "local:gemma3-270m"
    assert result.plan.reference_source.startswith("variable label")
    assert result.best_val >= result.seed_val
    assert result.test_best is not None and result.test_best.n == 9
    assert [c for c, _ in result.curve] == sorted(c for c, _ in result.curve)
    prov = read_provenance((tmp_path / "best.prompt").read_text())
    assert prov is not None and prov["task_model"] == "local:gemma3-270m"
    assert any(line.startswith("round 1") for line in lines)

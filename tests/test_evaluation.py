"""The evaluation API: evaluate() returns a stored run with summary() and to_pandas()."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest

import promptwork as pw
from promptwork.errors import MissingDependencyError
from promptwork.runner import RunConfig

SUITE = """\
prompts: ["Say {{ word }}", "Shout {{ word }}"]
providers: [echo]
tests:
  - vars: {word: hello}
    assert: [{type: contains, value: Say}]
  - vars: {word: bye}
    assert: [{type: contains, value: Say}]
"""


def run_suite(tmp_path: Path) -> pw.EvalRun:
    (tmp_path / "promptwork.yaml").write_text(SUITE)
    return pw.evaluate(tmp_path / "promptwork.yaml", config=RunConfig(use_cache=False))


def test_summary_per_prompt_and_model(tmp_path: Path) -> None:
    run = run_suite(tmp_path)
    summary = run.summary()
    assert [(s["prompt"], s["pass_rate"]) for s in summary] == [
        ("Say {{ word }}", 1.0), ("Shout {{ word }}", 0.0)]
    low, high = summary[0]["pass_rate_ci95"]
    assert 0 < low < 1.0 and high == pytest.approx(1.0)
    assert run.stats() == {"successes": 2, "failures": 2, "errors": 0}


def test_to_pandas_has_one_row_per_cell(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    df = run_suite(tmp_path).to_pandas()
    assert len(df) == 4
    assert {"prompt", "provider", "var_word", "output", "pass", "score"} <= set(df.columns)
    assert sorted(df["output"]) == ["Say bye", "Say hello", "Shout bye", "Shout hello"]
    assert df.groupby("prompt")["pass"].mean().to_dict() == {
        "Say {{ word }}": 1.0, "Shout {{ word }}": 0.0}


def test_to_pandas_without_pandas_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_suite(tmp_path)
    real_import = builtins.__import__

    def no_pandas(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pandas":
            raise ImportError("no pandas")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(MissingDependencyError, match="pip install pandas"):
        run.to_pandas()


def test_rows_is_a_list_that_can_be_read_twice(tmp_path: Path) -> None:
    run = run_suite(tmp_path)
    rows = run.rows()
    assert isinstance(rows, list) and len(rows) == 4
    assert [r["output"] for r in rows] == [r["output"] for r in rows]  # not a spent generator
    assert rows[0]["vars"] == {"word": "hello"}
    streamed = run.iter_rows()
    assert next(streamed)["id"] == rows[0]["id"]  # the same rows, streamed


def test_run_config_is_public() -> None:
    assert pw.RunConfig is RunConfig and "RunConfig" in pw.__all__

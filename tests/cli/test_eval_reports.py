"""``promptwork eval`` shows and exports every number it computes (issue 18 §3): named metrics
per column, dataset metrics, test descriptions, empty answers, in the terminal and in every
export format."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from evalkit import isolate_env, write_suite
from promptwork.cli.main import main

LONG = ("Dear Ada,\n" + "We are sorry about the kettle: negative news. " * 12
        + "\nBest,\nHearth")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)


def _suite(folder: Path) -> None:
    (folder / "tests.csv").write_text(
        "review,label,__description\n"
        "I loved it,positive,happy customer\n"
        "Terrible,negative,\n"
        "Kettle broke,negative,angry about the kettle\n")
    write_suite(folder, {
        "prompts": ["Classify: {{ review }} ({{ brand }})"],
        "providers": [{"id": "scripted", "config": {"responses": {
            "loved": "positive", "Terrible": "", "Kettle": LONG, "*": "neutral"}}}],
        "defaultTest": {
            "vars": {"brand": "Hearth & Home, the long brand name shared by every test"},
            "assert": [{"type": "icontains", "value": "{{ label }}", "metric": "facts"},
                       {"type": "not-icontains", "value": "refund", "metric": "tone"}]},
        "tests": ["file://tests.csv",
                  {"description": "a described <b>inline</b> test",
                   "vars": {"review": "meh", "label": "positive"}}],
        "metrics": [{"type": "classification", "label": "label",
                     "labels": ["positive", "negative"]},
                    {"type": "distinct-ngrams", "n": 1}],
    })


def _eval(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["eval", "--no-progress", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_terminal_shows_named_metrics_descriptions_and_empty_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    _suite(tmp_path)
    code, out, _ = _eval(capsys)
    assert code == 100
    summary = out[out.index("Summary"):]
    header = next(line for line in summary.splitlines() if "Pass rate" in line)
    assert re.search(r"Mean score\s*┃\s*facts\s*┃\s*tone\s*┃", header)
    row = next(line for line in summary.splitlines() if "scripted" in line)
    # facts: 2 of 4 tests have their label in the answer; tone: no answer promises a refund.
    assert re.search(r"0\.75\s*│\s*0\.50\s*│\s*1\.00\s*│", row)  # mean, facts, tone
    assert "#0 happy customer" in out and "#2 angry about the kettle" in out
    assert "#3 a described <b>inline</b> test" in out
    # A test without a description: the vars that vary come first, the shared brand last.
    assert "#1 review=Terrible, label=negative," in out
    assert "(empty)" in out
    assert "Dataset metrics" in out and "accuracy / macro-F1" in out


def test_every_export_holds_the_named_and_dataset_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _suite(tmp_path)
    code, _, err = _eval(capsys, "-o", "r.json", "-o", "r.html", "-o", "r.md", "-o", "r.csv")
    assert code == 100, err

    data = json.loads((tmp_path / "r.json").read_text())
    summary = data["results"] and data["promptwork"]["summary"][0]
    assert summary["named_scores"] == {"facts": 0.5, "tone": 1.0}
    kinds = {m["type"]: m for m in data["promptwork"]["dataset_metrics"]}
    assert kinds["classification"]["accuracy"] == 0.5
    assert kinds["classification"]["confusion"][1] == [0, 1, 1]  # negative: 1 right, 1 none
    assert "distinct-ngrams" in kinds
    described = [r["testCase"].get("description") for r in data["results"]["results"]]
    assert described == ["happy customer", None, "angry about the kettle",
                         "a described <b>inline</b> test"]

    page = (tmp_path / "r.html").read_text()
    assert '<th class="metric">facts</th>' in page and '<th class="metric">tone</th>' in page
    assert "<h2>Dataset metrics</h2>" in page and "confusion matrix" in page
    assert '<div class="out empty">(empty)</div>' in page
    assert "happy customer" in page and "a described &lt;b&gt;inline&lt;/b&gt; test" in page

    md = (tmp_path / "r.md").read_text()
    assert "| Mean score | facts | tone |" in md
    assert "## Dataset metrics" in md and "accuracy / macro-F1 | 50.0% / " in md
    assert "\\#" not in md and "| #0 happy customer |" in md
    assert "_(empty)_" in md
    assert "<br>" not in md and "&lt;" not in md and "&amp;" not in md
    assert "a described \\<b\\>inline\\</b\\> test" in md
    # The long, multi-line answer: cut in its cell with its length, whole below the table.
    assert f"cut: {len(LONG):,} characters, whole answer A1 below" in md
    answers = md[md.index("## Answers"):]
    assert "### A1: #2 angry about the kettle" in answers
    assert f"```text\n{LONG}\n```" in answers

    with (tmp_path / "r.csv").open(newline="") as fh:
        records = list(csv.DictReader(fh))
    assert [r["description"] for r in records] == [
        "happy customer", "", "angry about the kettle", "a described <b>inline</b> test"]
    assert [r["metric:facts"] for r in records] == ["1.0", "0.0", "1.0", "0.0"]
    assert records[1]["output"] == "" and records[1]["status"] == "FAIL"
    with (tmp_path / "r.summary.csv").open(newline="") as fh:
        numbers: dict[str, Any] = {r["metric"]: r for r in csv.DictReader(fh)}
    assert float(numbers["metric:facts"]["value"]) == 0.5
    assert float(numbers["metric:tone"]["value"]) == 1.0
    assert float(numbers["accuracy"]["value"]) == 0.5
    assert "negative: negative=1, (none)=1" in numbers["accuracy"]["detail"]
    assert float(numbers["pass_rate"]["value"]) == 0.5
    assert "distinct_1grams" in numbers

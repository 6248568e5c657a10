"""``promptwork runs rate`` and ``promptwork runs ratings`` through ``main()``, on runs made by the
``scripted`` model with an ``llm-rubric`` graded by a scripted grader; the ratings reach the
exports (CSV, JSON, JSONL) and ``EvalRun.to_pandas()``."""

from __future__ import annotations

import csv
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from evalkit import isolate_env, write_suite
from promptwork.cli.main import main
from promptwork.evaluation import EvalRun
from promptwork.store import Store

PASS_JSON = '{"reason": "fine", "pass": true, "score": 1}'
FAIL_JSON = '{"reason": "wrong", "pass": false, "score": 0}'
GRADER = {"id": "scripted", "config": {"responses": {"GOODANSWER": PASS_JSON, "*": FAIL_JSON}}}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.setenv("USER", "tester")
    monkeypatch.chdir(tmp_path)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def rubric_run(folder: Path, capsys: pytest.CaptureFixture[str], *,
               grader_on_test: bool = False) -> str:
    """4 tests; the model answers GOODANSWER to tests 0 and 1, BADANSWER to 2 and 3; the judge
    passes exactly the GOODANSWER ones. Returns the run id."""
    check: dict[str, Any] = {"type": "llm-rubric", "value": "is a good answer"}
    default_test: dict[str, Any] = {"assert": [check]}
    if grader_on_test:
        default_test["options"] = {"provider": GRADER}
    else:
        check["provider"] = GRADER
    write_suite(folder, {
        "prompts": [{"id": "Question {{ q }}", "label": "ask"}],
        "providers": [{"id": "scripted", "label": "bot", "config": {"responses": {
            "Question A": "GOODANSWER", "Question B": "GOODANSWER", "*": "BADANSWER"}}}],
        "defaultTest": default_test,
        "tests": [{"vars": {"q": q}} for q in "ABCD"],
    })
    code, _, err = cli(capsys, "eval", "--no-progress", "--no-table")
    assert code == 100, err  # two cells fail their check
    return Store.for_folder(folder).list_runs(1)[0].id


def test_rate_cells_and_see_the_judge_agreement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = rubric_run(tmp_path, capsys)
    # People agree with the judge on tests 0, 2, 3 and not on test 1.
    for test, verdict in ((0, "--pass"), (1, "--fail"), (2, "--fail"), (3, "--fail")):
        code, out, err = cli(capsys, "runs", "rate", run[:12], "--cell", f"0:0:{test}", verdict,
                             "--comment", f"t{test}")
        assert code == 0, err
        assert f"rated cell 0:0:{test}:0 of run {run}" in out and "by tester" in out
    code, out, _ = cli(capsys, "runs", "ratings", run, "-o", "r.csv", "-o", "r.json")
    assert code == 0
    assert "4 human ratings" in out and "llm-rubric" in out and "scripted" in out
    assert "75.0%" in out  # accuracy 3/4
    rows = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert [(r["test_idx"], r["status"], r["rating_pass"], r["rater"]) for r in rows] == [
        ("0", "PASS", "true", "tester"), ("1", "PASS", "false", "tester"),
        ("2", "FAIL", "false", "tester"), ("3", "FAIL", "false", "tester")]
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    (judge,) = data["judges"]
    # (J, H) = (T,T) (T,F) (F,F) (F,F): p_o 0.75, p_e 0.5*0.25 + 0.5*0.75 = 0.5 -> kappa 0.5
    assert (judge["check"], judge["grader"], judge["n"]) == ("llm-rubric", "scripted", 4)
    assert judge["accuracy"] == pytest.approx(0.75) and judge["kappa"] == pytest.approx(0.5)
    assert judge["confusion"] == {"both_pass": 1, "judge_pass_human_fail": 1,
                                  "judge_fail_human_pass": 0, "both_fail": 2}


def test_the_tests_grader_is_recorded_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = rubric_run(tmp_path, capsys, grader_on_test=True)
    rows = list(Store.for_folder(tmp_path).results(run))
    graders = {c.get("grader") for r in rows for c in r["grading"]["components"]}
    assert graders == {"scripted"}


def test_rerate_withdraw_and_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = rubric_run(tmp_path, capsys)
    assert cli(capsys, "runs", "rate", run, "--cell", "0:0:1", "--fail", "--rater", "ada")[0] == 0
    assert cli(capsys, "runs", "rate", run, "--cell", "0:0:1", "--pass", "--score", "0.5",
               "--rater", "ada")[0] == 0
    _, out, _ = cli(capsys, "runs", "ratings", run)
    assert "1 human rating" in out and "0.50" in out
    code, out, _ = cli(capsys, "runs", "rate", run, "--cell", "0:0:1", "--withdraw",
                       "--rater", "ada")
    assert code == 0 and "withdrew ada's rating" in out
    _, out, _ = cli(capsys, "runs", "ratings", run)
    assert "has no ratings" in out
    for args, message in ((("--cell", "0:0:9", "--pass"), "no stored cell 0:0:9:0"),
                          (("--cell", "x:1", "--pass"), "PROMPT:MODEL:TEST"),
                          (("--cell", "0:0:0"), "say --pass or --fail"),
                          (("--cell", "0:0:0", "--pass", "--score", "2"), "between 0 and 1")):
        code, _, err = cli(capsys, "runs", "rate", run, *args)
        assert code == 2 and message in err


def test_exports_and_to_pandas_carry_the_ratings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = rubric_run(tmp_path, capsys)
    cli(capsys, "runs", "rate", run, "--cell", "0:0:2", "--pass", "--score", "0.9",
        "--comment", "=cmd()", "--rater", "ada")
    code, _, err = cli(capsys, "runs", "show", run, "-o", "out.csv", "-o", "out.json",
                       "-o", "out.jsonl")
    assert code == 0, err
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    rated = [(r["test"], r["pass"], r["rating_pass"], r["rating_score"], r["rating_comment"],
              r["rater"]) for r in rows]
    assert rated == [("0", "true", "", "", "", ""), ("1", "true", "", "", "", ""),
                     ("2", "false", "true", "0.9", "'=cmd()", "ada"),
                     ("3", "false", "", "", "", "")]
    results = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["results"]
    marks = [r["metadata"]["promptwork"].get("ratings") for r in results["results"]]
    assert marks[:2] == [None, None] and marks[2][0]["rater"] == "ada"
    assert results["results"][2]["success"] is False  # the automated verdict stays
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[2])["metadata"]["promptwork"]["ratings"][0]["score"] == 0.9

    captured: list[dict[str, Any]] = []

    def from_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        captured.extend(records)
        return records

    fake = types.ModuleType("pandas")
    fake.DataFrame = types.SimpleNamespace(from_records=from_records)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pandas", fake)
    EvalRun(run, Store.for_folder(tmp_path)).to_pandas()
    assert [(r["test"], r["rating_pass"], r["rater"]) for r in captured] == [
        (0, None, None), (1, None, None), (2, True, "ada"), (3, None, None)]

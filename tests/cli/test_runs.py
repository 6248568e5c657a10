"""``promptwork runs`` and the eval summary's winner test, through ``main()``.

Stored runs are listed with their pass rate, cells, cost and status, shown with filters,
exported in every format without a re-run, and compared by label with warnings when the two
sides were not measured the same way. Models are ``scripted`` and ``echo``.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evalkit import db_file, isolate_env, sqlite_rows, write_suite
from promptwork.cli.main import main

TIMES = "\u00d7"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def evaluate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return cli(capsys, "eval", "--no-progress", *args)


def scripted_suite(folder: Path, n: int = 10, good: str = "yes", bad: str = "no",
                   checks: list[dict[str, Any]] | None = None, **extra: Any) -> Path:
    """Prompt "good" answers ``good``, prompt "bad" answers ``bad``; the check wants "yes"."""
    return write_suite(folder, {
        "description": "two formulations",
        "prompts": [{"id": "Good {{ i }}", "label": "good"},
                    {"id": "Bad {{ i }}", "label": "bad"}],
        "providers": [{"id": "scripted", "label": "bot",
                       "config": {"responses": {"Good": good, "*": bad}}}],
        "defaultTest": {"assert": checks or [{"type": "equals", "value": "yes"}]},
        "tests": [{"vars": {"i": i}} for i in range(n)],
        **extra,
    })


def run_ids(folder: Path) -> list[str]:
    return [r[0] for r in sqlite_rows(db_file(folder), "SELECT id FROM runs ORDER BY created_at")]


# -- the eval summary's winner test ----------------------------------------------------------------


def test_eval_says_a_clear_winner_is_significantly_better(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_suite(tmp_path)
    code, out, _ = evaluate(capsys, "--no-table")
    assert code == 100
    # 10 tests, good passes all, bad none: exact McNemar p = 2 * 0.5 ** 10.
    assert f"good {TIMES} bot is significantly better than bad {TIMES} bot (p=0.002" in out
    assert out.count("★") == 2  # the summary's mark and the sentence


def test_eval_marks_no_winner_on_a_zero_zero_tie(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_suite(tmp_path, good="nope")
    code, out, _ = evaluate(capsys, "--no-table")
    assert code == 100
    assert out.count("0.0% [0.0") == 2
    assert f"no significant difference between good {TIMES} bot and bad {TIMES} bot" in out
    assert "★" not in out


# -- runs list / show ------------------------------------------------------------------------------


def test_runs_list_shows_pass_rate_cells_cost_and_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_suite(tmp_path)
    evaluate(capsys)
    [run_id] = run_ids(tmp_path)
    code, out, _ = cli(capsys, "runs", "list")
    line = next(line for line in out.splitlines() if run_id in line)
    assert code == 0
    assert "complete" in line and "50.0%" in line and "20/20" in line and "$0.0000" in line
    assert cli(capsys, "runs", "list", "--search", "formulations")[1].count(run_id) == 1
    assert run_id not in cli(capsys, "runs", "list", "--search", "no such run")[1]


def test_runs_show_exports_every_format_without_a_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_suite(tmp_path)
    evaluate(capsys)
    [run_id] = run_ids(tmp_path)
    names = [f"out.{ext}" for ext in ("json", "jsonl", "csv", "md", "xml", "html")]
    args = [a for name in names for a in ("-o", name)]
    code, _, err = cli(capsys, "runs", "show", run_id, *args)
    assert code == 0
    assert run_ids(tmp_path) == [run_id]  # nothing was run again
    for name in names:
        assert f"wrote {name}" in err
    doc = json.loads(Path("out.json").read_text())
    assert doc["evalId"] == run_id and len(doc["results"]["results"]) == 20
    lines = [json.loads(x) for x in Path("out.jsonl").read_text().splitlines()]
    assert sum(1 for x in lines if x["success"]) == 10 and len(lines) == 20
    with open("out.csv", newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 20 and {r["prompt"] for r in table} == {"good", "bad"}
    assert Path("out.xml").read_text().count("<testcase") == 20
    assert run_id in Path("out.md").read_text() and run_id in Path("out.html").read_text()


def test_runs_show_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scripted_suite(tmp_path, n=4)
    evaluate(capsys)

    def exported(*filters: str) -> list[dict[str, Any]]:
        code, _, _ = cli(capsys, "runs", "show", "-o", "f.jsonl", *filters)
        assert code == 0
        return [json.loads(x) for x in Path("f.jsonl").read_text().splitlines()]

    failed = exported("--failed")
    assert len(failed) == 4 and not any(r["success"] for r in failed)
    assert {r["metadata"]["promptwork"]["prompt_idx"] for r in failed} == {1}
    good = exported("--prompt", "good")
    assert len(good) == 4 and all(r["success"] for r in good)
    assert len(exported("--model", "bot")) == 8
    assert len(exported("--model", "scripted", "--prompt", "1")) == 4  # provider id, index
    assert exported("--errors") == []
    code, out, _ = cli(capsys, "runs", "show", "--failed", "--prompt", "bad")
    assert "showing only: failed cells, prompt bad" in out and "PASS" not in out
    code, _, err = cli(capsys, "runs", "show", "--prompt", "nope")
    assert code == 2 and "no prompt is named 'nope'" in err and "good (0)" in err


def test_a_run_whose_process_died_is_interrupted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_suite(tmp_path, n=2)
    evaluate(capsys)
    [run_id] = run_ids(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    conn = sqlite3.connect(db_file(tmp_path))
    (settings,) = conn.execute("SELECT settings FROM runs WHERE id = ?", (run_id,)).fetchone()
    settings = json.loads(settings)
    settings["owner"].update(pid=proc.pid, started=None)  # as if kill -9 had stopped it
    conn.execute("UPDATE runs SET status = 'running', settings = ? WHERE id = ?",
                 (json.dumps(settings), run_id))
    conn.commit()
    line = next(x for x in cli(capsys, "runs", "list")[1].splitlines() if run_id in x)
    assert "interrupted" in line and "running" not in line
    _, out, _ = cli(capsys, "runs", "show", run_id)
    assert f"run {run_id} (interrupted, 4/4 cells)" in out
    assert f"promptwork eval --resume {run_id}" in out
    # Owned by another machine sharing the store: never declared dead.
    settings["owner"]["host"] = "another-machine"
    conn.execute("UPDATE runs SET settings = ? WHERE id = ?", (json.dumps(settings), run_id))
    conn.commit()
    conn.close()
    line = next(x for x in cli(capsys, "runs", "list")[1].splitlines() if run_id in x)
    assert "running" in line


# -- runs compare ----------------------------------------------------------------------------------


def test_runs_compare_by_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scripted_suite(tmp_path)
    evaluate(capsys)
    [run_id] = run_ids(tmp_path)
    outputs = []
    for a, b in (("good", "bad"), ("good@bot", "bad@scripted"), ("0:0", "1:0")):
        code, out, _ = cli(capsys, "runs", "compare", run_id, "--a", a, "--b", b)
        assert code == 0, out
        assert f"B = {run_id} bad {TIMES} bot" in out
        assert f"good {TIMES} bot is better (p=0.002)" in out
        assert "warning" not in out  # one run: same checks, data and parameters
        outputs.append(out)
    assert outputs[0] == outputs[1] == outputs[2]
    code, _, err = cli(capsys, "runs", "compare", run_id, "--a", "good", "--b", "good")
    assert code == 2 and "the same column" in err


def test_runs_compare_explains_its_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_suite(tmp_path)
    evaluate(capsys)
    code, _, err = cli(capsys, "runs", "compare")
    assert code == 2
    assert "compare two runs: promptwork runs compare RUN_A RUN_B" in err
    assert "compare two columns of one run" in err
    [run_id] = run_ids(tmp_path)
    code, _, err = cli(capsys, "runs", "compare", run_id, "--a", "good")
    assert code == 2 and "name both with --a and --b" in err and "bad@bot (1:0)" in err
    assert "select_column" not in err


def test_runs_compare_two_runs_column_by_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_suite(tmp_path)
    evaluate(capsys)
    scripted_suite(tmp_path, bad="yes")  # the "bad" prompt now passes too
    evaluate(capsys)
    first, second = run_ids(tmp_path)
    code, out, err = cli(capsys, "runs", "compare", first, second)
    assert code == 0, err
    assert "select_column" not in out + err
    assert f"A = {first} good {TIMES} bot" in out and f"A = {first} bad {TIMES} bot" in out
    assert f"{second} bad {TIMES} bot is better (p=0.002)" in out
    code, out, _ = cli(capsys, "runs", "compare", first, second, "--a", "bad", "--json")
    doc = json.loads(out)
    assert len(doc["pairs"]) == 1 and doc["pairs"][0]["pass_fail"]["fixes"] == 10


def test_runs_compare_warns_when_the_checks_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_suite(tmp_path, n=4)
    evaluate(capsys)
    scripted_suite(tmp_path, n=4, checks=[{"type": "equals", "value": "yes"},
                                          {"type": "icontains", "value": "y", "metric": "tone"}])
    evaluate(capsys)
    first, second = run_ids(tmp_path)
    code, out, _ = cli(capsys, "runs", "compare", first, second, "--a", "good")
    assert code == 0
    assert "warning: the checks differ on 4 of 4 paired tests" in out
    assert "B equals, icontains (tone)" in out


def test_runs_compare_warns_when_the_data_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_suite(tmp_path, n=3)
    evaluate(capsys)
    write_suite(tmp_path, {**_suite_dict(tmp_path), "tests": [{"vars": {"i": i + 10}}
                                                              for i in range(3)]})
    evaluate(capsys)
    first, second = run_ids(tmp_path)
    code, out, _ = cli(capsys, "runs", "compare", first, second, "--a", "good")
    assert code == 0
    assert "warning: the data differ: 3 of 3 paired tests have other vars" in out
    assert "A i=0; B i=10" in out


def test_runs_compare_warns_when_the_parameters_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_suite(tmp_path, n=3)
    evaluate(capsys, "-p", "temperature=0")
    evaluate(capsys, "-p", "temperature=0.7")
    first, second = run_ids(tmp_path)
    code, out, _ = cli(capsys, "runs", "compare", first, second, "--a", "good")
    assert code == 0
    assert "warning: the generation parameters differ: A temperature=0.0; B temperature=0.7" in out


def _suite_dict(folder: Path) -> dict[str, Any]:
    import yaml

    loaded: dict[str, Any] = yaml.safe_load((folder / "promptwork.yaml").read_text())
    return loaded


def test_runs_show_exports_the_dataset_metrics_of_an_unfiltered_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_suite(tmp_path, n=4, metrics=[{"type": "distinct-ngrams", "n": 1}])
    evaluate(capsys)
    code, _, _ = cli(capsys, "runs", "show", "-o", "all.json")
    assert code == 0
    whole = json.loads(Path("all.json").read_text())["promptwork"]["dataset_metrics"]
    assert whole, "the stored run's dataset metrics are exported"
    code, _, _ = cli(capsys, "runs", "show", "--failed", "-o", "failed.json")
    assert code == 0
    assert not json.loads(Path("failed.json").read_text())["promptwork"].get("dataset_metrics")


def test_runs_compare_shows_the_compare_pages_view_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from promptwork.store import Store
    from promptwork.views.compare import build_compare

    scripted_suite(tmp_path)
    evaluate(capsys)
    scripted_suite(tmp_path, bad="yes")
    evaluate(capsys)
    first, second = run_ids(tmp_path)
    view = build_compare(Store.for_folder(tmp_path), first, second)
    phrases = [p.plain for p in view.pairs]
    assert "B better, p=0.002" in phrases and "no significant difference" in phrases
    code, out, _ = cli(capsys, "runs", "compare", first, second)
    assert code == 0
    table = out[:out.index("A = ")]  # the summary table, before the details
    for phrase in phrases:
        assert phrase in table
    code, out, _ = cli(capsys, "runs", "compare", first, second, "--json")
    assert [p["plain"] for p in json.loads(out)["pairs"]] == phrases

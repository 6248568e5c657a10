"""``promptwork probe`` in-process: dry run, threshold exit codes, reports, errors with
file:line, and the workbench pages (cell page probe info, run probe page)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evalkit import isolate_env, write_suite
from promptwork.cli.main import main
from promptwork.evaluation import EvalRun
from promptwork.report.export import export
from promptwork.store import Store
from promptwork.web.app import create_app
from promptwork.web.security import WebSettings


def _suite(tmp_path: Path, probes: list[dict[str, object]]) -> Path:
    return write_suite(tmp_path, {
        "prompts": ["Customer {{ name }} asks: {{ question }}"],
        "providers": ["echo"],
        "tests": [{"vars": {"name": "Emily", "question": "Where is my order, please?"},
                   "assert": [{"type": "contains", "value": "order"}]},
                  {"vars": {"name": "Greg", "question": "Refund the kettle, please."},
                   "assert": [{"type": "contains", "value": "Greg"}]}],
        "probes": probes})


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["probe", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_dry_run_counts_the_extra_cells_and_calls_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _suite(tmp_path, [{"kind": "robustness", "perturbations": ["casing", "typos"]},
                             {"kind": "consistency", "samples": 3}])
    code, out, _ = run_cli(capsys, str(path), "--dry-run")
    assert code == 0
    assert "2 original tests, 8 derived tests" in out
    assert "robustness: 4 derived tests" in out and "consistency: 4 derived tests" in out
    assert "10 cells, 10 model calls after the cache" in out
    assert not (tmp_path / ".promptwork").exists() or not list(
        Store.for_folder(tmp_path).list_runs())


def test_casing_on_echo_flips_a_case_sensitive_check_and_fails_the_threshold(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _suite(tmp_path, [{"kind": "robustness", "vars": ["question", "name"],
                              "perturbations": ["casing"], "seed": 1, "threshold": 0.1}])
    code, out, err = run_cli(capsys, str(path), "-o", str(tmp_path / "p.json"),
                             "-o", str(tmp_path / "p.html"), "--no-progress")
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    report = data["probes"][0]
    # echo repeats the prompt: a check passes on the copy iff its word kept its case.
    store = Store.for_folder(tmp_path)
    rows = [r for r in store.results(data["run"]) if r["probe_kind"] == "robustness"]
    expected = sum(1 for r in rows if not r["success"])
    assert report["n"] == 2 and report["rate"] == pytest.approx(expected / 2)
    assert expected > 0
    assert code == 1 and "over threshold: robustness" in err
    assert data["failed"] == [f"robustness · {report['column']}"]
    html = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert "flip rate" in html and "casing(seed=1)" in html and "<script" not in html
    assert "Probes" in out and "FAIL" in out

    # --fail-over replaces the threshold (cached: no new call, same cells).
    code, _, _ = run_cli(capsys, str(path), "--fail-over", "1", "--no-progress")
    assert code == 0

    # The CSV export carries the probe columns.
    run = EvalRun(data["run"], store)
    export(tmp_path / "r.csv", run.record, run.iter_rows(), run.prompt_labels,
           run.provider_labels, run.columns())
    with (tmp_path / "r.csv").open(encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    derived = [r for r in lines if r["probe_kind"] == "robustness"]
    assert len(derived) == 2 and {r["probe_origin"] for r in derived} == {"0", "1"}
    assert all(r["probe_transform"] == "casing(seed=1)" for r in derived)
    assert sum(1 for r in lines if r["probe_kind"] == "") == 2

    # The workbench: the run's probe page, and a derived cell's page names its origin.
    client = TestClient(create_app(store.url, WebSettings(port=8484)),
                        base_url="http://127.0.0.1:8484")
    run_page = client.get(f"/runs/{data['run']}")
    assert f'href="/runs/{data["run"]}/probes"' in run_page.text  # the run page links to them
    page = client.get(f"/runs/{data['run']}/probes")
    assert page.status_code == 200 and "flip rate" in page.text
    assert "robustness 2" in page.text
    test = rows[0]["test_idx"]
    cell = client.get(f"/runs/{data['run']}/cells/{test}/0/0/0")
    assert cell.status_code == 200
    assert "Derived by a probe" in cell.text and "casing(seed=1)" in cell.text
    assert f'href="/runs/{data["run"]}/cells/{rows[0]["probe_origin"]}/0/0/0"' in cell.text


def test_a_bad_probe_entry_is_refused_with_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _suite(tmp_path, [{"kind": "robustness", "perturbation": ["casing"]}])
    code, _, err = run_cli(capsys, str(path))
    assert code == 2
    assert "promptwork.yaml:" in err and "unknown key 'perturbation'" in err
    assert "did you mean 'perturbations'" in err
    path = _suite(tmp_path, [{"kind": "robustnes"}])
    code, _, err = run_cli(capsys, str(path))
    assert code == 2 and "unknown probe kind 'robustnes'" in err
    path = _suite(tmp_path, [{"kind": "robustness"}])
    code, _, err = run_cli(capsys, str(path), "--only", "bias")
    assert code == 2 and "declares no 'bias' probe" in err
    assert not list(Store.for_folder(tmp_path).list_runs())  # nothing ran


def test_a_budget_stops_the_run_and_resume_finishes_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _suite(tmp_path, [{"kind": "consistency", "samples": 3}])
    code, _, err = run_cli(capsys, str(path), "--max-calls", "3", "--no-progress",
                           "--no-cache")
    assert code == 100 and "promptwork probe --resume" in err
    code, out, _ = run_cli(capsys, str(path), "--resume", "--no-progress")
    assert code == 0 and "agreement" in out
    runs = Store.for_folder(tmp_path).list_runs()
    assert len(runs) == 1 and runs[0].status == "complete"

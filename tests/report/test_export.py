"""Exports: promptfoo's JSON layout, and every format parses back with the right counts."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promptwork.errors import ConfigError
from promptwork.report.export import SUPPORTED, csv_safe, export, md_escape
from promptwork.report.summary import summarize
from promptwork.store import RunRecord

from .synthetic import PROMPTS, PROVIDERS, XSS, make_row, make_run

# standard_rows(): 16 cells; 10 pass, 5 fail (checks), 1 error (call).
SUCCESSES, FAILURES, ERRORS, TOTAL = 10, 5, 1, 16


def do_export(path: Path, run: RunRecord, rows: list[dict[str, Any]], **kw: Any) -> Path:
    columns = summarize(rows, PROMPTS, PROVIDERS)
    return export(path, run, iter(rows), PROMPTS, PROVIDERS, columns, **kw)


# -- JSON (promptfoo layout) ----------------------------------------------------------------------


def test_json_has_promptfoo_output_layout(tmp_path: Path, run: RunRecord,
                                          rows: list[dict[str, Any]]) -> None:
    data = json.loads(do_export(tmp_path / "out.json", run, rows).read_text())
    assert data["evalId"] == "run-1"
    assert set(data) >= {"evalId", "results", "config", "shareableUrl"}
    summary = data["results"]
    assert summary["version"] == 3
    assert summary["timestamp"] == "2026-01-02T03:04:05+00:00"
    assert len(summary["results"]) == TOTAL
    stats = summary["stats"]
    assert (stats["successes"], stats["failures"], stats["errors"]) == (
        SUCCESSES, FAILURES, ERRORS)
    assert stats["tokenUsage"]["total"] == 15 * (TOTAL - ERRORS)
    assert set(stats["tokenUsage"]) >= {"total", "prompt", "completion", "cached", "numRequests"}
    assert data["promptwork"]["summary"][0]["pass_rate"] == 0.75


def test_json_results_have_promptfoo_fields(tmp_path: Path, run: RunRecord,
                                            rows: list[dict[str, Any]]) -> None:
    data = json.loads(do_export(tmp_path / "out.json", run, rows).read_text())
    results = data["results"]["results"]
    for result in results:
        assert set(result) >= {"promptIdx", "testIdx", "vars", "prompt", "provider", "response",
                               "success", "score", "gradingResult", "latencyMs", "cost", "error",
                               "namedScores", "failureReason", "testCase", "tokenUsage"}
        assert set(result["prompt"]) >= {"raw", "label"}
        assert set(result["provider"]) >= {"id", "label"}
    first = results[0]
    assert first["testIdx"] == 0 and first["promptIdx"] == 0
    assert first["vars"] == {"city": "city 0", "n": 0}
    assert first["response"]["output"] == "ok"
    assert first["response"]["tokenUsage"] == {"total": 15, "prompt": 10, "completion": 5,
                                               "cached": 0, "numRequests": 1}
    assert first["success"] is True and first["score"] == 1.0
    assert first["latencyMs"] == 100.0 and first["cost"] == 0.001
    grading = first["gradingResult"]
    assert grading["pass"] is True and grading["reason"] == "all checks passed"
    assert [c["assertion"]["type"] for c in grading["componentResults"]] == [
        "contains", "latency"]
    assert first["namedScores"] == {"accuracy": 1.0}
    assert first["prompt"] == {"raw": "Prompt 0 about city 0", "label": "concise"}
    error = next(r for r in results if r["error"] is not None)
    assert error["failureReason"] == 2 and error["success"] is False
    assert error["gradingResult"] is None
    failed = next(r for r in results if r["failureReason"] == 1)
    assert failed["success"] is False and failed["gradingResult"]["pass"] is False


def test_json_prompt_index_follows_promptfoo(tmp_path: Path, run: RunRecord,
                                             rows: list[dict[str, Any]]) -> None:
    """promptfoo's prompts list is provider-major; promptIdx indexes it."""
    data = json.loads(do_export(tmp_path / "out.json", run, rows).read_text())
    prompts = data["results"]["prompts"]
    assert [(p["label"], p["provider"]) for p in prompts] == [
        ("concise", "gpt-mini"), ("detailed", "gpt-mini"),
        ("concise", "claude-haiku"), ("detailed", "claude-haiku")]
    for result in data["results"]["results"]:
        prompt = prompts[result["promptIdx"]]
        assert prompt["label"] == result["prompt"]["label"]
        assert prompt["provider"] == result["provider"]["label"]
        ours = result["metadata"]["promptwork"]
        assert result["promptIdx"] == ours["provider_idx"] * 2 + ours["prompt_idx"]
    metrics = prompts[0]["metrics"]  # concise x gpt-mini: 3 pass, 1 fail
    assert (metrics["testPassCount"], metrics["testFailCount"], metrics["testErrorCount"]) == (
        3, 1, 0)
    assert metrics["assertPassCount"] == 7 and metrics["assertFailCount"] == 1
    assert metrics["score"] == 3.0 and metrics["totalLatencyMs"] == 400.0
    assert prompts[2]["metrics"]["testErrorCount"] == 1
    assert prompts[0]["id"] == "hash0"


def test_json_test_index_counts_repeats(tmp_path: Path) -> None:
    run = make_run(repeat=2)
    rows = [make_row(t, repeat=r) for t in range(3) for r in range(2)]
    data = json.loads(do_export(tmp_path / "out.json", run, rows).read_text())
    assert [r["testIdx"] for r in data["results"]["results"]] == [0, 1, 2, 3, 4, 5]
    assert data["config"]["evaluateOptions"] == {"repeat": 2}


def test_json_of_an_empty_run(tmp_path: Path, run: RunRecord) -> None:
    data = json.loads(do_export(tmp_path / "out.json", run, []).read_text())
    assert data["results"]["results"] == []
    assert data["results"]["stats"]["successes"] == 0


def test_jsonl_one_result_per_line(tmp_path: Path, run: RunRecord,
                                   rows: list[dict[str, Any]]) -> None:
    lines = do_export(tmp_path / "out.jsonl", run, rows).read_text().splitlines()
    assert len(lines) == TOTAL
    results = [json.loads(line) for line in lines]
    assert sum(r["success"] for r in results) == SUCCESSES
    assert sum(r["failureReason"] == 2 for r in results) == ERRORS
    assert all({"promptIdx", "testIdx", "vars", "response"} <= set(r) for r in results)


# -- CSV ------------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_csv_one_row_per_result(tmp_path: Path, run: RunRecord,
                                rows: list[dict[str, Any]]) -> None:
    records = read_csv(do_export(tmp_path / "out.csv", run, rows))
    assert len(records) == TOTAL
    assert list(records[0])[:5] == ["test", "repeat", "description", "var_city", "var_n"]
    assert {"prompt", "provider", "output", "pass", "score", "reason", "error", "latency_ms",
            "cost", "prompt_tokens", "completion_tokens"} <= set(records[0])
    assert sum(r["pass"] == "true" for r in records) == SUCCESSES
    assert sum(r["status"] == "FAIL" for r in records) == FAILURES
    assert sum(r["status"] == "ERROR" for r in records) == ERRORS
    hostile = next(r for r in records if r["test"] == "3" and r["prompt"] == "detailed"
                   and r["provider"] == "gpt-mini")
    assert hostile["output"] == XSS  # commas, quotes and pipes round-trip
    assert records[0]["var_city"] == "city 0"


def test_csv_var_columns_are_the_union(tmp_path: Path, run: RunRecord) -> None:
    rows = [make_row(0, vars={"a": "1"}), make_row(1, vars={"b": "x,y\nz"})]
    records = read_csv(do_export(tmp_path / "out.csv", run, rows))
    assert [r["var_a"] for r in records] == ["1", ""]
    assert [r["var_b"] for r in records] == ["", "x,y\nz"]


def test_csv_neutralises_formulas(tmp_path: Path, run: RunRecord) -> None:
    rows = [make_row(0, output='=HYPERLINK("http://evil.example","x")',
                     vars={"n": "-5", "f": "@SUM(A1)"}),
            make_row(1, output="+1", vars={"n": "-2+3+cmd|' /C calc'!A0", "f": "x"})]
    records = read_csv(do_export(tmp_path / "out.csv", run, rows))
    assert records[0]["output"].startswith("'=HYPERLINK")
    assert records[0]["var_n"] == "-5"  # a plain number is left alone
    assert records[0]["var_f"] == "'@SUM(A1)"
    assert records[1]["output"] == "+1"
    assert records[1]["var_n"].startswith("'-2+3")
    assert csv_safe("") == "" and csv_safe("hello") == "hello"


# -- Markdown -------------------------------------------------------------------------------------

_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def test_markdown_tables(tmp_path: Path, run: RunRecord, rows: list[dict[str, Any]]) -> None:
    text = do_export(tmp_path / "out.md", run, rows).read_text()
    table_lines = [line for line in text.splitlines() if line.startswith("|")]
    # Summary: header + rule + 4 columns; matrix: header + rule + 4 tests.
    assert len(table_lines) == 12
    widths = {len(_CELL_SPLIT.split(line)) for line in table_lines[:6]}
    assert widths == {13}  # 10 columns and the named metric 'accuracy', every row
    widths = {len(_CELL_SPLIT.split(line)) for line in table_lines[6:]}
    assert widths == {7}  # test + 4 columns, even the row with a pipe in an output
    assert "**75.0% \\[30.1\u201395.4\\]**" not in text  # 75% is not the best
    # Two columns tie at 100%: no winner is marked (issue 18 §2: only a significant win).
    assert "**100.0% \\[51.0\u2013100.0\\]**" not in text
    rendered = outside_fences(text)  # fenced code blocks render nothing
    assert re.search(r"(?<!\\)<", rendered) is None  # every '<' escaped: no tag, no entity
    assert "&lt;" not in text and "<br>" not in text
    assert "![" not in rendered  # no remote markdown image renders
    assert "**PASS** 1.00" in text and "**ERROR** timed out after 30s" in text


def outside_fences(markdown: str) -> str:
    """The Markdown text without its fenced code blocks."""
    kept, fence = [], ""
    for line in markdown.splitlines():
        if fence:
            if line == fence:
                fence = ""
        elif line.startswith("```"):
            fence = line.rstrip("text").rstrip()
        else:
            kept.append(line)
    return "\n".join(kept)


def test_md_escape() -> None:
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("line1\nline2") == "line1 / line2"  # no <br>: wikis show it literally
    assert md_escape("<img src=x>") == "\\<img src=x\\>"  # no entity either
    assert md_escape("![x](http://e/i.png)") == "\\!\\[x\\](http://e/i.png)"


# -- JUnit XML ------------------------------------------------------------------------------------


def test_junit_xml(tmp_path: Path, run: RunRecord, rows: list[dict[str, Any]]) -> None:
    rows = [*rows, make_row(9, 0, 0, output="nul\x00 esc\x1b[0m \ufffe end", success=True)]
    root = ET.parse(do_export(tmp_path / "out.xml", run, rows)).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("17", "5", "1")
    suites = root.findall("testsuite")
    assert len(suites) == 4
    assert [s.get("name") for s in suites] == [
        "concise \u00d7 gpt-mini", "concise \u00d7 claude-haiku", "detailed \u00d7 gpt-mini",
        "detailed \u00d7 claude-haiku"]
    assert [(s.get("tests"), s.get("failures"), s.get("errors")) for s in suites] == [
        ("5", "1", "0"), ("4", "0", "1"), ("4", "0", "0"), ("4", "4", "0")]
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 17
    assert len(root.findall(".//failure")) == FAILURES
    errors = root.findall(".//error")
    assert len(errors) == 1 and errors[0].get("message") == "timed out after 30s"
    assert errors[0].get("type") == "timeout"
    failure = root.find(".//failure")
    assert failure is not None and failure.get("message") == "expected 'Paris'"
    assert "FAIL contains" in (failure.text or "")
    outs = [c.findtext("system-out") for c in cases]
    assert XSS in outs  # escaped in the file, intact once parsed
    assert any(o and "nul\\x00 esc\\x1b[0m" in o for o in outs)


def test_junit_repeat_names(tmp_path: Path) -> None:
    rows = [make_row(0, repeat=r) for r in range(2)]
    root = ET.parse(do_export(tmp_path / "out.xml", make_run(repeat=2), rows)).getroot()
    names = [c.get("name") for c in root.iter("testcase")]
    assert names == ["test 0: city=city 0, n=0", "test 0 repeat 1: city=city 0, n=0"]


# -- dispatch, streaming, atomicity ---------------------------------------------------------------


def test_html_export(tmp_path: Path, run: RunRecord, rows: list[dict[str, Any]]) -> None:
    text = do_export(tmp_path / "report.html", run, rows).read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in text


@pytest.mark.parametrize("name", ["out.txt", "out.yaml", "out"])
def test_unknown_extension(tmp_path: Path, run: RunRecord, rows: list[dict[str, Any]],
                           name: str) -> None:
    with pytest.raises(ConfigError) as info:
        do_export(tmp_path / name, run, rows)
    message = str(info.value)
    for ext in SUPPORTED:
        assert ext in message
    assert list(tmp_path.iterdir()) == []


def test_extension_is_case_insensitive(tmp_path: Path, run: RunRecord,
                                       rows: list[dict[str, Any]]) -> None:
    data = json.loads(do_export(tmp_path / "OUT.JSON", run, rows).read_text())
    assert data["results"]["version"] == 3


@pytest.mark.parametrize("ext", SUPPORTED)
def test_every_format_reads_a_one_shot_iterator(tmp_path: Path, run: RunRecord, ext: str) -> None:
    def generate() -> Iterator[dict[str, Any]]:
        for t in range(300):
            yield make_row(t, t % 2, 0, success=t % 3 != 0)

    rows = list(generate())
    columns = summarize(rows, PROMPTS, PROVIDERS)
    path = export(tmp_path / f"big{ext}", run, generate(), PROMPTS, PROVIDERS, columns)
    text = path.read_text()
    if ext == ".jsonl":
        assert len(text.splitlines()) == 300
    elif ext == ".json":
        assert len(json.loads(text)["results"]["results"]) == 300
    elif ext == ".csv":
        assert len(read_csv(path)) == 300
    elif ext == ".xml":
        assert ET.fromstring(text).get("tests") == "300"
    else:
        assert "#299" in text


def test_a_failed_export_leaves_nothing_behind(tmp_path: Path, run: RunRecord) -> None:
    def broken() -> Iterator[dict[str, Any]]:
        yield make_row(0)
        raise RuntimeError("database went away")

    target = tmp_path / "out.jsonl"
    target.write_text("previous\n")
    with pytest.raises(RuntimeError):
        export(target, run, broken(), PROMPTS, PROVIDERS, [])
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_exported_file_has_a_normal_mode(tmp_path: Path, run: RunRecord,
                                         rows: list[dict[str, Any]]) -> None:
    path = do_export(tmp_path / "out.csv", run, rows)
    assert path.stat().st_mode & 0o044  # readable by others, like any file the user writes

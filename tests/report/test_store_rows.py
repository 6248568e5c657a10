"""The writers read rows exactly as a real store returns them."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console

from promptwork.cases import CellKey, CellResult
from promptwork.checks.base import CheckResult
from promptwork.report.export import export
from promptwork.report.summary import summarize
from promptwork.report.terminal import matrix_table, summary_table
from promptwork.store import Store
from promptwork.types import Completion, Usage


def test_export_from_a_sqlite_store(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        settings = {"prompts": [{"label": "p", "hash": "h" * 64, "path": None}],
                    "providers": [{"id": "echo", "label": "echo", "settings": {}}], "repeat": 1}
        run_id = store.create_run("f" * 64, 3, settings, description="d")
        store.save_prompt("Say {{x}}", "p", "h" * 64)
        check = CheckResult(True, 1.0, "output contains 'a'", metric="m", check_type="contains")
        grade = CheckResult(True, 1.0, "all 1 checks passed", check_type="aggregate",
                            components=(check,))
        for t in range(3):
            cell = CellResult(
                key=CellKey(0, 0, t), vars={"x": f"<b>{t}</b>"}, prompt_text=f"Say {t}",
                completion=None if t == 2 else Completion(
                    text=f"a\x1b[31m{t}", provider="echo", usage=Usage(3, 4), latency_ms=12.5,
                    cost=None, finish_reason="stop"),
                grade=None if t == 2 else grade,
                error="boom" if t == 2 else None, error_kind="server" if t == 2 else None,
            )
            store.add_result(run_id, cell, "h" * 64, "echo")
        store.finish_run(run_id, "complete", None)
        run = store.get_run(run_id)
        columns = summarize(store.results(run_id), ["p"], ["echo"])
        assert (columns[0].passes, columns[0].errors) == (2, 1)

        data = json.loads(export(tmp_path / "r.json", run, store.results(run_id), ["p"],
                                 ["echo"], columns).read_text())
        stats = data["results"]["stats"]
        assert (stats["successes"], stats["failures"], stats["errors"]) == (2, 0, 1)
        first = data["results"]["results"][0]
        assert first["gradingResult"]["assertion"] is None
        assert first["gradingResult"]["componentResults"][0]["assertion"] == {
            "type": "contains", "metric": "m"}
        assert first["namedScores"] == {"m": 1.0}
        assert first["cost"] is None

        for ext in (".jsonl", ".csv", ".md", ".xml", ".html"):
            export(tmp_path / f"r{ext}", run, store.results(run_id), ["p"], ["echo"], columns)
        assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 3
        with (tmp_path / "r.csv").open(newline="") as f:
            assert len(list(csv.DictReader(f))) == 3
        assert ET.parse(tmp_path / "r.xml").getroot().get("errors") == "1"
        assert "&lt;b&gt;0&lt;/b&gt;" in (tmp_path / "r.html").read_text()

        console = Console(record=True, width=200, force_terminal=True)
        console.print(summary_table(columns))
        console.print(matrix_table(store.results(run_id), ["p"], ["echo"]))
        text = console.export_text()
        assert "\x1b" not in text and "a\\x1b[31m0" in text
    finally:
        store.close()

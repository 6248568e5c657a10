"""An error cell has no verdict, so it is stored and exported with no score (migration 0003)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from promptwork.cases import CellKey, CellResult
from promptwork.checks.base import CheckResult
from promptwork.evaluation import EvalRun
from promptwork.report.export import export
from promptwork.store import Store
from promptwork.store.db import _alembic_config
from promptwork.types import Completion

PROMPT_HASH = "b" * 64


def _stored(tmp_path: Path) -> tuple[Store, str]:
    store = Store.for_folder(tmp_path)
    store.save_prompt("prompt", "p", PROMPT_HASH)
    run_id = store.create_run("f" * 64, 3, {"prompts": [{"label": "p"}],
                                            "providers": [{"label": "s"}]})
    graded = CellResult(CellKey(0, 0, 0), {}, "prompt", Completion("out", "s"),
                        CheckResult(False, 0.25, "meh"))
    failed_call = CellResult(CellKey(0, 0, 1), {}, "prompt", error="timeout: slow",
                             error_kind="timeout")
    crashed = CellResult(CellKey(0, 0, 2), {}, "prompt", Completion("out", "s"),
                         error="contains: a promptwork bug", error_kind="internal",
                         error_detail="Traceback (most recent call last): ...")
    for cell in (graded, failed_call, crashed):
        store.add_result(run_id, cell, PROMPT_HASH, "s")
    return store, run_id


def test_errors_are_stored_with_a_null_score_and_exported_without_one(tmp_path: Path) -> None:
    store, run_id = _stored(tmp_path)
    rows = {r["test_idx"]: r for r in store.results(run_id)}
    assert [rows[i]["score"] for i in range(3)] == [0.25, None, None]
    assert rows[2]["grading"] == {"traceback": "Traceback (most recent call last): ..."}
    run = EvalRun(run_id, store)
    assert run.summary()[0]["mean_score"] == 0.25  # the mean of graded cells only
    for suffix in ("csv", "json", "jsonl"):
        export(tmp_path / f"out.{suffix}", run.record, run.rows(), run.prompt_labels,
               run.provider_labels, run.columns())
    with (tmp_path / "out.csv").open(newline="", encoding="utf-8") as f:
        assert [r["score"] for r in csv.DictReader(f)] == ["0.25", "", ""]
    results = json.loads((tmp_path / "out.json").read_text())["results"]["results"]
    assert [r["score"] for r in results] == [0.25, None, None]
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert [json.loads(line)["score"] for line in lines] == [0.25, None, None]
    store.close()


def test_resume_drops_error_cells_so_they_are_redone(tmp_path: Path) -> None:
    store, run_id = _stored(tmp_path)
    assert store.drop_errors(run_id) == 2
    assert store.done_keys(run_id) == {CellKey(0, 0, 0)}
    store.close()


def test_an_older_store_is_migrated_and_its_error_rows_lose_their_zero(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        conn.execute(text(
            "INSERT INTO prompts VALUES (:h, 'p', 'prompt', '2026-01-01 00:00:00')"),
            {"h": PROMPT_HASH})
        conn.execute(text(
            "INSERT INTO runs (id, created_at, status, fingerprint, total_cells, settings) "
            "VALUES ('r1', '2026-01-01 00:00:00', 'complete', 'f', 2, '{}')"))
        for test, error in ((0, None), (1, "timeout: slow")):
            conn.execute(text(
                "INSERT INTO results (run_id, prompt_idx, provider_idx, test_idx, repeat_idx, "
                "prompt_hash, provider_id, vars, prompt_text, error, success, score, cached, "
                "created_at) VALUES ('r1', 0, 0, :t, 0, :h, 's', '{}', 'prompt', :e, 0, 0.0, 0, "
                "'2026-01-01 00:00:00')"), {"h": PROMPT_HASH, "t": test, "e": error})
    engine.dispose()
    store = Store(f"sqlite:///{path}")
    assert [r["score"] for r in store.results("r1")] == [0.0, None]
    store.close()

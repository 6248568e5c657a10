"""``run.finished`` when a run finishes, and ``run.regressed`` when a run is significantly worse
(McNemar's exact test on the same tests) than the latest run of the production-labelled version
of the same suite."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

import promptwork as pw
from evalkit import write_suite
from promptwork.store import Store, schema
from promptwork.store.library import LabelRow, mirror_labels

WORDS = [f"w{i}" for i in range(10)]
GOOD = "---\nname: fruit\n---\n{{ word }} apple\n"
BAD = "---\nname: fruit\n---\n{{ word }}\n"


def events(store: Store, kind: str) -> list[dict[str, Any]]:
    e = schema.hook_events
    with store.engine.connect() as conn:
        return [dict(r[0]) for r in conn.execute(
            select(e.c.payload).where(e.c.kind == kind).order_by(e.c.id))]


def run(folder: Path, prompt: str, db: str, apple_words: int = 0) -> str:
    (folder / "fruit.prompt").write_text(prompt)
    tests = [{"vars": {"word": w if i >= apple_words else f"{w} apple"},
              "assert": [{"type": "icontains", "value": "apple"}]} for i, w in enumerate(WORDS)]
    suite = write_suite(folder, {"prompts": ["file://fruit.prompt"], "providers": ["echo"],
                                 "tests": tests})
    return pw.evaluate(suite, db=db).id


def label(store: Store, text: str) -> None:
    mirror_labels(store, [LabelRow("fruit", "production", hashlib.sha256(text.encode())
                                   .hexdigest(), "fruit.prompt", "test", datetime.now(UTC))])


def test_a_finished_run_is_an_event(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    run_id = run(tmp_path, GOOD, db)
    finished = events(Store(db), "run.finished")
    assert finished == [{"run_id": run_id, "kind": "eval", "status": "complete", "suite": str(
        tmp_path / "promptwork.yaml"), "description": None, "cells": 10, "passed": 10,
        "failed": 0, "errors": 0}]


def test_a_significantly_worse_run_than_production_regressed(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    store = Store(db)
    label(store, GOOD)
    base = run(tmp_path, GOOD, db)
    assert events(store, "run.regressed") == []  # the same version as its baseline: all pass
    worse = run(tmp_path, BAD, db)
    regressed = events(store, "run.regressed")
    assert len(regressed) == 1
    got = regressed[0]
    assert (got["run_id"], got["baseline_run_id"], got["prompt"]) == (worse, base, "fruit")
    assert (got["n"], got["regressions"], got["fixes"]) == (10, 10, 0)
    assert got["p_value"] < 0.05 and got["label"] == "production"


def test_a_small_drop_is_not_a_regression(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    store = Store(db)
    label(store, GOOD)
    run(tmp_path, GOOD, db)
    run(tmp_path, BAD, db, apple_words=8)  # 2 of 10 tests fail: not significant
    assert events(store, "run.regressed") == []


def test_no_label_no_regression_check(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    run(tmp_path, GOOD, db)
    run(tmp_path, BAD, db)
    store = Store(db)
    assert events(store, "run.regressed") == [] and len(events(store, "run.finished")) == 2

"""Each stored result keeps the generation parameters of its call (migration 0002)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from promptwork.cases import CellKey, CellResult
from promptwork.checks.base import CheckResult
from promptwork.store import Store
from promptwork.store.db import _alembic_config
from promptwork.types import Completion

PROMPT_HASH = "a" * 64


def _cell(test: int, params: dict[str, object]) -> CellResult:
    return CellResult(CellKey(0, 0, test), {"i": test}, "prompt",
                      Completion("out", "scripted"), CheckResult(True, 1.0, "ok"), params=params)


def _run(store: Store) -> str:
    store.save_prompt("prompt", "p", PROMPT_HASH)
    return store.create_run("f" * 64, 2, {"prompts": [{"label": "p"}],
                                          "providers": [{"label": "scripted"}]})


def test_each_result_keeps_its_params(tmp_path: Path) -> None:
    store = Store.for_folder(tmp_path)
    run_id = _run(store)
    store.add_result(run_id, _cell(0, {"temperature": 0.0, "max_tokens": 8}), PROMPT_HASH, "s")
    store.add_results(run_id, [(_cell(1, {"seed": 3}), PROMPT_HASH, "s")])
    assert [row["params"] for row in store.results(run_id)] == [
        {"temperature": 0.0, "max_tokens": 8}, {"seed": 3}]
    store.close()


def test_a_store_of_the_first_schema_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text(
            "INSERT INTO prompts VALUES (:h, 'p', 'prompt', '2026-01-01 00:00:00')"),
            {"h": PROMPT_HASH})
        conn.execute(text(
            "INSERT INTO runs (id, created_at, status, fingerprint, total_cells, settings) "
            "VALUES ('r1', '2026-01-01 00:00:00', 'complete', 'f', 1, '{}')"))
        conn.execute(text(
            "INSERT INTO results (run_id, prompt_idx, provider_idx, test_idx, repeat_idx, "
            "prompt_hash, provider_id, vars, prompt_text, success, score, cached, created_at) "
            "VALUES ('r1', 0, 0, 0, 0, :h, 's', '{}', 'prompt', 1, 1.0, 0, "
            "'2026-01-01 00:00:00')"), {"h": PROMPT_HASH})
    engine.dispose()
    store = Store(f"sqlite:///{path}")
    [row] = list(store.results("r1"))
    assert row["params"] is None and row["output"] is None
    store.close()

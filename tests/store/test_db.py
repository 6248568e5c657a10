"""Creating and migrating a store: safe when several processes open a fresh one at once."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text

from evalkit import clean_env, write_suite
from promptwork.store import Store
from promptwork.store.db import LOCK_NAME, SCHEMA_HEAD, STORE_DIR, current_revision

PROCESSES = 6
ROUNDS = 4


def _open_fresh(folder: str, barrier: Any, results: Any) -> None:
    barrier.wait()  # all processes open the (not yet existing) store at the same moment
    try:
        store = Store.for_folder(folder)
        store.create_run("f", 1, {})
        results.put("ok")
    except BaseException as exc:  # reported to the parent
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_fresh_store_at_once_all_succeed(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    for round_ in range(ROUNDS):
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
        procs = [ctx.Process(target=_open_fresh, args=(str(folder), barrier, results))
                 for _ in range(PROCESSES)]
        for proc in procs:
            proc.start()
        outcomes = [results.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
        assert outcomes == ["ok"] * PROCESSES, outcomes
        store = Store.for_folder(folder)
        assert current_revision(store.engine) == SCHEMA_HEAD
        assert len(store.list_runs()) == PROCESSES
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert (folder / STORE_DIR / LOCK_NAME).is_file()


def test_evals_started_together_in_a_fresh_folder_all_succeed(tmp_path: Path) -> None:
    """The reported failure: two ``promptwork eval`` at once raced on creating the store."""
    for round_ in range(2):
        folder = tmp_path / f"round{round_}"
        write_suite(folder, {"prompts": ["Say {{ w }}"], "providers": ["echo"],
                             "tests": [{"vars": {"w": "hi"},
                                        "assert": [{"type": "contains", "value": "hi"}]}]})
        procs = [subprocess.Popen(
            [sys.executable, "-c", "import sys; from promptwork.cli.main import main; "
             "sys.exit(main(['eval', '--no-progress', '--no-table']))"],
            cwd=folder, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True) for _ in range(3)]
        outcomes = [(proc.wait(timeout=120), proc.stderr.read() if proc.stderr else "")
                    for proc in procs]
        assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
        assert len(Store.for_folder(folder).list_runs()) == 3

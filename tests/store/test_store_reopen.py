"""Opening the same store again in one process (one ``evaluate()`` after another) is cheap and
safe: the engine is shared while the SQLite file is the same, and a run's prompt versions are
written with the run in one transaction."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, select

from promptwork.store import Store, schema
from promptwork.store.db import default_url


def test_the_same_file_shares_one_engine(tmp_path: Path) -> None:
    first, second = Store.for_folder(tmp_path), Store.for_folder(tmp_path)
    assert first.engine is second.engine
    run = first.create_run("f", 1, {})
    assert second.get_run(run).id == run
    first.close()  # closes pooled connections only: the other store goes on working
    assert second.get_run(run).id == run


def test_a_deleted_or_replaced_file_gets_a_new_engine_and_schema(tmp_path: Path) -> None:
    store = Store.for_folder(tmp_path)
    store.create_run("f", 1, {})
    db = Path(default_url(tmp_path).removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    again = Store.for_folder(tmp_path)
    assert again.engine is not store.engine
    assert again.list_runs() == []  # a fresh, migrated store
    assert db.is_file()


def test_in_memory_stores_are_not_shared() -> None:
    assert Store("sqlite://").engine is not Store("sqlite://").engine


def test_a_run_and_its_prompts_are_one_transaction(tmp_path: Path) -> None:
    store = Store.for_folder(tmp_path)
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda conn: commits.append(1))
    prompts = [("text a", "a", "a" * 64), ("text b", "b", "b" * 64), ("text a", "a", "a" * 64)]
    run = store.create_run("f", 2, {}, prompts=prompts)
    assert len(commits) == 1
    assert store.prompt_text("a" * 64) == "text a" and store.prompt_text("b" * 64) == "text b"
    # Known versions are not written again, by this store or by another one on the same file.
    store.create_run("f", 2, {}, prompts=prompts)
    other = Store.for_folder(tmp_path)
    other.create_run("f", 2, {}, prompts=[*prompts, ("text c", "c", "c" * 64)])
    other.save_prompts([("text d", "d", "d" * 64)])
    with store.engine.connect() as conn:
        hashes = sorted(conn.execute(select(schema.prompts.c.hash)).scalars())
    assert hashes == ["a" * 64, "b" * 64, "c" * 64, "d" * 64]
    assert store.get_run(run).total_cells == 2

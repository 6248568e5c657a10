"""Human ratings in the store: added next to the automated verdicts, latest per (cell, rater)
counting, withdrawn, joined with their results, attached to exported rows; the rater's name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from promptwork.cases import CellKey, CellResult
from promptwork.checks.base import CheckResult
from promptwork.errors import ConfigError
from promptwork.secrets import config_table
from promptwork.store import Store, schema
from promptwork.store.db import SCHEMA_HEAD, current_revision, make_engine
from promptwork.store.ratings import (
    add_rating,
    rated_results,
    rating_columns,
    resolve_rater,
    run_ratings,
    with_ratings,
    withdraw_rating,
)
from promptwork.types import Completion


def cell(prompt: int, test: int, *, passed: bool = True, error: str | None = None) -> CellResult:
    key = CellKey(prompt, 0, test)
    if error is not None:
        return CellResult(key, {"t": test}, "p", error=error)
    return CellResult(key, {"t": test}, "p", Completion(f"out{prompt}{test}", "s"),
                      CheckResult(passed, 1.0 if passed else 0.0, "", None, "equals"))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.for_folder(tmp_path)


@pytest.fixture
def run(store: Store) -> str:
    store.save_prompt("p", "p", "h")
    run_id = store.create_run("f", 4, {"prompts": [{"label": "a"}, {"label": "b"}],
                                       "providers": [{"label": "m"}]})
    for c in (cell(0, 0), cell(0, 1, passed=False), cell(1, 0, error="timeout"), cell(1, 1)):
        store.add_result(run_id, c, "h", "s")
    return run_id


def test_the_latest_rating_per_cell_and_rater_counts(store: Store, run: str) -> None:
    add_rating(store, run, CellKey(0, 0, 0), passed=False, rater="ada", comment="too terse")
    add_rating(store, run, CellKey(0, 0, 0), passed=True, rater="ada", score=0.75)
    add_rating(store, run, CellKey(0, 0, 0), passed=False, rater="bob")
    add_rating(store, run, CellKey(0, 0, 1), passed=True, rater="ada")
    got = [(r.cell.test, r.rater, r.passed, r.score, r.comment) for r in run_ratings(store, run)]
    assert got == [(0, "ada", True, 0.75, None), (0, "bob", False, None, None),
                   (1, "ada", True, None, None)]
    assert [r.rater for r in run_ratings(store, run, rater="bob")] == ["bob"]


def test_ratings_never_change_the_automated_verdicts(store: Store, run: str) -> None:
    before = list(store.results(run))
    add_rating(store, run, CellKey(0, 0, 1), passed=True, rater="ada")  # the checks failed it
    assert list(store.results(run)) == before


def test_withdrawing_keeps_the_history_but_stops_counting(store: Store, run: str) -> None:
    key = CellKey(0, 0, 0)
    add_rating(store, run, key, passed=True, rater="ada")
    add_rating(store, run, key, passed=False, rater="ada")
    add_rating(store, run, key, passed=True, rater="bob")
    assert withdraw_rating(store, run, key, "ada") == 2
    assert [r.rater for r in run_ratings(store, run)] == ["bob"]
    assert withdraw_rating(store, run, key, "ada") == 0  # nothing left to withdraw
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.ratings)).scalar_one() == 3
    add_rating(store, run, key, passed=True, rater="ada")  # rating again after withdrawing
    assert sorted(r.rater for r in run_ratings(store, run)) == ["ada", "bob"]


@pytest.mark.parametrize(("key", "kwargs", "message"), [
    (CellKey(0, 0, 9), {}, "no stored cell 0:0:9:0"),
    (CellKey(0, 0, 0), {"score": 1.5}, "between 0 and 1"),
    (CellKey(0, 0, 0), {"score": float("nan")}, "between 0 and 1"),
    (CellKey(0, 0, 0), {"rater": "  "}, "name is empty"),
    (CellKey(0, 0, 0), {"rater": "a\x1b[31m"}, "printable"),
])
def test_bad_ratings_are_refused(store: Store, run: str, key: CellKey,
                                 kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"passed": True, "rater": "ada", **kwargs}
    with pytest.raises(ConfigError, match=message):
        add_rating(store, run, key, **args)  # type: ignore[arg-type]
    assert run_ratings(store, run) == []


def test_rated_results_join_ratings_with_their_cells(store: Store, run: str) -> None:
    add_rating(store, run, CellKey(1, 0, 0), passed=False, rater="ada")  # an error cell
    add_rating(store, run, CellKey(0, 0, 1), passed=True, rater="ada", score=0.5)
    other = store.create_run("f", 1, {})
    store.add_result(other, cell(0, 0), "h", "s")
    add_rating(store, other, CellKey(0, 0, 0), passed=True, rater="ada")
    rated = rated_results(store, [run])
    assert [(r.rating.cell.test, r.rating.cell.prompt, r.row["output"], r.automated)
            for r in rated] == [(0, 1, None, None), (1, 0, "out01", False)]
    assert rated[1].rating.score == 0.5 and rated[1].row["test_idx"] == 1
    assert len(rated_results(store)) == 3  # every run
    assert len(rated_results(store, [run], rater="bob")) == 0


def test_with_ratings_marks_only_rated_rows(store: Store, run: str) -> None:
    add_rating(store, run, CellKey(0, 0, 1), passed=True, rater="ada", comment="fine")
    add_rating(store, run, CellKey(0, 0, 1), passed=False, rater="bob", score=0.25)
    rows = list(with_ratings(store, run, store.results(run)))
    rated = [r for r in rows if "ratings" in r]
    assert [(r["prompt_idx"], r["test_idx"]) for r in rated] == [(0, 1)]
    assert [(x["rater"], x["pass"]) for x in rated[0]["ratings"]] == [("bob", False),
                                                                     ("ada", True)]
    assert rating_columns(rated[0]) == {"rating_pass": False, "rating_score": 0.25,
                                        "rating_comment": None, "rater": "bob"}
    assert set(rating_columns(rows[0]).values()) == {None}


def test_deleting_a_run_deletes_its_ratings(store: Store, run: str) -> None:
    add_rating(store, run, CellKey(0, 0, 0), passed=True, rater="ada")
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM runs WHERE id = :id"), {"id": run})
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.ratings)).scalar_one() == 0


def test_a_store_of_the_previous_schema_gains_the_ratings_table(tmp_path: Path) -> None:
    from alembic import command

    from promptwork.store.db import _alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
    assert current_revision(engine) == "0005"
    engine.dispose()
    store = Store(url)
    assert current_revision(store.engine) == SCHEMA_HEAD  # 0006 or newer
    assert run_ratings(store, "none") == []


# -- the rater's name ------------------------------------------------------------------------------


def _config(tmp_path: Path, body: str, mode: int = 0o600) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    os.chmod(path, mode)
    return {"PROMPTWORK_CONFIG": str(path), "USER": "login"}


def test_the_rater_comes_from_the_argument_then_the_config_then_the_login(tmp_path: Path) -> None:
    env = _config(tmp_path, '[keys]\nOPENAI_API_KEY = "sk-secret-000000000000000000"\n'
                            '[ui]\nrater = "  Ada   L. "\n')
    assert resolve_rater("bob", env) == "bob"
    assert resolve_rater(None, env) == "Ada L."
    assert resolve_rater(None, {"PROMPTWORK_CONFIG": str(tmp_path / "none.toml"),
                                "USER": "login"}) == "login"


def test_a_config_rater_that_is_not_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[ui\] rater"):
        resolve_rater(None, _config(tmp_path, "[ui]\nrater = 3\n"))


def test_a_config_others_can_read_is_refused_and_keys_stay_private(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="chmod 600"):
        resolve_rater(None, _config(tmp_path, '[ui]\nrater = "ada"\n', mode=0o644))
    env = _config(tmp_path, '[keys]\nOPENAI_API_KEY = "sk-secret-000000000000000000"\n')
    with pytest.raises(ValueError, match="Secrets"):
        config_table("keys", env)
    assert config_table("ui", env) == {}

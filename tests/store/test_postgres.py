"""The same store code against a real PostgreSQL server.

A session fixture creates a throw-away cluster (``initdb``) in a temporary folder and starts it
on a free port of 127.0.0.1; each test gets a fresh database. Where no PostgreSQL server is
installed the tests are skipped with the reason (``pytest -rs`` shows it).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, text
from sqlalchemy.exc import IntegrityError

from evalkit import isolate_env, write_suite
from promptwork.calls import ModelCaller
from promptwork.cases import CellKey, CellResult
from promptwork.checks.base import CheckResult
from promptwork.cli.main import main
from promptwork.evaluation import evaluate
from promptwork.providers.scripted import ScriptedProvider
from promptwork.store import Store, schema
from promptwork.types import Completion, Params, RenderedPrompt, Usage

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: pip install "
                              "'promptwork[postgres]'")

NOT_INSTALLED = ("PostgreSQL not installed: .ci/run installs it; locally run "
                 "apt-get install -y postgresql")
PROMPT_HASH = "b" * 64


def _binaries() -> Path | None:
    """The folder holding initdb and pg_ctl (PATH first, then Debian's versioned folders)."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parent.parent.name.split(".")[0]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A running PostgreSQL cluster; yields the URL of its ``postgres`` database."""
    bindir = _binaries()
    if bindir is None:
        print(NOT_INSTALLED)
        pytest.skip(NOT_INSTALLED)
    as_user: list[str] = []
    root = tempfile.mkdtemp(prefix="promptwork-pg-")
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = os.path.join(root, "data"), os.path.join(root, "server.log")
    port = _free_port()

    def pg(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120,
                              cwd=root)

    init = pg(str(bindir / "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
              "-E", "UTF8", "--no-sync")
    assert init.returncode == 0, f"initdb failed: {init.stderr[-2000:]}"
    start = pg(str(bindir / "pg_ctl"), "-D", data, "-l", log, "-w", "-t", "60",
               "-o", f"-p {port} -h 127.0.0.1 -k {root} -F", "start")
    if start.returncode != 0:
        detail = Path(log).read_text()[-2000:] if Path(log).exists() else start.stderr
        pytest.fail(f"PostgreSQL did not start: {detail}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        pg(str(bindir / "pg_ctl"), "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    name = f"pw_{os.urandom(6).hex()}"
    admin = postgres_server
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


def cell(prompt: int, test: int, output: str = "out") -> CellResult:
    completion = Completion(text=output, provider="scripted", usage=Usage(3, 1),
                            latency_ms=2.0, cost=0.0, finish_reason="stop")
    return CellResult(CellKey(prompt, 0, test, 0), {"i": test, "nested": {"a": [1, 2]}},
                      f"prompt {test}", completion, CheckResult(True, 1.0, "ok"))


def test_migrations_create_the_schema_once(pg_url: str) -> None:
    store = Store(pg_url)
    assert store.engine.dialect.name == "postgresql"
    tables = set(inspect(store.engine).get_table_names())
    assert {"runs", "results", "prompts", "cache_entries", "alembic_version"} <= tables
    with store.engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    store.close()
    again = Store(pg_url)  # current schema: nothing to do
    with again.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == (
            version)
    again.close()


def test_a_suite_evaluates_into_postgres(pg_url: str, tmp_path: Path) -> None:
    path = write_suite(tmp_path, {
        "description": "on postgres",
        "prompts": ["Say {{ w }}", "Shout {{ w }}"],
        "providers": ["scripted"],
        "defaultTest": {"assert": [{"type": "contains", "value": "yes"}]},
        "tests": [{"vars": {"w": w}} for w in ("a", "b", "c")],
    })
    model = ScriptedProvider({"Shout b": "no", "*": "yes"})
    run = evaluate(path, db=pg_url, providers={0: model})
    assert not (tmp_path / ".promptwork").exists()  # nothing went to SQLite
    rows = list(run.rows())
    assert len(rows) == 6
    assert [(r["test_idx"], r["prompt_idx"]) for r in rows] == [
        (t, p) for t in range(3) for p in range(2)]
    assert run.stats() == {"successes": 5, "failures": 1, "errors": 0}
    assert rows[0]["vars"] == {"w": "a"} and rows[0]["grading"]["pass"] is True
    assert rows[0]["created_at"].tzinfo is not None
    record = run.record
    assert record.status == "complete" and record.done_cells == 6 == record.total_cells
    assert record.description == "on postgres"
    assert [c["pass_rate"] for c in run.summary()] == [1.0, pytest.approx(2 / 3)]
    store = Store(pg_url)
    assert store.prompt_text(rows[0]["prompt_hash"]) == "Say {{ w }}"
    assert [r.id for r in store.list_runs()] == [run.id]

    # Resuming on PostgreSQL skips the stored cells.
    again = ScriptedProvider(["yes"])
    resumed = evaluate(path, db=pg_url, providers={0: again}, resume=run.id)
    assert resumed.id == run.id and again.calls == []
    store.close()


def test_the_cli_takes_a_postgres_url(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_suite(tmp_path, {"prompts": ["{{ w }}"], "providers": ["echo"],
                           "tests": [{"vars": {"w": "hi"}, "assert": [
                               {"type": "equals", "value": "hi"}]}]})
    monkeypatch.chdir(tmp_path)
    # The server trusts every local login, so a password is accepted and ignored: it must
    # never be shown.
    url = pg_url.replace("postgres@", "postgres:PLANTEDpassword@", 1)
    assert main(["eval", "--no-progress", "--db", url]) == 0
    assert main(["runs", "list", "--db", url]) == 0
    assert main(["runs", "show", "no-such-run", "--db", url]) == 2
    out, err = capsys.readouterr()
    assert "1/1" in out and "127.0.0.1" in out
    assert "PLANTEDpassword" not in out + err
    assert not (tmp_path / ".promptwork").exists()


def test_the_cache_works(pg_url: str) -> None:
    store = Store(pg_url)
    store.cache_put("k", {"text": "one"})
    store.cache_put("k", {"text": "uno"})  # upsert
    assert store.cache_get("k") == {"text": "uno"} and store.cache_count() == 1
    with store.engine.begin() as conn:
        conn.execute(insert(schema.cache_entries).values(key="bad", value="{oops",
                                                         created_at=datetime.now(UTC)))
    assert store.cache_get("bad") is None
    assert store.cache_clear() == 2 and store.cache_get("k") is None
    store.close()


async def test_the_call_cache_on_postgres(pg_url: str) -> None:
    store = Store(pg_url)
    provider = ScriptedProvider(["fresh"])
    caller = ModelCaller(provider, cache=store)
    first = await caller.call(RenderedPrompt.from_text("hi"), Params())
    second = await caller.call(RenderedPrompt.from_text("hi"), Params())
    assert isinstance(first, Completion) and not first.cached
    assert isinstance(second, Completion) and second.cached and second.text == "fresh"
    assert len(provider.calls) == 1
    store.close()


def test_the_unique_cell_constraint_holds(pg_url: str) -> None:
    store = Store(pg_url)
    store.save_prompt("p", "p", PROMPT_HASH)
    run_id = store.create_run("f" * 64, 2, {})
    assert store.add_result(run_id, cell(0, 0, "first"), PROMPT_HASH, "scripted")
    assert not store.add_result(run_id, cell(0, 0, "second"), PROMPT_HASH, "scripted")
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(schema.results).values(
            run_id=run_id, prompt_idx=0, provider_idx=0, test_idx=0, repeat_idx=0,
            prompt_hash=PROMPT_HASH, provider_id="x", vars={}, prompt_text="", success=True,
            score=1.0, cached=False, created_at=datetime.now(UTC)))
    assert [r["output"] for r in store.results(run_id)] == ["first"]
    store.close()


def test_concurrent_writers(pg_url: str) -> None:
    store = Store(pg_url)
    store.save_prompt("p", "p", PROMPT_HASH)
    run_id = store.create_run("f" * 64, 200, {})
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        mine = Store(pg_url)
        try:
            for t in range(50):
                mine.add_result(run_id, cell(worker, t), PROMPT_HASH, "scripted")
                mine.save_prompt("p", "p", PROMPT_HASH)
        except BaseException as exc:
            errors.append(exc)
        finally:
            mine.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.done_keys(run_id) == {CellKey(w, 0, t, 0) for w in range(4) for t in range(50)}
    store.close()


@pytest.mark.parametrize("round_", range(3))
def test_stores_opening_a_fresh_database_at_once_all_succeed(pg_url: str, round_: int) -> None:
    """The migration runs under an advisory lock: the others wait, then find the schema made."""
    barrier = threading.Barrier(5)
    errors: list[BaseException] = []

    def open_store() -> None:
        barrier.wait()
        try:
            Store(pg_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    store = Store(pg_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    store.close()


def test_column_metrics_in_postgres(pg_url: str, tmp_path: Path) -> None:
    """The matrix summary's named metrics are computed by PostgreSQL's JSON functions too."""
    from promptwork.report.summary import summarize
    from promptwork.store.matrix import column_metrics

    path = write_suite(tmp_path, {
        "prompts": ["Say {{ w }}"], "providers": ["scripted"],
        "tests": [{"vars": {"w": w}, "assert": [
            {"type": "contains", "value": "yes", "metric": "agree"},
            {"type": "contains", "value": "!", "metric": "loud"}]} for w in ("a", "b", "c")],
    })
    run = evaluate(path, db=pg_url, providers={0: ScriptedProvider({"Say a": "yes!", "*": "no"})})
    store = Store(pg_url)
    [col] = summarize(list(store.results(run.id)), [], [])
    got = column_metrics(store, run.id)
    assert list(got[(0, 0)]) == ["agree", "loud"]
    assert got[(0, 0)] == pytest.approx(col.named_means) == {"agree": 1 / 3, "loud": 1 / 3}
    store.close()


def test_check_filter_and_stored_column_figures_in_postgres(pg_url: str, tmp_path: Path) -> None:
    """The matrix's check filter reads the grading's structure with PostgreSQL's JSON path
    functions, and a finished run's column figures are stored (migration 0008) and read back."""
    from promptwork.store.columnfigures import column_figures
    from promptwork.store.matrix import MatrixFilter, column_metrics, page_of_tests

    path = write_suite(tmp_path, {
        "prompts": ["Say {{ w }}"], "providers": ["scripted"],
        "tests": [{"vars": {"w": w}, "assert": [
            {"type": "contains", "value": "yes", "metric": "Agree"}] if w == "a" else [
            {"type": "equals", "value": "no"}]} for w in ("a", "b", "c")],
    })
    run = evaluate(path, db=pg_url, providers={0: ScriptedProvider({"Say a": "yes!", "*": "no"})})
    store = Store(pg_url)
    assert page_of_tests(store, run.id, MatrixFilter(check="agree"))[0] == [0]
    assert page_of_tests(store, run.id, MatrixFilter(check="EQUALS"))[0] == [1, 2]
    assert page_of_tests(store, run.id, MatrixFilter(check="yes"))[0] == []
    numbers, metrics = column_figures(store, store.get_run(run.id))
    assert (numbers[0].passes, numbers[0].fails) == (3, 0)
    assert metrics == column_metrics(store, run.id) == {(0, 0): {"Agree": 1.0}}
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM column_figures WHERE run_id = :r"),
                              {"r": run.id}).scalar_one()
    assert stored == 1
    store.close()

"""The SQLite result store: pragmas, concurrent writers, cache, uniqueness, and no stored secrets.

Reliability notes, items 11 (cache), 12 (SQLite under concurrent load) and 19 (planted keys).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from evalkit import FAKE_KEY, db_file, fake_provider, isolate_env, sqlite_rows, write_suite
from fakeserver import FakeServer, Fault
from promptwork.calls import CallPolicy, ModelCaller, cache_key
from promptwork.cases import CellKey, CellResult
from promptwork.checks.base import CheckResult
from promptwork.cli.main import main
from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.registry import create_provider
from promptwork.providers.scripted import ScriptedProvider
from promptwork.store import Store, schema
from promptwork.types import Completion, Params, RenderedPrompt, Usage

#: Seconds the concurrent writers and the reader run. The reliability note asks for a minute; the
#: default keeps the suite fast (lock contention shows within the first seconds: every writer
#: commits hundreds of times per second). Raise it for a soak run.
CONCURRENCY_SECONDS = 5.0
WRITERS = 4
PROMPT_HASH = "a" * 64


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.for_folder(tmp_path)
    yield s
    s.close()


def cell(prompt: int, test: int, output: str = "out", repeat: int = 0) -> CellResult:
    completion = Completion(text=output, provider="scripted", usage=Usage(3, 1),
                            latency_ms=1.5, cost=0.0, finish_reason="stop")
    grade = CheckResult(True, 1.0, "ok", check_type="contains")
    return CellResult(CellKey(prompt, 0, test, repeat), {"i": test}, f"prompt {test}",
                      completion, grade)


def new_run(store: Store, total: int = 10) -> str:
    store.save_prompt("prompt {{ i }}", "p", PROMPT_HASH)
    return store.create_run("f" * 64, total, {"prompts": [{"label": "p"}],
                                              "providers": [{"label": "scripted"}]})


# -- SQLite settings -------------------------------------------------------------------------------


def test_sqlite_uses_wal_and_a_busy_timeout(store: Store) -> None:
    with store.engine.connect() as conn:
        pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                  for name in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")}
    assert pragma["journal_mode"] == "wal"
    assert int(str(pragma["busy_timeout"])) >= 5000
    assert str(pragma["synchronous"]) == "1"  # NORMAL: durable against kill -9 in WAL mode
    assert str(pragma["foreign_keys"]) == "1"
    assert store.url.endswith(".promptwork/promptwork.db")


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    Store.for_folder(tmp_path).close()
    again = Store.for_folder(tmp_path)  # a second open finds the schema current
    with again.engine.connect() as conn:
        tables = {r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "results", "prompts", "cache_entries", "alembic_version"} <= tables
    again.close()


def test_a_bad_database_url_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        Store("not a url at all")
    with pytest.raises(ConfigError):
        Store(f"sqlite:///{tmp_path}/missing-folder/x.db")


# -- results ---------------------------------------------------------------------------------------


def test_results_round_trip_and_the_unique_cell_constraint(store: Store) -> None:
    run_id = new_run(store)
    assert store.add_result(run_id, cell(0, 0, "first"), PROMPT_HASH, "scripted")
    assert not store.add_result(run_id, cell(0, 0, "second"), PROMPT_HASH, "scripted")
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(schema.results).values(
            run_id=run_id, prompt_idx=0, provider_idx=0, test_idx=0, repeat_idx=0,
            prompt_hash=PROMPT_HASH, provider_id="x", vars={}, prompt_text="", success=True,
            score=1.0, cached=False, created_at=datetime.now(UTC)))
    rows = list(store.results(run_id))
    assert len(rows) == 1 and rows[0]["output"] == "first"
    assert rows[0]["grading"]["pass"] is True and rows[0]["vars"] == {"i": 0}
    assert store.done_keys(run_id) == {CellKey(0, 0, 0, 0)}
    record = store.get_run(run_id[:12])
    assert record.done_cells == 1 and record.status == "running"
    store.finish_run(run_id, "complete", {"n": 1})
    assert store.list_runs()[0].status == "complete"
    assert store.prompt_text(PROMPT_HASH) == "prompt {{ i }}"


def test_results_come_back_in_matrix_order(store: Store) -> None:
    run_id = new_run(store)
    for prompt, test in [(1, 1), (0, 1), (1, 0), (0, 0)]:
        store.add_result(run_id, cell(prompt, test), PROMPT_HASH, "scripted")
    assert [(r["test_idx"], r["prompt_idx"]) for r in store.results(run_id)] == [
        (0, 0), (0, 1), (1, 0), (1, 1)]


def test_run_lookup_errors_are_bad_input(store: Store) -> None:
    with pytest.raises(ConfigError, match="no runs"):
        store.get_run()
    new_run(store)
    with pytest.raises(ConfigError, match="no run 'zzz'"):
        store.get_run("zzz")


# -- the cache (item 11) ---------------------------------------------------------------------------


def test_cache_get_put_overwrite_and_clear(store: Store) -> None:
    assert store.cache_get("k1") is None
    store.cache_put("k1", {"text": "one"})
    store.cache_put("k2", {"text": "two"})
    assert store.cache_get("k1") == {"text": "one"}
    store.cache_put("k1", {"text": "uno"})
    assert store.cache_get("k1") == {"text": "uno"} and store.cache_count() == 2
    assert store.cache_clear() == 2
    assert store.cache_get("k2") is None and store.cache_count() == 0


def test_cache_entries_are_json_text_not_pickle(store: Store) -> None:
    store.cache_put("k", {"text": "hello", "logprobs": [["a", -0.5]]})
    with store.engine.connect() as conn:
        raw = conn.execute(text("SELECT value FROM cache_entries WHERE key = 'k'")).scalar_one()
    assert isinstance(raw, str) and json.loads(raw)["text"] == "hello"


@pytest.mark.parametrize("value", ["{not json", "[1, 2, 3]", "", "null", '"text"'])
def test_a_corrupt_cache_entry_is_a_miss(store: Store, value: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(schema.cache_entries).values(
            key="bad", value=value, created_at=datetime.now(UTC)))
    assert store.cache_get("bad") is None


async def test_a_corrupt_cache_entry_is_called_again_and_repaired(store: Store) -> None:
    provider = ScriptedProvider(["fresh"])
    prompt, params = RenderedPrompt.from_text("hi"), Params(temperature=0)
    key = cache_key(provider, prompt, params)
    with store.engine.begin() as conn:
        conn.execute(insert(schema.cache_entries).values(
            key=key, value='{"no_text": 1}',
            created_at=datetime.now(UTC)))
    caller = ModelCaller(provider, cache=store)
    out = await caller.call(prompt, params)
    assert isinstance(out, Completion) and out.text == "fresh" and not out.cached
    assert len(provider.calls) == 1
    assert (store.cache_get(key) or {}).get("text") == "fresh"
    again = await caller.call(prompt, params)
    assert isinstance(again, Completion) and again.cached and len(provider.calls) == 1


async def test_what_the_cache_key_holds_against_a_real_endpoint(
    store: Store, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Item 11: a repeat makes no call; model, base URL, prompt and params miss; the API key is
    neither part of the key nor stored; errors are not cached."""
    other = FakeServer().start()
    made: list[Any] = []

    def caller(model: str = "m1", url: str | None = None) -> ModelCaller:
        provider = create_provider(f"openai:chat:{model}",
                                   {"base_url": url or fake_server.base_url, "timeout": 5})
        made.append(provider)
        return ModelCaller(provider, cache=store, policy=CallPolicy(max_attempts=1))

    hi, params = RenderedPrompt.from_text("hi"), Params(temperature=0)
    try:
        assert isinstance(await caller().call(hi, params), Completion)
        again = await caller().call(hi, params)
        assert isinstance(again, Completion) and again.cached
        assert len(fake_server.requests) == 1
        await caller("m2").call(hi, params)  # another model
        await caller().call(RenderedPrompt.from_text("hi!"), params)  # another prompt
        await caller().call(hi, Params(temperature=0.5))  # other params
        assert len(fake_server.requests) == 4
        await caller(url=other.base_url).call(hi, params)  # another endpoint
        assert len(other.requests) == 1

        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-another-key-0123456789")
        rekeyed = await caller().call(hi, params)  # another key: the same answer
        assert isinstance(rekeyed, Completion) and rekeyed.cached
        assert len(fake_server.requests) == 4

        fake_server.push(Fault(status=500))
        failed = await caller("m3").call(hi, params)
        assert isinstance(failed, ProviderError)
        assert isinstance(await caller("m3").call(hi, params), Completion)  # not cached
        assert len(fake_server.requests) == 6
    finally:
        for provider in made:
            await provider.aclose()
        other.stop()
    for path in (tmp_path / ".promptwork").iterdir():  # the database and its WAL
        data = path.read_bytes()
        assert FAKE_KEY.encode() not in data and b"sk-test-another-key" not in data


# -- many writers and a reader (item 12) -----------------------------------------------------------


def _writer(url: str, run_id: str, worker: int, seconds: float, out: Any) -> None:
    try:
        store = Store(url)
        n = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not store.add_result(run_id, cell(worker, n), PROMPT_HASH, "scripted"):
                raise AssertionError(f"writer {worker}: row {n} already stored")
            if n % 10 == 0:
                store.cache_put(f"w{worker}-{n}", {"text": str(n)})
            n += 1
        out.put(("rows", worker, n))
    except Exception as exc:
        out.put(("error", worker, f"{type(exc).__name__}: {exc}"))


def _reader(url: str, run_id: str, seconds: float, out: Any) -> None:
    try:
        store = Store(url)
        reads = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rows = sum(1 for _ in store.results(run_id))
            done = len(store.done_keys(run_id))
            store.get_run(run_id)
            store.list_runs()
            store.cache_get("w0-0")
            assert rows <= done + 10_000
            reads += 1
        out.put(("reads", -1, reads))
    except Exception as exc:
        out.put(("error", -1, f"{type(exc).__name__}: {exc}"))


def test_concurrent_writers_and_a_reader_never_see_database_is_locked(
    store: Store, tmp_path: Path
) -> None:
    run_id = new_run(store)
    store.engine.dispose()  # no open SQLite connection may cross the fork
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(store.url, run_id, w, CONCURRENCY_SECONDS, out))
             for w in range(WRITERS)]
    procs.append(ctx.Process(target=_reader, args=(store.url, run_id, CONCURRENCY_SECONDS, out)))
    for p in procs:
        p.start()
    reports = [out.get(timeout=CONCURRENCY_SECONDS + 120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [r for r in reports if r[0] == "error"]
    assert not errors, errors
    written = {worker: n for kind, worker, n in reports if kind == "rows"}
    assert len(written) == WRITERS and all(n >= 100 for n in written.values()), written
    assert next(n for kind, _, n in reports if kind == "reads") > 0
    stored = store.done_keys(run_id)
    assert len(stored) == sum(written.values())
    assert stored == {CellKey(w, 0, t, 0) for w, n in written.items() for t in range(n)}
    assert sqlite_rows(db_file(tmp_path), "PRAGMA integrity_check") == [("ok",)]


# -- no stored secrets (item 19) -------------------------------------------------------------------


EXPORTS = ("out.json", "out.jsonl", "out.csv", "out.md", "out.xml", "out.html")


def test_planted_keys_never_reach_the_store_exports_or_logs(
    tmp_path: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    token = secrets.token_hex(12)
    planted = {
        "OPENAI_API_KEY": f"sk-test-PLANTED{token}a",
        "CUSTOM_KEY": f"plainPLANTED{token}b",  # not key-shaped: only its value gives it away
        "ANTHROPIC_API_KEY": f"sk-ant-PLANTED{token}c",
        "GEMINI_API_KEY": f"AIzaPLANTED{token}d",
    }
    header_key = f"sk-proj-PLANTED{token}e"
    for name, value in planted.items():
        monkeypatch.setenv(name, value)
    base = fake_provider(fake_server.base_url)
    write_suite(tmp_path, {
        "prompts": ["Tell me {{ i }}"],
        "providers": [
            {**base, "label": "env key", "config": {**base["config"],
                                                    "headers": {"x-api-key": header_key}}},
            {**base, "label": "custom key", "config": {**base["config"],
                                                       "api_key_env": "CUSTOM_KEY"}},
        ],
        "tests": [{"vars": {"i": i}} for i in range(2)],
    })
    # Every request is refused with a body that quotes its key headers; one cell succeeds.
    fake_server.push(*[Fault(echo_auth=True) for _ in range(3)])
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)
    args = ["eval", "--no-progress"]
    for name in EXPORTS:
        args += ["-o", name]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 101, err  # no check failed; the refused calls are errors

    # The secrets did travel (the test would prove nothing otherwise)...
    sent = {r.headers.get("authorization") for r in fake_server.requests}
    assert f"Bearer {planted['OPENAI_API_KEY']}" in sent
    assert f"Bearer {planted['CUSTOM_KEY']}" in sent
    assert any(r.headers.get("x-api-key") == header_key for r in fake_server.requests)
    rows = sqlite_rows(db_file(tmp_path), "SELECT error FROM results WHERE error IS NOT NULL")
    assert len(rows) == 3 and all("Received headers" in r[0] for r in rows)
    assert all("[REDACTED]" in r[0] for r in rows)

    # ... and are nowhere in what promptwork wrote or printed.
    needle = token[:8].encode()
    store_files = [p for p in (tmp_path / ".promptwork").iterdir() if p.is_file()]
    assert store_files
    for path in [*store_files, *(tmp_path / name for name in EXPORTS)]:
        assert path.stat().st_size > 0, path
        assert needle not in path.read_bytes(), f"a planted key is in {path.name}"
    for name, captured in (("stdout", out), ("stderr", err), ("logs", caplog.text)):
        assert token[:8] not in captured, f"a planted key is in {name}"


def test_schema_head_constant_matches_the_migrations() -> None:
    # An up-to-date store opens without importing Alembic by comparing with SCHEMA_HEAD.
    from promptwork.store.db import SCHEMA_HEAD, migrations_head

    assert migrations_head() == SCHEMA_HEAD

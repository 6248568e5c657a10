"""``eval --max-calls`` and ``--max-cost``: a run stops cleanly, never past the call limit, and
``--resume`` finishes it without asking anything twice (a fake OpenAI server counts requests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evalkit import db_file, fake_provider, isolate_env, sqlite_rows, write_suite
from fakeserver import FakeServer
from promptwork.cli.main import main
from promptwork.errors import ProviderError
from promptwork.limits import Limits, RunLimits
from promptwork.providers.scripted import ScriptedProvider
from promptwork.types import Params, RenderedPrompt


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)


def _suite(folder: Path, server: FakeServer, n: int = 5, **config: Any) -> None:
    write_suite(folder, {
        "prompts": ["Question {{ n }}"], "providers": [fake_provider(server.base_url, **config)],
        "tests": [{"vars": {"n": i}, "assert": [{"type": "contains", "value": "fake"}]}
                  for i in range(n)],
    })


def _eval(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["eval", "--no-progress", "--no-table", *args])
    return code, capsys.readouterr().err


def _runs(folder: Path) -> list[tuple[str, str, int]]:
    return sqlite_rows(db_file(folder), "SELECT id, status, (SELECT count(*) FROM results r "
                       "WHERE r.run_id = runs.id) FROM runs ORDER BY created_at")


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_max_calls_stops_the_run_and_resume_finishes_it(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str],
    concurrency: str,
) -> None:
    _suite(tmp_path, fake_server)
    code, err = _eval(capsys, "--max-calls", "2", "-j", concurrency)
    assert code == 100 and len(fake_server.requests) == 2
    assert "stopped: --max-calls 2 reached; 2 of 5 cells done" in err
    [(run_id, status, cells)] = _runs(tmp_path)
    assert (status, cells) == ("interrupted", 2)  # the refused cells are not stored
    assert f"promptwork eval --resume {run_id}" in err
    code, err = _eval(capsys, "--resume", run_id, "--max-calls", "2", "-j", concurrency)
    assert code == 100 and len(fake_server.requests) == 4 and "4 of 5 cells done" in err
    code, err = _eval(capsys, "--resume", run_id)
    assert code == 0 and len(fake_server.requests) == 5 and "stopped" not in err
    assert _runs(tmp_path) == [(run_id, "complete", 5)]
    asked = [r.json["messages"][-1]["content"] for r in fake_server.requests]
    assert sorted(asked) == [f"Question {i}" for i in range(5)]  # none asked twice


def test_cache_hits_do_not_count_toward_max_calls(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str],
) -> None:
    _suite(tmp_path, fake_server, n=3)
    assert _eval(capsys)[0] == 0 and len(fake_server.requests) == 3
    _suite(tmp_path, fake_server, n=4)  # 3 cached cells and a new one
    code, err = _eval(capsys, "--max-calls", "1")
    assert code == 0 and len(fake_server.requests) == 4, err


def test_max_cost_stops_once_reached(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str],
) -> None:
    # a dollar per token: every call costs several dollars, so the first one reaches $1
    _suite(tmp_path, fake_server, price={"input": 1e6, "output": 1e6})
    code, err = _eval(capsys, "--max-cost", "1", "-j", "1")
    assert code == 100 and len(fake_server.requests) == 1
    assert "stopped: --max-cost 1 reached ($" in err and "1 of 5 cells done" in err


def test_max_cost_with_an_unknown_price_is_refused_before_any_call(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str],
) -> None:
    _suite(tmp_path, fake_server)  # fake-model: no listed price
    code, err = _eval(capsys, "--max-cost", "0.5")
    assert code == 2 and fake_server.requests == []
    assert "--max-cost cannot be enforced: the price of openai:chat:fake-model is unknown" in err


async def test_the_wrapper_is_the_provider_for_everything_but_the_limit() -> None:
    inner = ScriptedProvider(("a", "b", "c"), id="scripted:x", label="x")
    inner.config_params = Params(temperature=0.5)
    limits = RunLimits(Limits(max_calls=2))
    wrapped = limits.wrap(inner)
    assert (wrapped.id, wrapped.label) == ("scripted:x", "x")
    assert wrapped.cache_identity() == inner.cache_identity()
    assert wrapped.config_params == Params(temperature=0.5)
    prompt = RenderedPrompt.from_text("hi")
    outcomes = await wrapped.complete_batch([(prompt, Params())] * 3)
    assert [getattr(o, "text", None) for o in outcomes[:2]] == ["a", "b"]
    assert limits.refused(outcomes[2]) and len(inner.calls) == 2
    assert limits.stopped == "--max-calls 2 reached"
    with pytest.raises(ProviderError, match="not sent: --max-calls 2 reached"):
        await wrapped.complete(prompt, Params())
    assert len(inner.calls) == 2
    assert RunLimits(Limits()).wrap(inner) is inner  # no limit: no wrapper

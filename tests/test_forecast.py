"""``eval --dry-run``: cells, calls after the cache, and a cost and time forecast per provider,
printed before any model call (a fake OpenAI server proves that none is made)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evalkit import fake_provider, isolate_env, write_suite
from fakeserver import FakeServer
from promptwork.cli.main import main


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)


def _suite(folder: Path, server: FakeServer, n: int, **config: Any) -> None:
    write_suite(folder, {
        "prompts": [{"id": "{{ text }}", "config": {"max_tokens": 10}}],
        "providers": [{**fake_provider(server.base_url, **config), "label": "vendor"}, "echo"],
        "tests": [{"vars": {"text": "x" * 399}} for _ in range(n - 1)]
                 + [{"vars": {"text": "y" * 399}}],
    })


def _dry_run(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert main(["eval", "--dry-run", *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_dry_run_forecasts_without_calling_and_counts_the_cache(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str],
) -> None:
    # $1,000 / $2,000 per million tokens: a 399-character prompt is ~100 tokens, answers 10:
    # $0.12 a call
    _suite(tmp_path, fake_server, 4, price={"input": 1000, "output": 2000})
    lines = _dry_run(capsys)
    assert fake_server.requests == []
    assert lines[0] == "dry run: no model was called"
    assert lines[1].startswith("8 cells, 8 model calls after the cache; forecast cost $0.4800")
    vendor = next(line for line in lines if line.strip().startswith("vendor:"))
    assert "4 cells, 0 answered by the cache, 4 model calls; cost $0.4800" in vendor
    assert "time unknown (no recorded calls to this model yet)" in vendor
    echo = next(line for line in lines if line.strip().startswith("echo:"))
    assert "cost none (a local or free model)" in echo
    # after a run, every request is cached: new cells with the same prompts make no call
    assert main(["eval", "--no-progress", "--no-table"]) in (0, 100)
    capsys.readouterr()
    sent = len(fake_server.requests)
    assert 2 <= sent <= 4
    _suite(tmp_path, fake_server, 6, price={"input": 1000, "output": 2000})  # 2 more x-cells
    lines = _dry_run(capsys)
    assert len(fake_server.requests) == sent
    vendor = next(line for line in lines if line.strip().startswith("vendor:"))
    assert "6 cells, 6 answered by the cache, 0 model calls; cost $0.0000; time none" in vendor


def test_dry_run_time_comes_from_recorded_latencies(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str],
) -> None:
    _suite(tmp_path, fake_server, 2)
    assert main(["eval", "--no-progress", "--no-table"]) in (0, 100)
    capsys.readouterr()
    sent = len(fake_server.requests)
    lines = _dry_run(capsys, "--no-cache")
    assert len(fake_server.requests) == sent
    vendor = next(line for line in lines if line.strip().startswith("vendor:"))
    assert "2 model calls; cost unknown (no price listed" in vendor
    assert f"of {sent} recorded calls, 4 at a time)" in vendor and "time about " in vendor


def test_dry_run_reports_input_errors_before_any_call(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str],
) -> None:
    write_suite(tmp_path, {"prompts": ["{{ missing }}"],
                           "providers": [fake_provider(fake_server.base_url)],
                           "tests": [{"vars": {"other": 1}}]})
    assert main(["eval", "--dry-run"]) == 2
    assert "missing" in capsys.readouterr().err and fake_server.requests == []

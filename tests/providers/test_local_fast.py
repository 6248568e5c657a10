"""Fast embedded decoding, the opt-in (issue 18, point 1): ``decoding: fast`` / ``--fast-decoding``.

It is selected by the switch, decodes in worker processes of its own with llama.cpp's stock
kernels, is recorded in the run settings and in each cell's cache identity (``numerics: fast``),
is said in the run summary (terminal and HTML), and its cached answers never serve a
batch-invariant run (nor the reverse).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from evalkit import db_file, isolate_env, sqlite_rows, write_suite
from promptwork.calls import cache_key
from promptwork.cli.main import main
from promptwork.errors import ConfigError
from promptwork.providers.local import LocalProvider
from promptwork.providers.local_models import ModelPool
from promptwork.report.notes import FAST_DECODING_NOTE, run_notes
from promptwork.types import Params, RenderedPrompt


def test_fast_decoding_has_its_own_numerics_and_cache_keys() -> None:
    pool = ModelPool()  # nothing is loaded: identities only
    fast = LocalProvider("local:gemma3-270m", "gemma3-270m", {"decoding": "fast", "workers": 1},
                         pool=pool)
    invariant = LocalProvider("local:gemma3-270m", "gemma3-270m", {"workers": 1}, pool=pool)
    assert fast.cache_identity()["numerics"] == "fast"
    assert fast.cache_identity()["decoding"] == "fast"
    assert invariant.cache_identity()["numerics"] == "batch-invariant"
    assert fast.capabilities.batching  # cells reach it in groups, as batched decoding's do
    prompt, params = RenderedPrompt.from_text("1, 2, 3,"), Params(temperature=0, max_tokens=2)
    assert cache_key(fast, prompt, params) != cache_key(invariant, prompt, params)


def test_an_unknown_decoding_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="'batched', 'sequential' or 'fast', got 'quick'"):
        LocalProvider("local:gemma3-270m", "gemma3-270m", {"decoding": "quick"},
                      pool=ModelPool())


def test_the_summary_says_which_models_decoded_fast() -> None:
    settings = {"providers": [
        {"id": "local:gemma3-270m", "label": "gemma fast",
         "settings": {"provider": "local", "numerics": "fast"}},
        {"id": "local:smollm2", "label": "smol",
         "settings": {"provider": "local", "numerics": "batch-invariant"}},
    ]}
    assert f"{FAST_DECODING_NOTE} (gemma fast)" in run_notes(settings)
    invariant = {"providers": settings["providers"][1:]}
    assert not any("fast decoding" in note for note in run_notes(invariant))


def test_fast_decoding_and_sequential_exclude_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    isolate_env(monkeypatch, tmp_path)
    assert main(["eval", "--fast-decoding", "--sequential", "-c", str(tmp_path)]) == 2
    assert "--fast-decoding and --sequential exclude each other" in capsys.readouterr().err


@pytest.mark.embedded
def test_fast_decoding_runs_in_processes_with_the_stock_kernels() -> None:
    """Its groups, small ones included, go to worker processes whose environment does not turn
    the tiled kernels off (this process's batch-invariant setting), and give answers."""
    pool = ModelPool()
    provider = LocalProvider("local:gemma3-270m", "gemma3-270m",
                             {"decoding": "fast", "workers": 1}, pool=pool)
    try:
        params = Params(temperature=0, max_tokens=3)
        texts = ["1, 2, 3, 4,", "Twinkle, twinkle, little", "The capital of France is"]
        done = asyncio.run(provider.complete_batch(
            [(RenderedPrompt.from_text(t), params) for t in texts]))
        assert all(not isinstance(c, Exception) and c.text for c in done)
        (name,) = [k for k in provider.model.extras if k.startswith("fast_workers_")]
        workers = provider.model.extras[name]
        for proc in workers._procs:
            environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
            assert b"GGML_CPU_TILED_MM=0" not in environ
        assert not any(k.startswith(("batch_decoder_", "workers_")) for k in provider.model.extras)
    finally:
        pool.close()


@pytest.mark.embedded
def test_eval_fast_decoding_is_recorded_said_and_never_serves_a_batch_invariant_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "count.prompt").write_text(
        "---\nparams: {temperature: 0, max_tokens: 2}\n---\n1, 2, 3, {{ i }},\n")
    write_suite(tmp_path, {
        "prompts": ["file://count.prompt"],
        "providers": [{"id": "local:gemma3-270m", "config": {"workers": 1}}],
        "defaultTest": {"assert": [{"type": "regex", "value": "."}]},
        "tests": [{"vars": {"i": i}} for i in (4, 5, 6)],
    })

    def evaluate(*args: str) -> str:
        assert main(["eval", "--no-progress", "--no-table", *args]) == 0
        return capsys.readouterr().err

    def cached(name: str) -> list[bool]:
        rows = json.loads((tmp_path / name).read_text())["results"]["results"]
        return [bool(r["response"]["cached"]) for r in rows]

    err = evaluate("--fast-decoding", "-o", "fast.json", "-o", "fast.html")
    assert f"{FAST_DECODING_NOTE} (local:gemma3-270m)" in err
    assert "decoding: local:gemma3-270m: fast (width 32)" in err
    assert FAST_DECODING_NOTE in (tmp_path / "fast.html").read_text()
    assert cached("fast.json") == [False] * 3
    err = evaluate("-o", "invariant.json")
    assert cached("invariant.json") == [False] * 3  # fast answers are not reused
    assert "fast decoding" not in err
    evaluate("--fast-decoding", "-o", "again.json")
    assert cached("again.json") == [True] * 3  # its own entries still serve fast runs
    numerics = [json.loads(s)["providers"][0]["settings"]["numerics"] for (s,) in sqlite_rows(
        db_file(tmp_path), "SELECT settings FROM runs ORDER BY created_at")]
    assert numerics == ["fast", "batch-invariant", "fast"]

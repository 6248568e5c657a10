"""The decoding layout of the embedded model (issue 6): calibration file, choice, fallbacks.

Timings are injected (a fake ``timer``), so the choice logic is deterministic; one test times the
real model on a tiny batch. The session fixture in tests/conftest.py points
``PROMPTWORK_CACHE_DIR`` at a private folder and turns automatic calibration off.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from promptwork.cli.eval import _decoding_note
from promptwork.cli.main import cli
from promptwork.errors import ProviderError
from promptwork.providers import local_layout
from promptwork.providers.local import LocalProvider
from promptwork.providers.local_layout import (
    CALIBRATION_FILE,
    Layout,
    calibrate,
    calibration_key,
    candidates,
    choose,
    default_choice,
    resolve_layout,
    rule_layout,
    stored_choice,
)
from promptwork.providers.local_models import BUILTIN_MODELS
from promptwork.providers.registry import create_provider

SHA = "ab" * 32
GEMMA_SHA = BUILTIN_MODELS["gemma3-270m"].sha256
DAY = date(2026, 11, 24)
IN_PROCESS, TWO_WORKERS = Layout(1, 2), Layout(2, 1)


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder per test, 2 cores and a quiet machine."""
    monkeypatch.setenv("PROMPTWORK_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(local_layout, "cpu_count", lambda: 2)
    monkeypatch.setattr(local_layout, "_load", lambda: 0.1)
    return tmp_path


def fake_timer(times: dict[str, list[float]], calls: list[str] | None = None
               ) -> Callable[[Layout, int], float]:
    def timer(layout: Layout, attempt: int) -> float:
        if calls is not None:
            calls.append(f"{layout.label}#{attempt}")
        return times[layout.label][attempt]

    return timer


def save(times: dict[str, list[float]], sha: str = SHA) -> Layout:
    """Calibrate the layouts named in ``times`` (``"2x1"``...) with those timings."""
    layouts = [Layout(*map(int, label.split("x"))) for label in times]
    layout: Layout = calibrate(sha, fake_timer(times), layouts, today=DAY).layout
    return layout


# -- choosing ------------------------------------------------------------------------------------


def test_candidates_put_the_rule_first() -> None:
    assert candidates(2) == [Layout(2, 1), Layout(1, 2)]
    assert candidates(8) == [Layout(4, 1), Layout(2, 1), Layout(1, 8)]
    assert candidates(1) == [Layout(1, 1)]
    assert rule_layout() == TWO_WORKERS


def test_best_of_two_tries_wins() -> None:
    calls: list[str] = []
    timer = fake_timer({"2x1": [10.9, 10.4], "1x2": [10.6, 10.7]}, calls)
    winner, seconds = choose(timer, [TWO_WORKERS, IN_PROCESS])
    assert winner == TWO_WORKERS
    assert seconds == {"2x1": 10.4, "1x2": 10.6}
    assert calls == ["2x1#0", "2x1#1", "1x2#0", "1x2#1"]


def test_a_clearly_slower_layout_gets_one_try_only() -> None:
    calls: list[str] = []
    timer = fake_timer({"2x1": [2.5, 2.4], "1x2": [22.0, 2.0]}, calls)
    winner, seconds = choose(timer, [TWO_WORKERS, IN_PROCESS])
    assert winner == TWO_WORKERS and seconds["1x2"] == 22.0
    assert calls == ["2x1#0", "2x1#1", "1x2#0"]


def test_ties_go_to_fewer_processes() -> None:
    timer = fake_timer({"2x1": [1.0, 1.0], "1x2": [1.0, 1.0]})
    assert choose(timer, [TWO_WORKERS, IN_PROCESS])[0] == IN_PROCESS


# -- the calibration file ------------------------------------------------------------------------


def test_calibration_is_written_and_read_back(cache: Path) -> None:
    choice = calibrate(SHA, fake_timer({"2x1": [10.9, 10.4], "1x2": [10.6, 10.7]}),
                       [TWO_WORKERS, IN_PROCESS], today=DAY)
    assert choice.layout == TWO_WORKERS and choice.source == "calibrated"
    assert choice.text() == ("2 workers x 1 thread "
                             "(calibrated 2026-11-24: 2x1 10.40 s vs 1x2 10.60 s)")
    data = json.loads((cache / CALIBRATION_FILE).read_text())
    key = calibration_key(SHA)
    assert key.startswith(SHA) and "cpus=2" in key and "llama-cpp-python=" in key
    assert data["layouts"][key]["workers"] == 2
    assert data["layouts"][key]["seconds"] == {"2x1": 10.4, "1x2": 10.6}
    found, _ = stored_choice(SHA)
    assert found == choice
    # Another model, or the same one on another machine, has no calibration.
    assert stored_choice("cd" * 32) == (None, "no calibration")


@pytest.mark.parametrize(("times", "load"), [
    ({"2x1": [0.22497, 0.3], "1x2": [0.29, 0.3]}, 1.04951),  # 0.225 as stored: "0.23"
    ({"2x1": [0.125, 0.3], "1x2": [0.2949996, 0.3]}, 0.2),
])
def test_the_choice_made_reads_the_same_as_the_choice_read_back(
    monkeypatch: pytest.MonkeyPatch, times: dict[str, list[float]], load: float,
) -> None:
    monkeypatch.setattr(local_layout, "_load", lambda: load)
    choice = calibrate(SHA, fake_timer(times), [TWO_WORKERS, IN_PROCESS], today=DAY)
    assert default_choice(SHA) == choice


def test_a_calibration_is_per_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    save({"1x2": [1.0, 1.0]})
    monkeypatch.setattr(local_layout, "cpu_count", lambda: 4)
    assert stored_choice(SHA) == (None, "no calibration")
    assert default_choice(SHA).source == "rule"


def test_other_entries_are_kept() -> None:
    save({"1x2": [1.0, 1.0]}, sha=SHA)
    save({"2x1": [1.0, 1.0]}, sha="cd" * 32)
    assert default_choice(SHA).layout == IN_PROCESS
    assert default_choice("cd" * 32).layout == TWO_WORKERS


def test_a_busy_machine_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_layout, "_load", lambda: 2.04)
    save({"2x1": [2.5, 2.4], "1x2": [22.0, 2.0]})
    assert "machine busy: load 2.0 per core" in default_choice(SHA).why


@pytest.mark.parametrize("content", [
    "{not json", "[]", '{"format": 1}', '{"format": 1, "layouts": []}', "",
])
def test_an_unreadable_file_falls_back_to_the_rule(cache: Path, content: str) -> None:
    (cache / CALIBRATION_FILE).write_text(content)
    choice = default_choice(SHA)
    assert choice.layout == rule_layout() and choice.source == "rule"
    assert choice.why.startswith("rule: unreadable calibration file")
    assert choice.why.endswith("run promptwork models --calibrate")
    # Calibrating again replaces the damaged file.
    save({"1x2": [1.0, 1.0]})
    assert default_choice(SHA).layout == IN_PROCESS


@pytest.mark.parametrize("entry", [
    {"workers": 0, "threads": 1, "date": "2026-11-24", "seconds": {}},
    {"workers": "2", "threads": 1, "date": "2026-11-24", "seconds": {}},
    {"workers": True, "threads": 1, "date": "2026-11-24", "seconds": {}},
    {"workers": 2, "threads": 1, "date": "2026-11-24", "seconds": {"2x1": "fast"}},
    {"workers": 2, "threads": 1, "seconds": {}},
    "2x1",
])
def test_a_malformed_entry_falls_back_to_the_rule(cache: Path, entry: Any) -> None:
    data = {"format": 1, "layouts": {calibration_key(SHA): entry}}
    (cache / CALIBRATION_FILE).write_text(json.dumps(data))
    assert default_choice(SHA).source == "rule"


def test_another_file_format_is_ignored(cache: Path) -> None:
    save({"1x2": [1.0, 1.0]})
    path = cache / CALIBRATION_FILE
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "format": 99}))
    assert default_choice(SHA).why == "rule: no calibration; run promptwork models --calibrate"


def test_a_read_only_cache_still_gives_a_choice(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("PROMPTWORK_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    choice = calibrate(SHA, fake_timer({"1x2": [1.0, 1.0]}), [IN_PROCESS], today=DAY)
    assert choice.layout == IN_PROCESS and "not saved" in choice.why
    assert default_choice(SHA).source == "rule"


# -- what a provider uses ------------------------------------------------------------------------


def resolve(calibrate: Callable[[str], Any] | None = None, **options: Any) -> Any:
    args: dict[str, Any] = {"sequential": False, "workers": "auto", "threads": 2,
                            "threads_given": False, "sha256": lambda: SHA,
                            "calibrate": calibrate or (lambda sha: pytest.fail("calibrated"))}
    return resolve_layout(**{**args, **options})


def test_without_calibration_the_rule_decides() -> None:
    choice = resolve()
    assert choice.layout == TWO_WORKERS
    assert choice.text() == ("2 workers x 1 thread (rule: no calibration; "
                             "run promptwork models --calibrate)")


def test_first_use_calibrates_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTWORK_AUTO_CALIBRATE", "1")
    seen: list[str] = []

    def run(sha: str) -> Any:
        seen.append(sha)
        return calibrate(sha, fake_timer({"1x2": [1.0, 1.0]}), [IN_PROCESS], today=DAY)

    assert resolve(run).layout == IN_PROCESS
    assert seen == [SHA]
    assert resolve().source == "calibrated"  # stored: not timed again

    def failing(sha: str) -> Any:
        raise ProviderError("a decoding worker failed to start", kind="other")

    assert resolve(failing, sha256=lambda: "ef" * 32).why.startswith(
        "rule: calibration failed: a decoding worker failed to start")


def test_explicit_options_win() -> None:
    save({"1x2": [1.0, 1.0]})
    assert resolve().layout == IN_PROCESS
    workers = resolve(workers=3)
    assert (workers.layout, workers.source, workers.why) == (Layout(3, 1), "option",
                                                               "workers option")
    assert resolve(workers=1).layout == Layout(1, 2)
    threads = resolve(threads=1, threads_given=True)
    assert (threads.layout, threads.why) == (Layout(1, 1), "n_threads option")
    assert resolve(sequential=True).source == "sequential"


def gemma(config: dict[str, Any] | None = None) -> LocalProvider:
    provider = create_provider("local:gemma3-270m", config)
    assert isinstance(provider, LocalProvider)
    return provider


def test_the_provider_uses_the_calibration() -> None:
    assert gemma().workers == 2  # the rule (no model is loaded to decide)
    save({"1x2": [0.5, 0.6], "2x1": [0.7, 0.7]}, sha=GEMMA_SHA)
    provider = gemma()
    assert provider.workers == 1
    assert provider.cache_identity()["workers"] == 1
    assert provider.cache_identity()["n_threads"] == provider.settings["n_threads"]
    described = provider.describe()
    assert described["layout_source"] == "calibrated"
    assert described["layout_why"] == "calibrated 2026-11-24: 1x2 0.50 s vs 2x1 0.70 s"
    # Explicit options win over the calibration, and change the identity with it.
    assert gemma({"workers": 2}).cache_identity()["workers"] == 2
    assert gemma({"workers": 2}).describe()["layout_why"] == "workers option"
    assert gemma({"decoding": "sequential"}).workers == 1


# -- what people are told ------------------------------------------------------------------------


def note_of(provider: LocalProvider) -> str | None:
    settings = {"providers": [{"label": provider.id, "settings": provider.describe()}]}
    return _decoding_note(SimpleNamespace(record=SimpleNamespace(settings=settings)))  # type: ignore[arg-type]


def test_the_run_summary_says_which_layout_and_why() -> None:
    assert note_of(gemma()) == (
        "decoding: local:gemma3-270m: batched (width 32), 2 workers x 1 thread "
        "(rule: no calibration; run promptwork models --calibrate)")
    save({"2x1": [10.4, 10.5], "1x2": [10.6, 10.6]}, sha=GEMMA_SHA)
    assert note_of(gemma()) == (
        "decoding: local:gemma3-270m: batched (width 32), 2 workers x 1 thread "
        "(calibrated 2026-11-24: 2x1 10.40 s vs 1x2 10.60 s)")
    assert note_of(gemma({"workers": 1})) == (
        "decoding: local:gemma3-270m: batched (width 32), 1 process x "
        f"{gemma().settings['n_threads']} threads (workers option)")
    # Runs recorded before layouts were described keep their old line.
    old = {"provider": "local", "decoding": "batched", "batch_width": 16, "workers": 2,
           "n_threads": 1}
    settings = {"providers": [{"label": "local", "settings": old}]}
    assert _decoding_note(SimpleNamespace(record=SimpleNamespace(settings=settings))) == (  # type: ignore[arg-type]
        "decoding: local: batched (width 16), 2 worker processes x 1 thread(s)")


def models_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["models", "--json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_models_command_shows_and_makes_calibrations(monkeypatch: pytest.MonkeyPatch) -> None:
    decoding = {m["id"]: m["eval_decoding"] for m in models_json()["local"]}
    assert decoding["local:gemma3-270m"]["source"] == "rule"
    assert decoding["local:gemma3-270m"]["why"].endswith("run promptwork models --calibrate")
    from promptwork.providers import local_calibrate

    def fake(llama: Any, path: Path, sha256: str, width: int, n_ctx: int) -> Any:
        return calibrate(sha256, fake_timer({"1x2": [0.5, 0.5]}), [IN_PROCESS], today=DAY), None

    monkeypatch.setattr(local_calibrate, "calibrate_model", fake)
    monkeypatch.setattr(LocalProvider, "model", property(lambda self: SimpleNamespace(
        llama=None, extras={})))
    data = models_json("--calibrate", "local:smollm2")
    assert data["calibrated"]["id"] == "local:smollm2"
    assert data["calibrated"]["layout"] == "1 process x 2 threads"
    decoding = {m["id"]: m["eval_decoding"] for m in data["local"]}
    assert decoding["local:smollm2"]["source"] == "calibrated"
    assert decoding["local:smollm2"]["why"] == "calibrated 2026-11-24: 1x2 0.50 s"
    assert decoding["local:gemma3-270m"]["source"] == "rule"


# -- the real model --------------------------------------------------------------------------


@pytest.mark.embedded
def test_real_calibration_on_a_tiny_batch(cache: Path) -> None:
    from promptwork.providers.local_batch import BatchDecoder
    from promptwork.providers.local_calibrate import calibrate_model, synthetic_batch

    provider = gemma({"workers": 1})
    llama = provider.model.llama
    choice, runner = calibrate_model(llama, provider.path, GEMMA_SHA, width=4, n_ctx=1024,
                                     layouts=[TWO_WORKERS, IN_PROCESS], prompts=4)
    try:
        assert choice.source == "calibrated" and choice.layout in (TWO_WORKERS, IN_PROCESS)
        seconds = json.loads((cache / CALIBRATION_FILE).read_text())["layouts"][
            calibration_key(GEMMA_SHA)]["seconds"]
        assert set(seconds) == {"2x1", "1x2"} and all(s > 0 for s in seconds.values())
        # The winner's decoder (or worker processes) is handed over, ready to use.
        assert isinstance(runner, BatchDecoder) == (choice.layout == IN_PROCESS)
        results = runner.run(synthetic_batch(llama, 2))
        assert all(r.error is None and 1 <= len(r.tokens) <= 3 for r in results)
    finally:
        runner.close()
    assert default_choice(GEMMA_SHA) == choice


def test_a_calibration_made_on_a_busy_machine_is_made_again_once_it_is_quiet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """issue 18: a calibration timed under load is used while the machine stays busy, and
    timed again by the first batched run on a quiet machine (then kept)."""
    monkeypatch.setenv("PROMPTWORK_AUTO_CALIBRATE", "1")
    monkeypatch.setattr(local_layout, "_load", lambda: 2.0)
    calibrate(SHA, fake_timer({"2x1": [3.0, 3.0], "1x2": [30.0, 30.0]}),
              [TWO_WORKERS, IN_PROCESS], today=DAY)
    assert "machine busy" in resolve().why  # still busy: the stored choice, no new timing
    seen: list[str] = []

    def quiet(sha: str) -> Any:
        seen.append(sha)
        return calibrate(sha, fake_timer({"1x2": [1.0, 1.0]}), [IN_PROCESS], today=DAY)

    monkeypatch.setattr(local_layout, "_load", lambda: 0.1)
    assert resolve(quiet).layout == IN_PROCESS and seen == [SHA]
    assert resolve().source == "calibrated"  # a quiet calibration is kept: not timed again
    monkeypatch.setenv("PROMPTWORK_AUTO_CALIBRATE", "0")
    monkeypatch.setattr(local_layout, "_load", lambda: 2.0)
    calibrate(SHA, fake_timer({"2x1": [3.0, 3.0]}), [TWO_WORKERS], today=DAY)
    monkeypatch.setattr(local_layout, "_load", lambda: 0.1)
    assert resolve().layout == TWO_WORKERS  # without auto-calibration the stored one is used

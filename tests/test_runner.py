"""The evaluation runner: expansion, filters, checks, errors, events, ordering and concurrency.

Suites are real YAML files in a temporary folder; models are :class:`ScriptedProvider` instances
injected by provider index, so every call the runner makes can be inspected.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from evalkit import isolate_env, write_suite
from promptwork.calls import CallPolicy
from promptwork.errors import ConfigError, MissingVariableError, ParamError, ProviderError
from promptwork.evaluation import EvalRun, evaluate
from promptwork.events import CellFinished, Event, RunFinished, RunStarted
from promptwork.providers.base import Provider
from promptwork.providers.scripted import Script, ScriptedProvider
from promptwork.runner import RunConfig
from promptwork.store import Store
from promptwork.types import Capabilities, Completion, Params, RenderedPrompt


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


class Tracking(ScriptedProvider):
    """A scripted model that records how many of its calls are in flight at once.

    ``shared`` (a one-element list) counts in-flight calls across several instances.
    """

    def __init__(self, script: Script = ("ok",), *, shared: list[int] | None = None,
                 **kw: Any):
        super().__init__(script, **kw)
        self.in_flight = 0
        self.peak = 0
        self.shared = shared

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if self.shared is not None:
            self.shared[0] += 1
            self.shared.append(self.shared[0])  # history of global in-flight counts
        try:
            return await super().complete(prompt, params)
        finally:
            self.in_flight -= 1
            if self.shared is not None:
                self.shared[0] -= 1


def run(
    tmp_path: Path,
    suite: Mapping[str, Any],
    providers: dict[int, Provider],
    config: RunConfig | None = None,
    events: list[Event] | None = None,
) -> EvalRun:
    path = write_suite(tmp_path, suite)
    subscribers = [events.append] if events is not None else []
    return evaluate(path, providers=providers, config=config or RunConfig(use_cache=False),
                    subscribers=subscribers)


def keys(run: EvalRun) -> list[tuple[int, int, int, int]]:
    return [(r["prompt_idx"], r["provider_idx"], r["test_idx"], r["repeat_idx"])
            for r in run.rows()]


def texts(provider: ScriptedProvider) -> list[str]:
    return [prompt.as_text() for prompt, _ in provider.calls]


def cases(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"vars": {"i": i, **extra}} for i in range(n)]


# -- expansion -----------------------------------------------------------------------------------


def test_matrix_is_prompts_times_providers_times_tests_times_repeats(tmp_path: Path) -> None:
    models = {i: ScriptedProvider([f"answer {i}"], id=f"scripted:{i}") for i in range(3)}
    suite = {
        "prompts": ["A {{ i }}", "B {{ i }}"],
        "providers": [f"scripted:{i}" for i in range(3)],
        "evaluateOptions": {"repeat": 2},
        "tests": cases(4),
    }
    result = run(tmp_path, suite, dict(models))
    expected = set(itertools.product(range(2), range(3), range(4), range(2)))
    got = keys(result)
    assert len(got) == 2 * 3 * 4 * 2 == len(set(got))
    assert set(got) == expected
    assert result.record.total_cells == 48 and result.record.status == "complete"
    for model in models.values():
        assert len(model.calls) == 2 * 4 * 2  # no cache: every repeat is a call
    assert sorted(texts(models[0])) == sorted(f"{p} {i}" for p in "AB" for i in range(4)
                                              for _ in range(2))


def test_providers_prompts_filter_runs_only_the_listed_prompts(tmp_path: Path) -> None:
    a, b = ScriptedProvider(["x"], id="scripted:a"), ScriptedProvider(["y"], id="scripted:b")
    suite = {
        "prompts": [{"id": "short {{ i }}", "label": "short"},
                    {"id": "long {{ i }}", "label": "long"}],
        "providers": [{"id": "scripted:a", "prompts": ["short"]}, "scripted:b"],
        "tests": cases(3),
    }
    result = run(tmp_path, suite, {0: a, 1: b})
    assert {(p, m) for p, m, _, _ in keys(result)} == {(0, 0), (0, 1), (1, 1)}
    assert result.record.total_cells == 9
    assert all(t.startswith("short") for t in texts(a)) and len(a.calls) == 3
    assert len(b.calls) == 6


def test_providers_prompts_filter_with_an_unknown_label_is_refused(tmp_path: Path) -> None:
    a = ScriptedProvider(["x"])
    suite = {
        "prompts": [{"id": "short {{ i }}", "label": "short"}],
        "providers": [{"id": "scripted", "prompts": ["shrot"]}],
        "tests": cases(1),
    }
    with pytest.raises(ConfigError) as info:
        run(tmp_path, suite, {0: a})
    assert "shrot" in str(info.value) and "short" in str(info.value)
    assert a.calls == []


def test_default_test_vars_and_checks_are_merged_into_every_test(tmp_path: Path) -> None:
    model = ScriptedProvider({"French": "Bonjour!", "German": "Hallo"})
    suite = {
        "prompts": ["Greet {{ who }} in {{ lang }}"],
        "providers": ["scripted"],
        "defaultTest": {"vars": {"lang": "French"},
                        "assert": [{"type": "icontains", "value": "bonjour"}]},
        "tests": [
            {"vars": {"who": "Ada"}},
            {"vars": {"who": "Bob", "lang": "German"},
             "assert": [{"type": "contains", "value": "Hallo"}]},
        ],
    }
    rows = list(run(tmp_path, suite, {0: model}).rows())
    assert [r["prompt_text"] for r in rows] == ["Greet Ada in French", "Greet Bob in German"]
    assert rows[0]["success"] is True and rows[0]["score"] == 1.0
    # The test's own check is added to defaultTest's, not substituted for it.
    assert rows[1]["success"] is False and rows[1]["score"] == pytest.approx(0.5)
    components = rows[1]["grading"]["components"]
    assert [c["type"] for c in components] == ["icontains", "contains"]
    assert [c["pass"] for c in components] == [False, True]


# -- input errors surface before any model call -----------------------------------------------


def test_missing_variable_fails_before_any_call_naming_variable_and_rows(tmp_path: Path) -> None:
    model = ScriptedProvider(["x"])
    suite = {
        "prompts": ["Hi {{ name }} from {{ city }}"],
        "providers": ["scripted"],
        "tests": [{"vars": {"name": "a", "city": "b"}},
                  {"vars": {"name": "c"}},
                  {"vars": {"city": "d"}}],
    }
    with pytest.raises(MissingVariableError) as info:
        run(tmp_path, suite, {0: model})
    err = info.value
    assert err.names == ["city", "name"]
    message = str(err)
    assert "city" in message and "name" in message
    # The rows are named by file and line: tests 2 and 3 are on lines 6 and 7 of the suite file.
    assert err.where["city"] and err.where["name"]
    assert all("promptwork.yaml:" in w for w in err.where["city"] + err.where["name"])
    assert err.where["city"] != err.where["name"]
    assert model.calls == []
    assert Store.for_folder(tmp_path).list_runs() == []  # no run was even created


def test_missing_variable_in_an_assert_value_fails_before_any_call(tmp_path: Path) -> None:
    model = ScriptedProvider(["x"])
    suite = {
        "prompts": ["Hi {{ name }}"],
        "providers": ["scripted"],
        "defaultTest": {"vars": {"known": "k"}},
        "tests": [{"vars": {"name": "a"},
                   "assert": [{"type": "contains", "value": "{{ known }}"},  # from defaultTest
                              {"type": "contains", "value": "{{ nope }}"}]},
                  {"vars": {"name": "b", "nope": "fine here"},
                   "assert": [{"type": "icontains-any", "value": ["x", "{{ nope }}"]}]},
                  {"vars": {"name": "c"},
                   "assert": [{"type": "not-icontains-any", "value": ["{{ other }}", "y"]},
                              {"type": "contains", "value": "{{ guarded | default('z') }}"}]}],
    }
    with pytest.raises(MissingVariableError) as info:
        run(tmp_path, suite, {0: model})
    err = info.value
    assert err.names == ["nope", "other"]
    assert len(err.where["nope"]) == 1 and "contains value" in err.where["nope"][0]
    assert "not-icontains-any value" in err.where["other"][0]
    assert all("promptwork.yaml:" in w for w in err.where["nope"] + err.where["other"])
    assert model.calls == []
    assert Store.for_folder(tmp_path).list_runs() == []


def test_assert_values_with_their_vars_and_code_values_run(tmp_path: Path) -> None:
    model = ScriptedProvider(["hello a"])
    suite = {"prompts": ["Hi {{ name }}"], "providers": ["scripted"],
             "tests": [{"vars": {"name": "a"},
                        "assert": [{"type": "contains", "value": "hello {{ name }}"},
                                   {"type": "python", "value": "'{{ x }}' not in output"}]}]}
    result = run(tmp_path, suite, {0: model})
    assert len(model.calls) == 1 and result.record.status == "complete"
    assert [r["success"] for r in result.rows()] == [True]


class Narrow(ScriptedProvider):
    supported_params = frozenset({"temperature"})


def test_unsupported_param_fails_before_any_call(tmp_path: Path) -> None:
    (tmp_path / "p.prompt").write_text("---\nparams: {max_tokens: 5}\n---\nHi {{ i }}\n")
    wide, narrow = ScriptedProvider(["x"], id="scripted:wide"), Narrow(["y"], id="scripted:narrow")
    suite = {"prompts": ["file://p.prompt"], "providers": ["scripted:wide", "scripted:narrow"],
             "tests": cases(3)}
    with pytest.raises(ParamError) as info:
        run(tmp_path, suite, {0: wide, 1: narrow})
    assert "max_tokens" in str(info.value) and "scripted:narrow" in str(info.value)
    assert wide.calls == [] and narrow.calls == []
    assert Store.for_folder(tmp_path).list_runs() == []


# -- outcomes ---------------------------------------------------------------------------------


def test_a_failing_call_is_an_error_cell_and_the_run_goes_on(tmp_path: Path) -> None:
    def answer(prompt: RenderedPrompt, params: Params) -> str | ProviderError:
        text = prompt.as_text()
        if "boom" in text:
            return ProviderError("exploded", kind="bad_request", status=400)
        if "bug" in text:
            raise KeyError("choices")  # a provider bug, not a ProviderError
        return "fine"

    model = ScriptedProvider(answer)
    suite = {"prompts": ["Say {{ w }}"], "providers": ["scripted"],
             "defaultTest": {"assert": [{"type": "equals", "value": "fine"}]},
             "tests": [{"vars": {"w": w}} for w in ("a", "boom", "b", "bug", "c")]}
    result = run(tmp_path, suite, {0: model})
    rows = {r["test_idx"]: r for r in result.rows()}
    assert len(rows) == 5 and result.record.status == "complete"
    assert rows[1]["error_kind"] == "bad_request" and "exploded" in rows[1]["error"]
    assert rows[1]["output"] is None and rows[1]["success"] is False
    assert rows[1]["grading"] is None  # an error is not a failed check
    assert rows[3]["error_kind"] == "other" and "KeyError" in rows[3]["error"]
    assert all(rows[i]["success"] and rows[i]["error"] is None for i in (0, 2, 4))
    assert result.stats() == {"successes": 3, "failures": 0, "errors": 2}
    column = result.summary()[0]
    assert column["errors"] == 2 and column["mean_score"] == 1.0  # errors are not scored 0


def test_check_results_scores_and_weights_are_stored(tmp_path: Path) -> None:
    model = ScriptedProvider({"one": "alpha beta", "two": "gamma"})
    checks = [{"type": "contains", "value": "alpha", "weight": 3},
              {"type": "contains", "value": "beta", "metric": "has_beta"},
              {"type": "not-contains", "value": "gamma"}]
    suite = {"prompts": ["{{ w }}"], "providers": ["scripted"],
             "defaultTest": {"assert": checks},
             "tests": [{"vars": {"w": "one"}}, {"vars": {"w": "two"}}]}
    rows = list(run(tmp_path, suite, {0: model}).rows())
    assert rows[0]["success"] is True and rows[0]["score"] == 1.0
    assert rows[1]["success"] is False and rows[1]["score"] == 0.0
    parts = rows[0]["grading"]["components"]
    assert [p["type"] for p in parts] == ["contains", "contains", "not-contains"]
    assert parts[1]["metric"] == "has_beta"

    partial = ScriptedProvider(["alpha"])
    suite["tests"] = [{"vars": {"w": "x"}}]
    (tmp_path / "weights").mkdir()
    row = run(tmp_path / "weights", suite, {0: partial}).rows()[0]
    # alpha passes (weight 3), beta fails (weight 1), not-contains gamma passes (weight 1).
    assert row["success"] is False and row["score"] == pytest.approx(4 / 5)


@pytest.mark.parametrize("threshold,passes", [(0.5, True), (0.9, False)])
def test_test_level_threshold_decides_pass(tmp_path: Path, threshold: float,
                                           passes: bool) -> None:
    model = ScriptedProvider(["alpha"])
    suite = {"prompts": ["{{ w }}"], "providers": ["scripted"],
             "tests": [{"vars": {"w": "x"}, "threshold": threshold,
                        "assert": [{"type": "contains", "value": "alpha", "weight": 3},
                                   {"type": "contains", "value": "beta"}]}]}
    row = run(tmp_path, suite, {0: model}).rows()[0]
    assert row["score"] == pytest.approx(0.75)
    assert row["success"] is passes
    assert "threshold" in row["grading"]["reason"]


# -- events -----------------------------------------------------------------------------------


def test_events_in_order_and_the_runner_never_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events: list[Event] = []
    model = ScriptedProvider(["ok"], delay=0.001)
    suite = {"prompts": ["a {{ i }}", "b {{ i }}"], "providers": ["scripted"],
             "tests": cases(3)}
    result = run(tmp_path, suite, {0: model}, events=events)
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["RunStarted"] + ["CellFinished"] * 6 + ["RunFinished"]
    start, finish = events[0], events[-1]
    assert isinstance(start, RunStarted) and start.total == 6 and start.already_done == 0
    assert start.run_id == result.id
    assert isinstance(finish, RunFinished) and finish.status == "complete"
    cells = [e for e in events if isinstance(e, CellFinished)]
    assert sorted((c.result.key.prompt, c.result.key.test) for c in cells) == sorted(
        itertools.product(range(2), range(3)))
    assert {c.prompt_label for c in cells} == {"a {{ i }}", "b {{ i }}"}


def test_run_finished_is_emitted_when_the_run_fails(tmp_path: Path) -> None:
    events: list[Event] = []

    class Boom(Exception):
        pass

    def subscriber(event: Event) -> None:
        events.append(event)
        if isinstance(event, CellFinished):
            raise Boom  # a broken subscriber ends the run: it must still be closed

    path = write_suite(tmp_path, {"prompts": ["{{ i }}"], "providers": ["scripted"],
                                  "tests": cases(2)})
    with pytest.raises(Boom):
        evaluate(path, providers={0: ScriptedProvider(["x"])}, subscribers=[subscriber])
    assert isinstance(events[-1], RunFinished) and events[-1].status == "failed"
    assert Store.for_folder(tmp_path).get_run().status == "failed"


# -- ordering and concurrency ------------------------------------------------------------------


def test_cells_of_one_prompt_run_consecutively_on_a_one_at_a_time_model(tmp_path: Path) -> None:
    # An embedded model (local:) runs one call at a time; a scripted model stands in for it.
    model = Tracking(["ok"], delay=0.002)
    suite = {"prompts": ["P0 {{ i }}", "P1 {{ i }}", "P2 {{ i }}"],
             "providers": ["local:gemma3-270m"], "tests": cases(5)}
    run(tmp_path, suite, {0: model})
    order = [t.split()[0] for t in texts(model)]
    assert order == ["P0"] * 5 + ["P1"] * 5 + ["P2"] * 5
    assert model.peak == 1


class Batching(ScriptedProvider):
    """A scripted model with the batching capability that records each group it is handed."""

    batch_size = 4

    def __init__(self, script: Script = ("ok",), **kw: Any):
        super().__init__(script, capabilities=Capabilities(chat=True, completion=True,
                                                           batching=True), **kw)
        self.groups: list[list[str]] = []

    async def complete_batch(
        self, requests: Sequence[tuple[RenderedPrompt, Params]]
    ) -> list[Completion | ProviderError]:
        self.groups.append([prompt.as_text() for prompt, _ in requests])
        return await super().complete_batch(requests)


def test_a_batching_model_gets_groups_of_one_template_and_small_leftovers_together(
    tmp_path: Path,
) -> None:
    """Cells go to a batching provider in groups of at most its batch size, each group one
    template's cells in test order; leftovers under MERGE_BELOW cells of several templates share
    a group. A model without the capability gets one call per cell."""
    batching = Batching(["ok"])
    plain = Tracking(["ok"], id="scripted:plain")
    suite = {"prompts": ["A {{ i }}", "B {{ i }}"], "providers": ["scripted", "scripted:plain"],
             "tests": cases(9)}
    result = run(tmp_path, suite, {0: batching, 1: plain})
    assert len(list(result.rows())) == 36
    full = [g for g in batching.groups if len(g) == 4]
    assert sorted(full) == [[f"{t} {i}" for i in range(k, k + 4)]
                            for t in "AB" for k in (0, 4)]
    (leftover,) = [g for g in batching.groups if len(g) < 4]
    assert sorted(leftover) == ["A 8", "B 8"]
    assert sum(len(g) for g in batching.groups) == 18
    assert len(plain.calls) == 18 and plain.peak >= 1


def test_concurrency_limit_is_per_provider(tmp_path: Path) -> None:
    shared = [0]
    a = Tracking(["x"], id="scripted:a", delay=0.02, shared=shared)
    b = Tracking(["y"], id="scripted:b", delay=0.02, shared=shared)
    suite = {"prompts": ["{{ i }}"], "providers": ["scripted:a", "scripted:b"],
             "evaluateOptions": {"maxConcurrency": 3}, "tests": cases(12)}
    run(tmp_path, suite, {0: a, 1: b})
    assert a.peak == 3 and b.peak == 3
    assert max(shared[1:]) > 3  # both models ran at once, each under its own limit

    c = Tracking(["z"], delay=0.02)
    (tmp_path / "cli").mkdir()
    run(tmp_path / "cli", {**suite, "providers": ["scripted"]}, {0: c},
        RunConfig(max_concurrency=2, use_cache=False))  # -j overrides the suite
    assert c.peak == 2 and len(c.calls) == 12


def test_delay_option_makes_calls_one_at_a_time(tmp_path: Path) -> None:
    model = Tracking(["x"], delay=0.005)
    suite = {"prompts": ["{{ i }}"], "providers": ["scripted"],
             "evaluateOptions": {"maxConcurrency": 4, "delay": 10}, "tests": cases(4)}
    run(tmp_path, suite, {0: model})
    assert model.peak == 1 and len(model.calls) == 4


def test_repeat_from_the_command_line_overrides_the_suite(tmp_path: Path) -> None:
    model = ScriptedProvider(["r0", "r1", "r2", "r3", "r4", "r5"])
    suite = {"prompts": ["{{ i }}"], "providers": ["scripted"],
             "evaluateOptions": {"repeat": 2}, "tests": cases(2)}
    result = run(tmp_path, suite, {0: model}, RunConfig(repeat=3, use_cache=False))
    assert sorted(keys(result)) == [(0, 0, t, r) for t in range(2) for r in range(3)]
    assert result.record.settings["repeat"] == 3
    assert len(model.calls) == 6


def test_repeats_are_separate_samples_even_with_the_cache(tmp_path: Path) -> None:
    """Each repeat is its own call (promptfoo busts the cache for repeats > 0); a second run
    reads every repeat back from the cache."""
    model = ScriptedProvider(["first", "second", "third"])
    suite = {"prompts": ["{{ i }}"], "providers": ["scripted"],
             "evaluateOptions": {"repeat": 3}, "tests": cases(1)}
    first = run(tmp_path, suite, {0: model}, RunConfig(use_cache=True))
    outputs = [r["output"] for r in first.rows()]
    assert sorted(outputs) == ["first", "second", "third"] and len(model.calls) == 3

    again = ScriptedProvider(["first", "second", "third"])
    second = run(tmp_path, suite, {0: again}, RunConfig(use_cache=True))
    assert again.calls == []
    assert [r["output"] for r in second.rows()] == outputs
    assert all(r["cached"] for r in second.rows())


def test_max_tests_takes_the_first_tests_only(tmp_path: Path) -> None:
    model = ScriptedProvider(["x"])
    suite = {"prompts": ["{{ i }}"], "providers": ["scripted"], "tests": cases(10)}
    result = run(tmp_path, suite, {0: model}, RunConfig(max_tests=3, use_cache=False))
    assert sorted(k[2] for k in keys(result)) == [0, 1, 2]
    assert result.record.total_cells == 3 and sorted(texts(model)) == ["0", "1", "2"]


def test_windows_keep_every_cell_and_stream_tests(tmp_path: Path) -> None:
    model = Tracking(["x"], delay=0.001)
    suite = {"prompts": ["A {{ i }}", "B {{ i }}"], "providers": ["local:gemma3-270m"],
             "tests": cases(7)}
    result = run(tmp_path, suite, {0: model}, RunConfig(window=3, use_cache=False))
    assert len(set(keys(result))) == 14
    # Within each window of 3 tests, one prompt's cells follow each other.
    order = [t.split()[0] for t in texts(model)]
    assert order == ["A"] * 3 + ["B"] * 3 + ["A"] * 3 + ["B"] * 3 + ["A", "B"]


def test_retry_events_and_policy_come_from_the_run_config(tmp_path: Path) -> None:
    events: list[Event] = []
    flaky = ProviderError("busy", kind="server", status=503)
    model = ScriptedProvider([flaky, flaky, "ok"])
    suite = {"prompts": ["{{ i }}"], "providers": ["scripted"], "tests": cases(1)}
    policy = CallPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002)
    result = run(tmp_path, suite, {0: model}, RunConfig(policy=policy, use_cache=False),
                 events=events)
    assert result.rows()[0]["output"] == "ok" and len(model.calls) == 3
    retries = [type(e).__name__ for e in events].count("Retrying")
    assert retries == 2


async def test_evaluate_refuses_to_run_inside_an_event_loop(tmp_path: Path) -> None:
    from promptwork.errors import PromptworkError

    path = write_suite(tmp_path, {"prompts": ["x"], "providers": ["scripted"],
                                  "tests": cases(1)})
    with pytest.raises(PromptworkError, match="aevaluate"):
        evaluate(path)
    await asyncio.sleep(0)


# -- grading: errors are not verdicts (one grading path, see checks/grade.py) ----------------------


def test_a_crash_in_a_builtin_check_is_an_error_cell_with_its_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from promptwork.checks import registry
    from promptwork.checks.base import CheckContext, CheckResult, CheckSpec

    def broken(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
        if "b" in ctx.output:
            raise AttributeError("'NoneType' object has no attribute 'group'")  # a bug
        return CheckResult(True, 1.0, "fine")

    monkeypatch.setitem(registry._loaded, "contains", broken)
    suite = {"prompts": ["{{ w }}"], "providers": ["scripted"],
             "defaultTest": {"assert": [{"type": "contains", "value": "x"}]},
             "tests": [{"vars": {"w": w}} for w in ("a", "b")]}
    result = run(tmp_path, suite, {0: ScriptedProvider(lambda p, _: p.as_text())})
    rows = {r["test_idx"]: r for r in result.rows()}
    assert rows[0]["success"] and rows[0]["error"] is None
    crashed = rows[1]
    assert crashed["error_kind"] == "internal" and not crashed["success"]
    assert "promptwork bug" in crashed["error"] and "AttributeError" in crashed["error"]
    assert crashed["score"] is None and crashed["output"] == "b"
    assert "Traceback" in crashed["grading"]["traceback"]  # kept in the stored record
    assert result.stats() == {"successes": 1, "failures": 0, "errors": 1}


def test_options_transform_of_the_test_or_default_test_changes_what_checks_see(
        tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text("def get_transform(output, context):\n"
                                   "    return output.upper()\n"
                                   "def first(output, context):\n"
                                   "    return output.split()[0]\n")
    suite = {"prompts": ["hello {{ w }}"], "providers": ["scripted"],
             "defaultTest": {"options": {"transform": "file://t.py"}},
             "tests": [{"vars": {"w": "ada"}, "assert": [{"type": "equals", "value": "HELLO ADA"}]},
                       {"vars": {"w": "bob"}, "options": {"transform": "file://t.py:first"},
                        "assert": [{"type": "equals", "value": "hello"}]}]}
    result = run(tmp_path, suite, {0: ScriptedProvider(lambda p, _: p.as_text())})
    rows = sorted(result.rows(), key=lambda r: r["test_idx"])
    assert [r["success"] for r in rows] == [True, True]
    assert rows[0]["output"] == "hello ada"  # the stored output is the model's own


def test_a_javascript_transform_without_an_engine_is_refused_at_load(tmp_path: Path) -> None:
    from promptwork.checks.transform import js_available

    if js_available():
        pytest.skip("mini-racer is installed: JavaScript transforms run")
    model = ScriptedProvider(("x",))
    suite = {"prompts": ["p"], "providers": ["scripted"],
             "tests": [{"vars": {}, "options": {"transform": "output.trim()"}}]}
    with pytest.raises(ConfigError, match=r"promptwork.yaml:\d+.*options.transform.*mini-racer"):
        run(tmp_path, suite, {0: model})
    assert model.calls == []


def test_max_score_is_decided_across_the_prompts_of_a_test(tmp_path: Path) -> None:
    """promptfoo's ``max-score``: the output whose other checks score highest passes it."""
    suite = {
        "prompts": ["apple {{ x }}", "banana {{ x }}", "apple banana {{ x }}"],
        "providers": ["echo"],
        "tests": [{"vars": {"x": "1"}, "assert": [
            {"type": "icontains", "value": "apple"},
            {"type": "icontains", "value": "banana"},
            {"type": "max-score"},
        ]}],
    }
    result = run(tmp_path, suite, {})
    verdicts = {r["prompt_idx"]: r["grading"]["components"][2] for r in result.rows()}
    assert [verdicts[i]["pass"] for i in range(3)] == [False, False, True]
    assert "highest score 1.000" in verdicts[2]["reason"]


def test_checks_see_the_answers_finish_reason_and_the_tools_it_was_given(tmp_path: Path) -> None:
    """The runner gives checks the provider's config (tools) and the completion's finish
    reason, so ``is-valid-openai-tools-call`` and ``finish-reason`` work in a real run."""
    call = ('[{"type": "function", "function": {"name": "get_weather", '
            '"arguments": "{\\"city\\": \\"Paris\\"}"}}]')
    tools = [{"type": "function", "function": {
        "name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}},
            "required": ["city"]}}}]
    suite = {
        "prompts": ["{{ q }}"],
        "providers": [{"id": "echo", "config": {"tools": tools}}],
        "tests": [
            {"vars": {"q": call}, "assert": [{"type": "is-valid-openai-tools-call"},
                                             {"type": "finish-reason", "value": "stop"}]},
            {"vars": {"q": call.replace("get_weather", "get_time")},
             "assert": [{"type": "is-valid-openai-tools-call"}]},
        ],
    }
    rows = sorted(run(tmp_path, suite, {}).rows(), key=lambda r: r["test_idx"])
    assert [r["error"] for r in rows] == [None, None]
    assert rows[0]["grading"]["pass"] is True, rows[0]["grading"]
    assert rows[1]["grading"]["pass"] is False
    assert "get_time" in rows[1]["grading"]["reason"]

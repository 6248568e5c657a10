"""``promptwork eval``, ``runs``, ``cache clear`` and ``init``: exit codes, exports, the cache.

Commands run in-process through ``main()`` (which maps errors to exit codes); models are
``echo``, ``scripted`` or an ``openai:chat:`` model served by the fake server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import promptwork.cli.eval as cli_eval
from evalkit import db_file, fake_provider, isolate_env, sqlite_rows, write_suite
from fakeserver import FakeServer, Fault
from promptwork.cli.main import main
from promptwork.suite import load_suite

TIMES = "\u00d7"  # the multiplication sign in "prompt x model" labels


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def evaluate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return cli(capsys, "eval", "--no-progress", *args)


def echo_suite(folder: Path, words: tuple[str, ...] = ("a", "b"),
               expect: tuple[str, ...] | None = None, **extra: Any) -> Path:
    """``echo`` answers with the prompt: the test passes when its expected text is in it."""
    expect = expect or words
    return write_suite(folder, {
        "description": "echo suite",
        "prompts": ["Say {{ w }}"],
        "providers": ["echo"],
        "tests": [{"vars": {"w": w}, "assert": [{"type": "contains", "value": e}]}
                  for w, e in zip(words, expect, strict=True)],
        **extra,
    })


def run_ids(folder: Path) -> list[str]:
    return [r[0] for r in sqlite_rows(db_file(folder), "SELECT id FROM runs ORDER BY created_at")]


# -- exit codes ------------------------------------------------------------------------------------


def test_all_pass_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    echo_suite(tmp_path)
    code, out, err = evaluate(capsys)
    assert code == 0, err
    assert "2 passed, 0 failed, 0 errors" in err
    assert "PASS" in out and "Summary" in out


def test_some_failures_exit_100(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    echo_suite(tmp_path, expect=("a", "zzz"))
    code, out, err = evaluate(capsys)
    assert code == 100
    assert "1 passed, 1 failed" in err and "FAIL" in out


def test_only_errors_exit_101(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              fake_server: FakeServer) -> None:
    # A run whose only problems are errors is told apart from one with failed checks.
    fake_server.push(Fault(status=400))
    write_suite(tmp_path, {"prompts": ["x"], "providers": [fake_provider(fake_server.base_url)],
                           "tests": [{"vars": {}}]})
    code, _, err = evaluate(capsys)
    assert code == 101 and "0 passed, 0 failed, 1 errors" in err
    assert "pass rate n/a" in err and "--resume" in err


def test_failures_and_errors_exit_100(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      fake_server: FakeServer) -> None:
    fake_server.push(Fault(status=400))  # the first call is an error, the others answer
    write_suite(tmp_path, {
        "prompts": ["x"], "providers": [fake_provider(fake_server.base_url)],
        "evaluateOptions": {"maxConcurrency": 1},
        "tests": [{"vars": {"n": i}, "assert": [{"type": "equals", "value": "never"}]}
                  for i in range(3)]})
    code, _, err = evaluate(capsys)
    assert code == 100 and "0 passed, 2 failed, 1 errors" in err


def test_the_pass_rate_has_one_definition_in_the_table_and_the_last_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_server: FakeServer) -> None:
    # 1 pass, 1 fail, 1 error: the rate is 1 / 2 graded (50%) in both places, never 1 / 3.
    fake_server.push(Fault(status=400))
    write_suite(tmp_path, {
        "prompts": ["{{ n }}"], "providers": [fake_provider(fake_server.base_url)],
        "evaluateOptions": {"maxConcurrency": 1},
        "tests": [{"vars": {"n": i},
                   "assert": [{"type": "python", "value": "'1' in context['prompt']"}]}
                  for i in range(3)]})
    code, out, err = evaluate(capsys)
    assert "1 passed, 1 failed, 1 errors (pass rate 50.0%" in err, err
    assert "50.0%" in out and "33.3%" not in out + err
    assert "passed / graded" in out and "passed / graded" in err
    assert code == 100


@pytest.mark.parametrize("rate,code", [("0.5", 0), ("0.49", 0), ("0.51", 100), ("1", 100)])
def test_fail_under_gates_on_the_pass_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rate: str, code: int
) -> None:
    echo_suite(tmp_path, expect=("a", "zzz"))
    assert evaluate(capsys, "--fail-under", rate)[0] == code


def test_fail_under_out_of_range_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    echo_suite(tmp_path)
    code, _, err = evaluate(capsys, "--fail-under", "1.5")
    assert code == 2 and "1.5" in err


def test_invalid_yaml_is_bad_input_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "promptwork.yaml").write_text(
        "prompts:\n  - 'Say {{ w }}'\nproviders: [echo\ntests:\n  - vars: {w: a}\n")
    code, _, err = evaluate(capsys)
    assert code == 2
    assert "promptwork.yaml:" in err
    line = int(err.split("promptwork.yaml:", 1)[1].split(":", 1)[0])
    assert 3 <= line <= 5  # the unclosed list on line 3 (the parser notices by line 4 or 5)


def test_tab_indentation_is_bad_input_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "promptwork.yaml").write_text(
        "prompts:\n  - 'x'\nproviders:\n\t- echo\ntests:\n  - vars: {}\n")
    code, _, err = evaluate(capsys)
    assert code == 2 and "promptwork.yaml:4" in err


def test_unknown_suite_key_gets_a_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "promptwork.yaml").write_text(
        "promts:\n  - 'x'\nproviders: [echo]\ntests:\n  - vars: {}\n")
    code, _, err = evaluate(capsys)
    assert code == 2
    assert "promptwork.yaml:1" in err and "promts" in err and "did you mean 'prompts'" in err


def test_unsupported_promptfoo_key_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        "prompts: ['x']\nproviders: [echo]\ntests:\n  - vars: {}\n"
        "tracing:\n  enabled: true\n")
    code, _, err = evaluate(capsys)
    assert code == 2
    assert "promptfooconfig.yaml:5" in err and "'tracing'" in err and "not supported" in err


def test_unknown_evaluate_option_gets_a_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    echo_suite(tmp_path, evaluateOptions={"maxConcurency": 2})
    code, _, err = evaluate(capsys)
    assert code == 2 and "did you mean 'maxConcurrency'" in err


def test_missing_suite_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = evaluate(capsys)
    assert code == 2 and "promptwork init" in err
    code, _, err = evaluate(capsys, "-c", "nowhere.yaml")
    assert code == 2 and "nowhere.yaml" in err


def test_missing_variable_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_suite(tmp_path, {"prompts": ["Say {{ w }}"], "providers": ["echo"],
                           "tests": [{"vars": {"x": 1}}]})
    code, _, err = evaluate(capsys)
    assert code == 2 and "missing variable" in err and "w" in err


def test_an_internal_error_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("summary exploded")

    monkeypatch.setattr(cli_eval, "summary_table", broken)
    echo_suite(tmp_path)
    code, _, err = evaluate(capsys)
    assert code == 1
    assert "internal error" in err and "summary exploded" in err


# -- exports ---------------------------------------------------------------------------------------


def test_json_export_has_promptfoos_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    echo_suite(tmp_path, expect=("a", "zzz"))
    code, _, err = evaluate(capsys, "-o", "out.json")
    assert code == 100 and "wrote out.json" in err
    data = json.loads((tmp_path / "out.json").read_text())
    results = data["results"]["results"]
    assert len(results) == 2
    for r in results:
        for key in ("promptIdx", "testIdx", "vars", "response", "success", "score",
                    "gradingResult", "latencyMs", "cost"):
            assert key in r, key
        assert "output" in r["response"]
    by_test = {r["testIdx"]: r for r in results}
    assert by_test[0]["response"]["output"] == "Say a" and by_test[0]["success"] is True
    assert by_test[1]["success"] is False and by_test[1]["score"] == 0.0
    assert by_test[1]["vars"] == {"w": "b"} and by_test[1]["gradingResult"]["pass"] is False
    stats = data["results"]["stats"]
    assert (stats["successes"], stats["failures"], stats["errors"]) == (1, 1, 0)


def test_output_path_in_the_suite_is_written_next_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = echo_suite(tmp_path / "suite", outputPath=["results.csv", "results.md"])
    code, _, err = evaluate(capsys, "-c", str(suite), "-o", str(tmp_path / "extra.jsonl"))
    assert code == 0, err
    assert (tmp_path / "suite" / "results.csv").read_text().count("\n") >= 3
    assert (tmp_path / "suite" / "results.md").exists()
    lines = (tmp_path / "extra.jsonl").read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line) for line in lines)
    assert not (tmp_path / "results.csv").exists()


def test_unknown_export_extension_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    echo_suite(tmp_path)
    code, _, err = evaluate(capsys, "-o", "out.docx")
    assert code == 2 and ".docx" in err


# -- the cache -------------------------------------------------------------------------------------


def test_an_unchanged_rerun_makes_no_calls_and_no_cache_calls_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_server: FakeServer
) -> None:
    write_suite(tmp_path, {
        "prompts": ["Question {{ i }}", "Other {{ i }}"],
        "providers": [fake_provider(fake_server.base_url)],
        "defaultTest": {"assert": [{"type": "icontains", "value": "hello"}]},
        "tests": [{"vars": {"i": i}} for i in range(3)],
    })
    assert evaluate(capsys)[0] == 0
    assert len(fake_server.requests) == 6

    code, out, _ = evaluate(capsys, "-o", "second.json")
    assert code == 0 and len(fake_server.requests) == 6  # all from the cache
    second = json.loads((tmp_path / "second.json").read_text())["results"]["results"]
    assert all(r["response"]["cached"] for r in second)

    assert evaluate(capsys, "--no-cache")[0] == 0
    assert len(fake_server.requests) == 12

    code, out, _ = cli(capsys, "cache", "clear")
    assert code == 0 and "removed 6 cached answers" in out
    assert evaluate(capsys)[0] == 0
    assert len(fake_server.requests) == 18
    assert len(run_ids(tmp_path)) == 4  # every run is stored


def test_suite_cache_false_disables_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_server: FakeServer
) -> None:
    write_suite(tmp_path, {"prompts": ["Q {{ i }}"],
                           "providers": [fake_provider(fake_server.base_url)],
                           "evaluateOptions": {"cache": False},
                           "tests": [{"vars": {"i": i}} for i in range(2)]})
    assert evaluate(capsys)[0] == 0
    assert evaluate(capsys)[0] == 0
    assert len(fake_server.requests) == 4
    assert sqlite_rows(db_file(tmp_path), "SELECT count(*) FROM cache_entries") == [(0,)]


# -- runs ------------------------------------------------------------------------------------------


def two_prompt_suite(folder: Path, n: int = 10) -> Path:
    """Prompt 0 always passes, prompt 1 always fails."""
    return write_suite(folder, {
        "description": "two formulations",
        "prompts": [{"id": "Good {{ i }}", "label": "good"},
                    {"id": "Bad {{ i }}", "label": "bad"}],
        "providers": [{"id": "scripted", "config": {"responses": {"Good": "yes", "*": "no"}}}],
        "defaultTest": {"assert": [{"type": "equals", "value": "yes"}]},
        "tests": [{"vars": {"i": i}} for i in range(n)],
    })


def test_runs_list_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    two_prompt_suite(tmp_path)
    assert evaluate(capsys)[0] == 100
    [run_id] = run_ids(tmp_path)
    code, out, _ = cli(capsys, "runs", "list")
    assert code == 0 and run_id in out and "complete" in out and "20/20" in out
    assert "two formulations" in out
    code, out, _ = cli(capsys, "runs", "show", run_id[:15])
    assert code == 0
    assert f"run {run_id} (complete, 20/20 cells)" in out
    assert "good" in out and "bad" in out and "Summary" in out
    code, out, _ = cli(capsys, "runs", "show")  # the latest
    assert code == 0 and run_id in out
    code, _, err = cli(capsys, "runs", "show", "nope")
    assert code == 2 and "no run 'nope'" in err


def test_runs_list_from_another_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    suite = two_prompt_suite(tmp_path / "proj")
    assert evaluate(capsys, "-c", str(suite))[0] == 100
    monkeypatch.chdir(tmp_path / "proj")
    [run_id] = run_ids(tmp_path / "proj")
    assert run_id in cli(capsys, "runs", "list")[1]
    monkeypatch.chdir(tmp_path)
    assert run_id in cli(capsys, "runs", "list", "-C", "proj")[1]
    assert run_id in cli(capsys, "runs", "list", "-C", str(suite))[1]


def test_runs_compare_two_columns_of_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_prompt_suite(tmp_path)
    evaluate(capsys)
    [run_id] = run_ids(tmp_path)
    code, out, _ = cli(capsys, "runs", "compare", run_id, "--a", "0:0", "--b", "1:0")
    assert code == 0
    assert f"A = {run_id} good {TIMES} scripted" in out
    assert f"B = {run_id} bad {TIMES} scripted" in out
    assert f"good {TIMES} scripted is better (p=0.002)" in out  # exact McNemar: 2 * 0.5 ** 10
    assert "Regressions (A pass → B fail): 10" in out
    assert "Fixes (A fail" not in out
    assert "A better, p=0.002" in out  # the summary table's verdict (views/compare.py)
    code, _, err = cli(capsys, "runs", "compare", run_id, "--a", "0:0", "--b", "2:0")
    assert code == 2 and "no column 2:0" in err
    code, _, err = cli(capsys, "runs", "compare", run_id)
    assert code == 2 and "name both with --a and --b" in err  # usage in plain words
    code, _, err = cli(capsys, "runs", "compare", run_id, "--a", "zero", "--b", "1:0")
    assert code == 2 and "no column is named 'zero'" in err and "good@scripted (0:0)" in err


def test_runs_compare_two_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    echo_suite(tmp_path, words=("a", "b", "c"))
    assert evaluate(capsys)[0] == 0
    echo_suite(tmp_path, words=("a", "b", "c"), expect=("a", "b", "zzz"))
    assert evaluate(capsys)[0] == 100
    first, second = run_ids(tmp_path)
    code, out, _ = cli(capsys, "runs", "compare", first, second)
    assert code == 0
    assert f"A = {first}" in out and f"B = {second}" in out
    assert "Regressions (A pass → B fail): 1" in out
    assert "no significant difference" in out  # one change in three tests proves nothing


# -- init ------------------------------------------------------------------------------------------


def test_init_writes_a_suite_that_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "init", "new")
    assert code == 0 and "promptwork eval" in out
    suite = load_suite(tmp_path / "new")
    assert len(suite.prompts) == 2 and suite.tests.count() >= 6
    assert [p.id for p in suite.providers] == ["local:gemma3-270m"]
    code, _, err = cli(capsys, "init", "new")
    assert code == 2 and "not overwriting" in err


@pytest.mark.embedded
def test_sequential_decoding_is_recorded_said_and_keys_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--sequential`` changes numerics: the run records and prints how the embedded model
    decoded, and a batched answer in the cache is not served to a sequential run."""
    (tmp_path / "count.prompt").write_text(
        "---\nparams: {temperature: 0, max_tokens: 3}\n---\n1, 2, 3, {{ i }},\n")
    write_suite(tmp_path, {
        "prompts": ["file://count.prompt"],
        "providers": ["local:gemma3-270m"],
        "defaultTest": {"assert": [{"type": "regex", "value": "."}]},
        "tests": [{"vars": {"i": i}} for i in (4, 5, 6)],
    })

    def cached(name: str) -> list[bool]:
        rows = json.loads((tmp_path / name).read_text())["results"]["results"]
        return [bool(r["response"]["cached"]) for r in rows]

    def decoding(run_id: str) -> str:
        (settings,) = sqlite_rows(db_file(tmp_path), "SELECT settings FROM runs WHERE id = ?",
                                  (run_id,))
        return str(json.loads(settings[0])["providers"][0]["settings"]["decoding"])

    code, _, err = evaluate(capsys, "-o", "batched.json")
    assert code == 0 and "decoding: local:gemma3-270m: batched (width 32)" in err
    assert cached("batched.json") == [False] * 3
    code, _, err = evaluate(capsys, "--sequential", "-o", "sequential.json")
    assert code == 0 and "decoding: local:gemma3-270m: sequential" in err
    assert cached("sequential.json") == [False] * 3  # batched answers are not reused
    assert evaluate(capsys, "-o", "again.json")[0] == 0
    assert cached("again.json") == [True] * 3
    assert [decoding(r) for r in run_ids(tmp_path)] == ["batched", "sequential", "batched"]


# -- what the run says about how it was graded -----------------------------------------------------


def rubric_suite(folder: Path, **check: Any) -> Path:
    return write_suite(folder, {
        "prompts": ["Say {{ w }}"], "providers": ["echo"],
        "tests": [{"vars": {"w": "hi"}, "assert": [
            {"type": "llm-rubric", "value": "says hi", **check},
            {"type": "similar", "value": "Say hi", "threshold": 0.5,
             "config": {"method": "lexical"}}]}],
    })


def scripted_graders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every grading model is a scripted one that passes; returns the ids asked for."""
    import promptwork.grading
    from promptwork.providers.scripted import ScriptedProvider

    asked: list[str] = []

    def create(model_id: str, config: dict[str, Any], label: str | None = None) -> Any:
        asked.append(model_id)
        return ScriptedProvider(['{"reason": "ok", "pass": true, "score": 1}'], id=model_id)

    monkeypatch.setattr(promptwork.grading, "create_provider", create)
    return asked


def test_the_summary_names_the_embedded_default_grader_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    asked = scripted_graders(monkeypatch)
    rubric_suite(tmp_path)
    code, _, err = evaluate(capsys, "-o", "r.json", "-o", "r.html")
    assert code == 0, err
    assert asked == ["local:gemma3-270m"]
    line = next(line for line in err.splitlines() if line.startswith("default grader:"))
    assert line.startswith("default grader: local:gemma3-270m (no grading model named and no "
                           "vendor key found")
    # similar's method is said too (named here, so not "(auto)").
    assert "similar method: lexical" in err.splitlines()
    meta = json.loads((tmp_path / "r.json").read_text())["metadata"]
    assert meta["defaultGrader"]["id"] == "local:gemma3-270m"
    assert meta["similarity"] == {"similar": "lexical"}
    page = (tmp_path / "r.html").read_text()
    assert "default grader: local:gemma3-270m (no grading model named" in page
    assert "similar method: lexical" in page


def test_a_vendor_key_picks_the_default_grader_and_the_summary_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = scripted_graders(monkeypatch)  # isolate_env set a (fake) OpenAI key
    rubric_suite(tmp_path)
    code, _, err = evaluate(capsys)
    assert code == 0, err
    assert asked == ["openai:gpt-5"]
    assert "default grader: openai:gpt-5 (OPENAI_API_KEY is set)" in err


def test_no_default_grader_line_when_every_check_names_its_grader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = scripted_graders(monkeypatch)
    rubric_suite(tmp_path, provider="openai:chat:my-grader")
    code, _, err = evaluate(capsys, "-o", "r.json")
    assert code == 0, err
    assert asked == ["openai:chat:my-grader"]
    assert "default grader" not in err
    assert "defaultGrader" not in json.loads((tmp_path / "r.json").read_text())["metadata"]


def test_similar_auto_says_which_method_it_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from promptwork.checks import similarity

    for method in ("lexical", "embedding"):
        monkeypatch.setattr(similarity, "auto_method", lambda m=method: m)
        write_suite(tmp_path, {
            "prompts": ["Say {{ w }}"], "providers": ["echo"],
            "tests": [{"vars": {"w": "hi"}, "assert": [{"type": "contains", "value": "hi"}]},
                      {"vars": {"w": "yo"}, "assert": [
                          {"type": "contains", "value": "yo"},
                          {"type": "similar", "value": "Say yo", "weight": 0}]}],
        })
        monkeypatch.setattr(similarity, "measure", _fixed_measure)
        code, _, err = evaluate(capsys)
        assert code == 0, err
        assert f"similar method: {method} (auto)" in err.splitlines()
        assert "default grader" not in err  # no model-graded check
    # A suite without similarity checks says nothing about them.
    echo_suite(tmp_path)
    code, _, err = evaluate(capsys)
    assert code == 0 and "method:" not in err


async def _fixed_measure(text: str, references: Any, method: str = "auto",
                         provider: Any = None) -> Any:
    from promptwork.checks.similarity import Measurement

    return Measurement([1.0], "lexical", "lexical similarity", "fixed")

"""``optimize()`` and ``promptwork optimize`` end to end, on the scripted fake model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from fakeserver import FakeServer
from promptwork.cli.main import main
from promptwork.errors import ConfigError
from promptwork.evaluation import EvalRun
from promptwork.optimizer import aoptimize, plan_optimization, read_provenance
from promptwork.optimizer.api import OptimizeResult
from promptwork.optimizer.data import Example
from promptwork.optimizer.report import ablation_candidates
from promptwork.prompts import load_prompt
from promptwork.providers.scripted import ScriptedProvider
from promptwork.store import Store
from promptwork.suite import load_suite

from .kit import smart_provider, write_sentiment_suite


async def test_optimize_finds_a_better_prompt_and_reports_it(
    suite_dir: Path, tmp_path: Path
) -> None:
    provider = smart_provider()
    out = tmp_path / "best.prompt"
    result = await aoptimize("prompts/seed.prompt", suite_dir, budget=120,
                             task_provider=provider, output=out)
    assert result.improved and result.best_val == 1.0 and result.seed_val == 0.0
    assert result.test_seed is not None and result.test_best is not None
    assert (result.test_seed.passed, result.test_best.passed) == (0, result.test_best.n)
    assert result.comparison is not None and result.comparison.significant
    assert result.budget["used"] <= 120
    assert "-Decide" in result.diff() or "+" in result.diff()
    # the ablation: the removable parts of the best prompt that what was left of the budget
    # could measure (in order), with their contribution; the others counted as skipped
    parts = [p[0] for p in ablation_candidates(result.best)]
    measured = [r.component for r in result.ablation]
    assert measured == [p for p in parts if p in measured]
    assert len(measured) + result.ablation_skipped == len(parts) and measured
    assert result.calls_used <= 120
    for row in result.ablation:
        assert row.contribution == pytest.approx(result.test_best.mean - row.without)
    # -o: a loadable .prompt with the seed's params and provenance in its front matter
    text = out.read_text()
    assert text == result.prompt_text
    loaded = load_prompt(str(out))
    assert loaded.params.max_tokens == 5 and loaded.variables == {"review"}
    prov = read_provenance(text)
    assert prov is not None
    assert prov["suite"].endswith("promptwork.yaml") and prov["prompt"] == "prompts/seed.prompt"
    assert prov["task_model"] == "scripted:smart" and prov["proposer"] is None
    assert prov["strategy"] == "auto" and prov["seed"] == 0 and prov["metric"] == "pass"
    assert prov["budget"]["limit"] == 120 and prov["budget"]["used"] == result.budget["used"]
    assert prov["scores"]["best"]["val"] == 1.0 and "test" in prov["scores"]["seed"]
    assert prov["split"]["ratios"] == "0.4/0.3/0.3"
    assert prov["references"] == "check equals (12)"
    # the store keeps the best prompt as a prompt version
    store = Store.for_folder(suite_dir)
    assert result.prompt_hash is not None
    assert store.prompt_text(result.prompt_hash) == text
    # the history: one run, candidates as prompts, search and test split as two columns
    assert result.run_id is not None
    run = EvalRun(result.run_id, store)
    assert run.record.settings["kind"] == "optimize"
    assert run.record.status == "complete"
    raced = {s.candidate.hash for s in result.history}
    assert len(run.prompt_labels) >= len(raced)
    assert run.prompt_labels[0] == "#0 seed prompt"
    assert run.provider_labels == ["scripted:smart (search)", "scripted:smart (test split)"]
    rows = list(run.rows())
    assert len(rows) == result.budget["used"] + result.report_calls
    seed_test = [r for r in rows if r["prompt_idx"] == 0 and r["provider_idx"] == 1]
    assert len(seed_test) == result.test_seed.n and not any(r["success"] for r in seed_test)
    assert {c.prompt_label for c in run.columns()} <= set(run.prompt_labels)
    store.close()


@pytest.mark.parametrize("strategy", ["auto", "demos", "components", "instructions"])
@pytest.mark.parametrize("budget", [27, 41, 68, 158])
async def test_the_budget_is_never_exceeded(suite_dir: Path, strategy: str, budget: int) -> None:
    provider = smart_provider()
    proposer = smart_provider()
    result = await aoptimize(None, suite_dir, budget=budget, strategy=strategy,
                             task_provider=provider, proposer_provider=proposer,
                             use_cache=False, ablate=False)
    reserve = 2 * result.plan.sizes["test"]
    assert result.budget["used"] <= budget - reserve
    assert result.budget["model_requests"] <= budget - reserve
    assert len(provider.calls) <= budget  # the test report included
    test_inputs = {e.vars["review"] for e in _test_split(result)}
    search_calls = [p for p, _ in provider.calls if _review(p.as_text()) not in test_inputs]
    assert len(search_calls) == result.budget["model_requests"]
    assert len(provider.calls) - len(search_calls) == result.report_calls
    assert result.budget["proposer_calls"] == len(proposer.calls)
    if strategy != "instructions":
        assert proposer.calls == []


def _review(text: str) -> str:
    return "review " + str(re.findall(r"review (\d+)", text)[-1])


def _test_split(result: OptimizeResult) -> tuple[Example, ...]:
    from promptwork.optimizer.data import load_examples, make_splits

    suite = load_suite(result.plan.suite_path)
    examples = load_examples(suite.tests, frozenset({"review"}))
    return make_splits(examples, result.plan.ratios, result.plan.seed).test


async def test_the_test_split_is_only_seen_after_the_search(suite_dir: Path) -> None:
    provider = smart_provider()
    result = await aoptimize(None, suite_dir, budget=100, task_provider=provider, ablate=False)
    test_inputs = {e.vars["review"] for e in _test_split(result)}
    reviews = [_review(p.as_text()) for p, _ in provider.calls]
    first_test = next(i for i, r in enumerate(reviews) if r in test_inputs)
    assert all(r in test_inputs for r in reviews[first_test:])
    assert first_test == result.budget["model_requests"]
    seen = {p.as_text() for p, _ in provider.calls[first_test:]}
    assert len(seen) == 2 * len(test_inputs)  # the seed and the best prompt, once each


async def test_a_second_run_is_answered_from_the_store_cache(suite_dir: Path) -> None:
    first = await aoptimize(None, suite_dir, budget=80, task_provider=smart_provider())
    provider = smart_provider()
    second = await aoptimize(None, suite_dir, budget=80, task_provider=provider)
    assert provider.calls == []
    assert second.budget["model_requests"] == 0
    assert second.budget["used"] == first.budget["used"]
    assert second.best.body == first.best.body


async def test_dry_run_makes_no_call(suite_dir: Path) -> None:
    provider = smart_provider()
    plan = plan_optimization(None, suite_dir, budget=77, split="0.5/0.25/0.25",
                             task_provider=provider)
    assert provider.calls == []
    assert plan.sizes == {"train": 15, "val": 8, "test": 7}
    lines = "\n".join(plan.lines())
    assert "budget 77 task-model calls: 63 for the search, 14 reserved for the test report" \
        in lines and "15 train / 8 val / 7 test" in lines
    assert "cost none" in lines and "refused" not in lines
    small = plan_optimization(None, suite_dir, budget=20, split="0.5/0.25/0.25",
                              task_provider=provider)
    assert "the run would be refused: --budget 20 is too small: the minimum is 22" \
        in "\n".join(small.lines())


@pytest.mark.parametrize("budget", [22, 30, 45, 60, 90, 150])
@pytest.mark.parametrize("strategy", ["auto", "demos"])
async def test_the_budget_counts_every_call_of_the_command(
    suite_dir: Path, budget: int, strategy: str
) -> None:
    """--budget 60 once made 72 calls (58 for the search, 14 for the test report): now the
    whole command, test report and ablation included, stays within it."""
    provider = smart_provider()
    result = await aoptimize(None, suite_dir, budget=budget, strategy=strategy,
                             split="0.5/0.25/0.25", task_provider=provider, use_cache=False)
    assert len(provider.calls) <= budget
    assert len(provider.calls) == result.calls_used == result.budget["used"] + result.report_calls
    assert result.budget["limit"] == budget and result.budget["report_reserved"] == 14
    assert result.budget["used"] <= budget - 14
    assert result.test_best is not None and result.test_best.n == 7  # the report was made
    if result.ablation_skipped == 0:
        assert result.ablation or not result.improved


async def test_the_report_reserve_is_not_spent_twice_when_the_best_is_the_seed(
    suite_dir: Path,
) -> None:
    dumb = ScriptedProvider(lambda p, _: "no idea", id="scripted:dumb")
    result = await aoptimize(None, suite_dir, budget=40, strategy="components",
                             task_provider=dumb, use_cache=False, ablate=False)
    assert not result.improved and result.report_calls == 9  # the seed once, not twice
    assert len(dumb.calls) <= 40


async def test_a_budget_below_the_reserve_is_refused_naming_the_minimum(suite_dir: Path) -> None:
    provider = smart_provider()
    with pytest.raises(ConfigError, match=r"--budget 26 is too small: the minimum is 27 \(9 "
                       r"to score the seed .* 18 reserved for the test report"):
        await aoptimize(None, suite_dir, budget=26, task_provider=provider)
    assert provider.calls == []


def test_the_cli_refuses_a_budget_below_the_reserve(
    suite_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli_suite(suite_dir)
    code = main(["optimize", "1", "-c", str(suite_dir), "--budget", "20", "-q"])
    assert code == 2 and "the minimum is 27" in capsys.readouterr().err


async def test_inputs_errors_fail_before_any_call(suite_dir: Path) -> None:
    provider = smart_provider()
    with pytest.raises(ConfigError, match="validation examples"):
        await aoptimize(None, suite_dir, budget=3, task_provider=provider)
    with pytest.raises(TypeError, match=r"unknown optimize option\(s\) 'budjet' \(did you mean "
                       r"'budget'\?\)"):
        await aoptimize(None, suite_dir, budjet=300, task_provider=provider)
    with pytest.raises(ConfigError, match="not a prompt of the suite"):
        await aoptimize("nope.prompt", suite_dir, task_provider=provider)
    with pytest.raises(ConfigError, match="unknown strategy"):
        await aoptimize(None, suite_dir, strategy="magic", task_provider=provider)
    with pytest.raises(ConfigError, match="--split"):
        await aoptimize(None, suite_dir, split="1/0/1", task_provider=provider)
    assert provider.calls == []


def _cli_suite(folder: Path) -> Path:
    suite = yaml.safe_load((folder / "promptwork.yaml").read_text())
    suite["providers"] = [{"id": "scripted", "config": {
        "responses": {"one word": "positive", "*": "positive, I think"}}}]
    (folder / "promptwork.yaml").write_text(yaml.safe_dump(suite))
    return folder


def test_cli_dry_run_and_run(suite_dir: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    _cli_suite(suite_dir)
    code = main(["optimize", "prompts/seed.prompt", "-c", str(suite_dir), "--dry-run",
                 "--budget", "50"])
    out = capsys.readouterr().out
    assert code == 0 and "dry run: no model was called" in out
    assert "budget 50 task-model calls: 32 for the search, 18 reserved for the test report" in out
    best = tmp_path / "out" / "best.prompt"
    code = main(["optimize", "1", "-c", str(suite_dir), "--budget", "80", "-o", str(best),
                 "--seed", "2", "-q"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "seed vs best on the test split" in captured.out
    assert "validation score vs task-model calls used" in captured.out
    assert "paired McNemar test" in captured.out
    prov = read_provenance(best.read_text())
    assert prov is not None and prov["seed"] == 2 and prov["task_model"] == "scripted"
    assert "one word" in best.read_text()


def test_cli_bad_prompt_name_exits_2(suite_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optimize", "missing", "-c", str(suite_dir), "--dry-run"]) == 2
    assert "not a prompt of the suite" in capsys.readouterr().err


async def test_metric_score_uses_the_weighted_check_score(tmp_path: Path) -> None:
    folder = tmp_path / "scored"
    write_sentiment_suite(folder)
    suite = yaml.safe_load((folder / "promptwork.yaml").read_text())
    suite["defaultTest"] = {"assert": [{"type": "python", "value": "len(output) < 40"}]}
    (folder / "promptwork.yaml").write_text(yaml.safe_dump(suite))
    result = await aoptimize(None, folder, budget=100, metric="score",
                             task_provider=smart_provider(), ablate=False)
    assert result.seed_val == 0.5 and result.best_val == 1.0
    assert result.test_seed is not None and result.test_seed.mean == 0.5
    assert result.test_seed.passed == 0


class Interrupt(BaseException):
    """Stands for Ctrl-C in the middle of a search."""


async def test_an_interrupted_run_repeats_no_call_when_run_again(
    suite_dir: Path, tmp_path: Path
) -> None:
    import shutil

    from promptwork.providers.scripted import ScriptedProvider
    from promptwork.types import Completion, Params, RenderedPrompt

    from .kit import smart_answer

    reference_dir = tmp_path / "reference"
    shutil.copytree(suite_dir, reference_dir)
    reference = smart_provider()
    expected = await aoptimize(None, reference_dir, budget=90, task_provider=reference)

    class Dying(ScriptedProvider):
        async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
            if len(self.calls) >= 30:
                raise Interrupt
            return await super().complete(prompt, params)

    first = Dying(smart_answer, id="scripted:smart")
    with pytest.raises(Interrupt):
        await aoptimize(None, suite_dir, budget=90, task_provider=first)
    done = {p.as_text() for p, _ in first.calls[:30]}
    second = smart_provider()
    result = await aoptimize(None, suite_dir, budget=90, task_provider=second)
    assert not done & {p.as_text() for p, _ in second.calls}
    assert len(second.calls) == len(reference.calls) - 30
    assert result.best.body == expected.best.body
    assert result.budget["used"] == expected.budget["used"]


async def test_auto_uses_instructions_when_a_proposer_is_named(suite_dir: Path) -> None:
    from promptwork.providers.scripted import ScriptedProvider

    proposer = ScriptedProvider(["to reply with one word"], id="scripted:writer")
    result = await aoptimize(None, suite_dir, budget=100, proposer="scripted:writer",
                             task_provider=smart_provider(), proposer_provider=proposer,
                             ablate=False)
    assert proposer.calls and result.budget["proposer_calls"] == len(proposer.calls)
    assert any(s.candidate.origin == "instructions" for s in result.history)
    assert result.provenance()["proposer"] == "scripted:writer"


def test_cli_proposer_on_an_http_api_is_counted_apart_and_its_key_never_stored(
    suite_dir: Path, tmp_path: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "sk-test-proposer-key-0123456789"
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    fake_server.answer = "Answer with one word."
    _cli_suite(suite_dir)
    best = tmp_path / "best.prompt"
    db = tmp_path / "store.db"
    code = main(["optimize", "1", "-c", str(suite_dir), "--budget", "60",
                 "--proposer", "openai:gpt-4o-mini", "--strategy", "instructions",
                 "-o", str(best), "--db", f"sqlite:///{db}", "-q"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    asked = [r for r in fake_server.requests if r.path.endswith("/chat/completions")]
    assert asked and all(r.json["model"] == "gpt-4o-mini" for r in asked)
    assert all(r.headers["authorization"] == f"Bearer {secret}" for r in asked)
    prov = read_provenance(best.read_text())
    assert prov is not None and prov["proposer"] == "openai:gpt-4o-mini"
    # proposer calls are reported apart from the task model's budget
    assert prov["budget"]["proposer_calls"] == len(asked)
    assert prov["budget"]["used"] <= 60
    assert db.is_file()
    written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    for text in (*written, captured.out.encode(), captured.err.encode()):
        assert secret.encode() not in text

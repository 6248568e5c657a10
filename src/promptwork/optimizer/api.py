"""``optimize()``: search for a better version of one prompt of a suite, and report on it.

The search sees the training and validation splits only; once it is over, the seed and the best
prompt are scored on the test split (and the best prompt's components ablated), which the budget
does not count: those calls are reported separately.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from promptwork.blocking import run_blocking
from promptwork.calls import CallPolicy, ModelCaller
from promptwork.errors import ConfigError
from promptwork.grading import GraderPool
from promptwork.optimizer.budget import (
    Budget,
    BudgetedProvider,
    ExampleScore,
    ScoreCache,
    text_hash,
)
from promptwork.optimizer.candidate import Candidate
from promptwork.optimizer.data import DEFAULT_SPLIT, label_set, parse_split
from promptwork.optimizer.history import Recorder
from promptwork.optimizer.plan import PROPOSER_LIMIT, Plan, Setup, prepare
from promptwork.optimizer.report import (
    AblationRow,
    SplitScore,
    ablation,
    ablation_candidates,
    paired_test,
    provenance_header,
    text_diff,
)
from promptwork.optimizer.resume import open_history
from promptwork.optimizer.search import search
from promptwork.optimizer.state import Scored, SearchState, Strategy
from promptwork.optimizer.strategies import (
    ComponentStrategy,
    DemoStrategy,
    InstructionStrategy,
    Proposer,
    ReflectStrategy,
)
from promptwork.providers.base import Provider
from promptwork.stats import PassFailComparison
from promptwork.store import Store
from promptwork.suite import Suite

Log = Callable[[str], None]


@dataclass
class OptimizeResult:
    """The outcome of an optimization.

    Attributes:
        plan: What was planned (splits, models, budget).
        seed, best: The seed and the best candidate (the seed when nothing beat it).
        seed_val, best_val: Their mean metric on the whole validation split.
        test_seed, test_best: Their results on the test split (``None`` without a test split).
        comparison: Exact McNemar test of best vs seed on the test split.
        history: Every raced candidate with the validation examples it was scored on.
        curve: (task-model calls used, best validation score) after each round.
        ablation: Each component of the best prompt and its contribution.
        ablation_split: The split the ablation was measured on.
        budget: Search budget accounting (limit, used, model requests, proposer calls).
        report_calls: Task-model evaluations for the test split and the ablation.
        prompt_text: The best prompt as a ``.prompt`` file, provenance in its front matter.
        prompt_hash: Its version in the store.
        output: Where it was written (``-o``), if anywhere.
        run_id: The store run holding the history (every candidate x example scored).
    """

    plan: Plan
    seed: Candidate
    best: Candidate
    seed_val: float
    best_val: float
    metric: str
    test_seed: SplitScore | None
    test_best: SplitScore | None
    comparison: PassFailComparison | None
    history: list[Scored]
    curve: list[tuple[int, float]]
    ablation: list[AblationRow]
    ablation_split: str
    budget: dict[str, int]
    report_calls: int
    prompt_text: str
    seed_text: str
    prompt_hash: str | None = None
    output: Path | None = None
    run_id: str | None = None
    scores: dict[str, list[ExampleScore]] = field(default_factory=dict)

    @property
    def improved(self) -> bool:
        return self.best.hash != self.seed.hash

    def diff(self) -> str:
        """Unified diff of the prompt body, seed to best."""
        return text_diff(self.seed.body, self.best.body)

    def html(self) -> str:
        """The report as one self-contained HTML page (offline charts, no scripts)."""
        from promptwork.optimizer.html import render_html

        return render_html(self)

    def write(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.prompt_text, encoding="utf-8")
        return target

    def provenance(self) -> dict[str, Any]:
        plan = self.plan
        scores: dict[str, Any] = {
            "seed": {"val": round(self.seed_val, 4)}, "best": {"val": round(self.best_val, 4)},
        }
        if self.test_seed is not None and self.test_best is not None:
            scores["seed"]["test"] = round(self.test_seed.mean, 4)
            scores["best"]["test"] = round(self.test_best.mean, 4)
        if self.comparison is not None:
            scores["test_p_value"] = round(self.comparison.p_value, 4)
        return {
            "suite": plan.suite_path, "prompt": plan.prompt_label,
            "seed_sha256": plan.seed_hash, "metric": self.metric,
            "task_model": plan.task_model, "proposer": plan.proposer,
            "strategy": plan.strategy, "seed": plan.seed,
            "budget": dict(self.budget), "split": plan.split_dict(),
            "references": plan.reference_source, "scores": scores,
            "change": self.best.note,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def _strategies(name: str, proposer: Proposer | None) -> list[Strategy]:
    if name == "demos":
        return [DemoStrategy()]
    if name == "components":
        return [ComponentStrategy()]
    if name == "instructions":
        assert proposer is not None
        return [InstructionStrategy(proposer)]
    if name == "reflect":
        assert proposer is not None
        return [ReflectStrategy(proposer)]
    out: list[Strategy] = [ComponentStrategy(), DemoStrategy()]
    if proposer is not None:
        out += [InstructionStrategy(proposer), ReflectStrategy(proposer)]
    return out


async def aoptimize(
    prompt: str | None = None,
    suite: str | Path | Suite = "promptwork.yaml",
    *,
    model: str | None = None,
    proposer: str | None = None,
    budget: int = 200,
    strategy: str = "auto",
    seed: int = 0,
    split: str | tuple[float, float, float] | None = None,
    answer_var: str | None = None,
    metric: str = "pass",
    max_tests: int | None = None,
    output: str | Path | None = None,
    db: str | None = None,
    use_cache: bool = True,
    ablate: bool = True,
    task_provider: Provider | None = None,
    proposer_provider: Provider | None = None,
    log: Log | None = None,
    split_var: str | None = None,
    resume: str | None = None,
) -> OptimizeResult:
    """Async twin of :func:`optimize`."""
    ratios = parse_split(split) if isinstance(split, str) else (split or DEFAULT_SPLIT)
    setup = prepare(prompt, suite, model=model, proposer=proposer, budget=budget,
                    strategy=strategy, seed=seed, ratios=ratios, answer_var=answer_var,
                    metric=metric, max_tests=max_tests, task_provider=task_provider,
                    split_var=split_var)
    if setup.plan.budget < len(setup.splits.val):
        raise ConfigError(
            f"--budget {setup.plan.budget} cannot even score the seed on the "
            f"{len(setup.splits.val)} validation examples; raise --budget, or use fewer tests "
            "(--max-tests, --split)"
        )
    store = Store.for_folder(setup.suite.base_dir, db)
    cache = store if use_cache and setup.suite.options.cache else None
    owned = [] if task_provider is not None else [setup.provider]
    graders = GraderPool(cache, CallPolicy(), setup.suite.options.max_concurrency)
    provider = {"id": setup.plan.task_model, "label": setup.plan.task_model,
                "settings": setup.provider.describe()}
    recorder: Recorder | None = None
    status = "failed"
    try:
        recorder, replayed = open_history(store, setup, answer_var, resume, provider)
        if log is not None and resume is not None:
            log(f"resuming run {recorder.run_id}: {replayed} recorded evaluations are replayed")
        proposing = None
        if setup.plan.proposer is not None:  # an injected instance stands for the named model
            proposing = proposer_provider or setup.make_proposer()
            if proposer_provider is None:
                owned.append(proposing)
        state = await _search(setup, cache, graders, recorder, proposing, log)
        result = await _report(setup, state, cache, graders, recorder, ablate, log)
        body = result.best.body
        result.prompt_text = setup.seed.file_text(body if body.endswith("\n") else body + "\n",
                                                  provenance_header(result.provenance()))
        result.prompt_hash = store.save_prompt(
            result.prompt_text, f"{setup.plan.prompt_label} (optimized)",
            text_hash(result.prompt_text))
        if output is not None:
            result.output = result.write(output)
        recorder.finish("complete", result.provenance())
        status, result.run_id = "complete", recorder.run_id
        return result
    except BaseException as exc:
        status = "failed" if isinstance(exc, Exception) else "interrupted"
        raise
    finally:
        if recorder is not None and status != "complete":
            recorder.finish(status)
        for p in owned:
            await p.aclose()
        await graders.aclose()
        store.close()


async def _search(
    setup: Setup, cache: Store | None, graders: GraderPool, recorder: Recorder,
    proposer: Provider | None, log: Log | None,
) -> SearchState:
    """The search: train and validation examples only, under the budget."""
    plan, seed, data = setup.plan, setup.seed, setup.splits.for_search()
    budget = Budget(plan.budget, PROPOSER_LIMIT)
    caller = ModelCaller(BudgetedProvider(setup.provider, budget), cache=cache,
                         concurrency=setup.concurrency)
    evaluator = recorder.evaluator(0, seed, caller, budget, ScoreCache(), allowed=data.indexes,
                                   base_dir=setup.suite.base_dir, graders=graders)
    prop = None
    if proposer is not None:
        prop = Proposer(ModelCaller(proposer, cache=cache, concurrency=setup.concurrency),
                        budget)
    state = SearchState(
        seed, Candidate.seed(seed), data, evaluator, budget, random.Random(plan.seed),
        plan.metric, label_set([*data.train, *data.val]),
    )
    if log is not None:
        log(f"optimizing {plan.prompt_label} on {plan.task_model}: "
            f"{plan.split_text()}, budget {plan.budget}")
    await search(state, _strategies(plan.strategy, prop), log=log)
    return state


async def _report(
    setup: Setup, state: SearchState, cache: Store | None, graders: GraderPool,
    recorder: Recorder, ablate: bool, log: Log | None,
) -> OptimizeResult:
    """After the search: seed and best on the test split, and the ablation of the best."""
    plan, splits, best = setup.plan, setup.splits, state.best
    held_out = splits.test or splits.val
    report_budget = Budget(len(held_out) * (2 + len(ablation_candidates(best.candidate))))
    report_caller = ModelCaller(BudgetedProvider(setup.provider, report_budget), cache=cache,
                                concurrency=setup.concurrency)
    reporter = recorder.evaluator(1, setup.seed, report_caller, report_budget, ScoreCache(),
                                  base_dir=setup.suite.base_dir, graders=graders)
    test_seed = test_best = None
    comparison = None
    scores: dict[str, list[ExampleScore]] = {}
    if splits.test:
        if log is not None:
            log(f"scoring seed and best on the {len(splits.test)} test examples")
        scores["seed"], scores["best"] = await reporter.score_many(
            [(state.seed, splits.test), (best.candidate, splits.test)])
        test_seed = SplitScore.of(scores["seed"], plan.metric)
        test_best = SplitScore.of(scores["best"], plan.metric)
        comparison = paired_test(scores["seed"], scores["best"])
    rows: list[AblationRow] = []
    if ablate and ablation_candidates(best.candidate):
        rows = await ablation(best.candidate, reporter, held_out, plan.metric)
    return OptimizeResult(
        plan=plan, seed=state.seed, best=best.candidate, seed_val=state.history[0].mean,
        best_val=best.mean, metric=plan.metric, test_seed=test_seed, test_best=test_best,
        comparison=comparison, history=list(state.history), curve=list(state.curve),
        ablation=rows, ablation_split="test" if splits.test else "val",
        budget=state.budget.to_dict(), report_calls=report_budget.spent, prompt_text="",
        seed_text=setup.seed.template.raw, scores=scores,
    )


def optimize(
    prompt: str | None = None,
    suite: str | Path | Suite = "promptwork.yaml",
    *,
    model: str | None = None,
    proposer: str | None = None,
    budget: int = 200,
    strategy: str = "auto",
    seed: int = 0,
    split: str | tuple[float, float, float] | None = None,
    answer_var: str | None = None,
    metric: str = "pass",
    max_tests: int | None = None,
    output: str | Path | None = None,
    db: str | None = None,
    use_cache: bool = True,
    ablate: bool = True,
    task_provider: Provider | None = None,
    proposer_provider: Provider | None = None,
    log: Log | None = None,
    split_var: str | None = None,
    resume: str | None = None,
) -> OptimizeResult:
    """Search for a better version of ``prompt``, a prompt of ``suite``, scored by its checks.

    Args:
        prompt: The prompt to optimize: its file path, label or 1-based position in the suite
            (may be omitted when the suite has one prompt).
        suite: A suite file or folder, or a loaded :class:`~promptwork.suite.Suite`.
        model: Task model (default: the suite's first provider).
        proposer: Model that writes instructions (default: none for ``auto``, the task model for
            ``instructions`` and ``reflect``).
        budget: Task-model calls the search may make; never exceeded.
        strategy: ``auto``, ``demos``, ``components``, ``instructions`` or ``reflect``.
        seed: Seed of the splits and of the search.
        split: Train/validation/test shares (``"0.4/0.3/0.3"``).
        split_var: A test variable that gives each test's split (``train``, ``val``,
            ``test``) instead of ``split``.
        answer_var: Variable holding the reference answers (default: read from the checks).
        metric: ``pass`` (pass rate) or ``score`` (weighted check score).
        max_tests: Only the first N tests.
        output: Where to write the best prompt as a ``.prompt`` file.
        db: Store URL (default: SQLite in ``.promptwork/`` next to the suite).
        use_cache: Answer repeated calls from the store's cache (a re-run repeats no call).
        ablate: Measure each component of the best prompt on the test split.
        task_provider: A provider instance for the task model (tests).
        proposer_provider: A provider instance for the proposer (tests).
        log: Called with progress lines.
        resume: Continue an interrupted optimization instead of starting anew: a run id, or
            ``""`` for the latest unfinished one with the same plan; recorded evaluations are
            replayed (charged to the budget, no model call).

    Returns:
        An :class:`OptimizeResult`; the best prompt is also stored as a new prompt version and
        the history as a run.
    """
    return run_blocking(aoptimize(
        prompt, suite, model=model, proposer=proposer, budget=budget, strategy=strategy,
        seed=seed, split=split, answer_var=answer_var, metric=metric, max_tests=max_tests,
        output=output, db=db, use_cache=use_cache, ablate=ablate, task_provider=task_provider,
        proposer_provider=proposer_provider, log=log,
        split_var=split_var, resume=resume), "optimize")

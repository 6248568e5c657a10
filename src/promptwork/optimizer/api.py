"""``optimize()``: search for a better version of one prompt of a suite, and report on it.

The search sees the training and validation splits only; once it is over, the seed and the best
prompt are scored on the test split, and the best prompt's components ablated. ``budget`` counts
every task-model call of the command: the test report's calls (the seed and the best on the test
split) are reserved from it at the start, and the ablation gets what the search and the test
report leave.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promptwork.blocking import run_blocking
from promptwork.calls import CallPolicy, ModelCaller
from promptwork.grading import GraderPool
from promptwork.optimizer.ablation import AblationRow, ablation
from promptwork.optimizer.budget import (
    Budget,
    BudgetedProvider,
    ExampleScore,
    ScoreCache,
    text_hash,
)
from promptwork.optimizer.candidate import Candidate
from promptwork.optimizer.data import GENERATION_TASK, REFERENCE_TASK, Example, label_set
from promptwork.optimizer.history import Recorder
from promptwork.optimizer.options import Log, OptimizeOptions
from promptwork.optimizer.plan import PROPOSER_LIMIT, Setup, check_budget, prepare
from promptwork.optimizer.report import provenance_header
from promptwork.optimizer.result import OptimizeResult, SplitScore, paired, paired_test
from promptwork.optimizer.resume import open_history
from promptwork.optimizer.search import search
from promptwork.optimizer.state import SearchState, Strategy
from promptwork.optimizer.strategies import (
    ComponentStrategy,
    DemoStrategy,
    InstructionStrategy,
    Proposer,
    ReflectStrategy,
)
from promptwork.optimizer.strategies.components import GENERATION_FRAGMENTS, check_fragments
from promptwork.providers.base import Provider
from promptwork.store import Store
from promptwork.suite import Suite, load_suite
from promptwork.suiteenv import applied as suite_env

__all__ = ["OptimizeOptions", "OptimizeResult", "aoptimize", "optimize"]


def _strategies(name: str, proposer: Proposer | None, task: str = REFERENCE_TASK,
                examples: Sequence[Example] = ()) -> list[Strategy]:
    """The strategies for ``name`` on this kind of task (in words: :func:`plan.strategy_note`).

    Free text without reference answers (``generation``) gets instruction edits that its checks
    judge: fragments made from the checks themselves instead of answer-form ones ("Answer with
    one word.", an answer line), demos bootstrapped from answers that pass, the proposer's
    rewrites after seeing failures (``reflect``); not the proposer's instruction induction,
    which needs input/answer pairs.
    """
    generation = task == GENERATION_TASK
    components = (ComponentStrategy(check_fragments(examples) + list(GENERATION_FRAGMENTS),
                                    answer_form=False) if generation else ComponentStrategy())
    if name == "demos":
        return [DemoStrategy()]
    if name == "components":
        return [components]
    if name == "instructions":
        assert proposer is not None
        return [InstructionStrategy(proposer)]
    if name == "reflect":
        assert proposer is not None
        return [ReflectStrategy(proposer)]
    out: list[Strategy] = [components, DemoStrategy()]
    if generation:
        return out + ([ReflectStrategy(proposer)] if proposer is not None else [])
    if proposer is not None:
        out += [InstructionStrategy(proposer), ReflectStrategy(proposer)]
    return out


async def aoptimize(
    prompt: str | None = None,
    suite: str | Path | Suite = "promptwork.yaml",
    options: OptimizeOptions | None = None,
    **changes: Any,
) -> OptimizeResult:
    """Async twin of :func:`optimize`."""
    opts = OptimizeOptions.of(options, **changes)
    loaded = suite if isinstance(suite, Suite) else load_suite(suite)
    with suite_env(loaded.env):  # promptfoo's ``env:``, while the models are made and called
        return await _aoptimize(prompt, loaded, opts)


async def _aoptimize(prompt: str | None, suite: Suite, opts: OptimizeOptions) -> OptimizeResult:
    setup = prepare(prompt, suite, opts)
    check_budget(setup.plan)
    db, output, log, resume = opts.db, opts.output, opts.log, opts.resume
    task_provider, proposer_provider = opts.task_provider, opts.proposer_provider
    answer_var = opts.answer_var
    store = Store.for_folder(setup.suite.base_dir, db)
    cache = store if opts.use_cache and setup.suite.options.cache else None
    owned = [] if task_provider is not None else [setup.provider]
    graders = GraderPool(cache, CallPolicy(), setup.suite.options.max_concurrency)
    provider = {"id": setup.plan.task_model, "label": setup.plan.task_model,
                "settings": setup.provider.describe()}
    recorder: Recorder | None = None
    status = "failed"
    stop_reason = ""
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
        result = await _report(setup, state, cache, graders, recorder, opts.ablate, log)
        result.stop_reason = state.stop_reason
        body = result.best.body
        result.prompt_text = setup.seed.file_text(body if body.endswith("\n") else body + "\n",
                                                  provenance_header(result.provenance()))
        result.prompt_hash = store.save_prompt(
            result.prompt_text, f"{setup.plan.prompt_label} (optimized)",
            text_hash(result.prompt_text))
        if output is not None:
            result.output = result.write(output)
        recorder.finish("complete", {**result.provenance(), **recorder.report_record(result)})
        status, result.run_id = "complete", recorder.run_id
        result.stored_settings = recorder.settings
        return result
    except BaseException as exc:
        status = "failed" if isinstance(exc, Exception) else "interrupted"
        stop_reason = (f"failed: {type(exc).__name__}: {exc}" if status == "failed" else
                       "interrupted (Ctrl-C or the process was stopped): --resume continues it")
        if log is not None:
            log(f"optimization stopped: {stop_reason}")
        raise
    finally:
        if recorder is not None and status != "complete":
            recorder.finish(status, {"stop_reason": stop_reason})
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
    budget = Budget(plan.search_budget, PROPOSER_LIMIT)
    caller = ModelCaller(BudgetedProvider(setup.provider, budget), cache=cache,
                         concurrency=setup.concurrency)
    evaluator = recorder.evaluator(0, seed, caller, budget, ScoreCache(), allowed=data.indexes,
                                   base_dir=setup.suite.base_dir, graders=graders,
                                   prompt_params=setup.entry.params)
    prop = None
    if proposer is not None:
        prop = Proposer(ModelCaller(proposer, cache=cache, concurrency=setup.concurrency),
                        budget)
    state = SearchState(
        seed, Candidate.seed(seed), data, evaluator, budget, random.Random(plan.seed),
        plan.metric, label_set([*data.train, *data.val]),
    )
    strategies = _strategies(plan.strategy, prop, plan.task, [*data.train, *data.val])
    if log is not None:
        log(f"optimizing {plan.prompt_label} on {plan.task_model}: "
            f"{plan.split_text()}; {plan.budget_text()}")
        for line in plan.choice_lines():
            log(line)
    await search(state, strategies, log=log)
    return state


async def _report(
    setup: Setup, state: SearchState, cache: Store | None, graders: GraderPool,
    recorder: Recorder, ablate: bool, log: Log | None,
) -> OptimizeResult:
    """After the search: seed and best on the test split (paid by the reserve), and the
    ablation of the best (paid by what is left of the budget)."""
    plan, splits, best = setup.plan, setup.splits, state.best
    held_out = splits.test or splits.val
    report_budget = Budget(plan.budget - state.budget.spent)
    report_caller = ModelCaller(BudgetedProvider(setup.provider, report_budget), cache=cache,
                                concurrency=setup.concurrency)
    reporter = recorder.evaluator(1, setup.seed, report_caller, report_budget, ScoreCache(),
                                  base_dir=setup.suite.base_dir, graders=graders,
                                  prompt_params=setup.entry.params)
    test_seed = test_best = None
    comparison = None
    left_out = 0
    scores: dict[str, list[ExampleScore]] = {}
    if splits.test:
        if log is not None:
            log(f"scoring seed and best on the {len(splits.test)} test examples")
        scores["seed"], scores["best"] = await reporter.score_many(
            [(state.seed, splits.test), (best.candidate, splits.test)])
        # Errors are no verdicts: their examples leave both sides, and are counted.
        kept_seed, kept_best, left_out = paired(scores["seed"], scores["best"])
        test_seed = SplitScore.of(kept_seed, plan.metric)
        test_best = SplitScore.of(kept_best, plan.metric)
        comparison = paired_test(kept_seed, kept_best)
        if left_out and log is not None:
            log(f"{left_out} test example(s) left out of seed vs best: an answer was an error")
    rows: list[AblationRow] = []
    skipped = 0
    if ablate:
        rows, skipped = await ablation(best.candidate, reporter, held_out, plan.metric)
        if skipped and log is not None:
            log(f"ablation: {skipped} component(s) left out, the budget is used up")
    budget = {**state.budget.to_dict(), "limit": plan.budget,
              "search_limit": state.budget.limit, "report_reserved": plan.report_reserve}
    return OptimizeResult(
        plan=plan, seed=state.seed, best=best.candidate, seed_val=state.history[0].mean,
        best_val=best.mean, metric=plan.metric, test_seed=test_seed, test_best=test_best,
        comparison=comparison, history=list(state.history), curve=list(state.curve),
        ablation=rows, ablation_split="test" if splits.test else "val",
        budget=budget, report_calls=report_budget.spent, prompt_text="",
        seed_text=setup.seed.template.raw, scores=scores, ablation_skipped=skipped,
        test_left_out=left_out,
    )


def optimize(
    prompt: str | None = None,
    suite: str | Path | Suite = "promptwork.yaml",
    options: OptimizeOptions | None = None,
    **changes: Any,
) -> OptimizeResult:
    """Search for a better version of ``prompt``, a prompt of ``suite``, scored by its checks.

    Args:
        prompt: The prompt to optimize: its file path, label or 1-based position in the suite
            (may be omitted when the suite has one prompt).
        suite: A suite file or folder, or a loaded :class:`~promptwork.suite.Suite`.
        options: The options as one value (see :class:`OptimizeOptions`: ``budget``,
            ``strategy``, ``model``, ``proposer``, ``seed``, ``split``, ``output``...).
        **changes: The same options as keyword arguments (``budget=300``); they override
            ``options``. An unknown name raises ``TypeError``.

    ``budget`` is every task-model call the command may make, the test report included
    (reserved at the start: the seed and the best prompt on the test split); the ablation uses
    what is left. A budget below the validation split plus that reserve is refused
    (``ConfigError``) before any call.

    Returns:
        An :class:`OptimizeResult`; the best prompt is also stored as a new prompt version and
        the history as a run.
    """
    return run_blocking(aoptimize(prompt, suite, OptimizeOptions.of(options, **changes)),
                        "optimize")

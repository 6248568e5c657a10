"""Preparing an optimization: the prompt, the examples and splits, the models, and the plan.

Everything a user can get wrong (prompt name, missing variables, parameters the model does not
support, a budget too small) fails here, before any model call. :func:`plan_optimization` is
what ``--dry-run`` prints: the planned calls and an estimate of time and cost.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptwork.checks.registry import value_variables
from promptwork.errors import ConfigError, MissingVariableError
from promptwork.optimizer.ablation import ablation_candidates
from promptwork.optimizer.candidate import Candidate, SeedPrompt
from promptwork.optimizer.data import (
    GENERATION_TASK,
    REFERENCE_TASK,
    Splits,
    load_examples,
    make_splits,
    reference_summary,
    splits_by_variable,
    task_kind,
)
from promptwork.optimizer.options import METRICS, PROPOSING, STRATEGIES, OptimizeOptions
from promptwork.providers.base import Provider
from promptwork.providers.pricing import price_of
from promptwork.providers.registry import create_provider
from promptwork.suite import PromptEntry, ProviderEntry, Suite, load_suite, provider_allows

__all__ = ["METRICS", "PROPOSER_LIMIT", "PROPOSING", "STRATEGIES", "Plan", "Setup",
           "plan_optimization", "prepare"]

#: Most proposer calls in one optimization.
PROPOSER_LIMIT = 40
#: Rough seconds per call: embedded models (2-core machine, short answers), others.
LOCAL_SECONDS, REMOTE_SECONDS = 0.25, 1.5


@dataclass(frozen=True)
class Plan:
    """What an optimization will do (and what ``--dry-run`` prints)."""

    suite_path: str | None
    prompt_label: str
    seed_hash: str
    task_model: str
    proposer: str | None
    strategy: str
    metric: str
    seed: int
    budget: int
    ratios: tuple[float, float, float]
    sizes: dict[str, int]
    reference_source: str
    components: int
    est_seconds_per_call: float
    price_per_call: float | None
    #: ``reference`` or ``generation`` (free text judged by checks), and why.
    task: str = REFERENCE_TASK
    task_reason: str = ""
    #: Why this task model (the suite's provider for the prompt, ``--model``...).
    model_reason: str = ""
    #: Why this metric (``--metric`` given, or chosen for the task).
    metric_reason: str = ""
    #: Which strategies run, and why.
    strategy_reason: str = ""

    @property
    def report_reserve(self) -> int:
        """Task-model calls reserved from the budget for the test report: the seed and the best
        prompt each on the test split (fewer are spent when the best is the seed)."""
        return 2 * self.sizes["test"]

    @property
    def search_budget(self) -> int:
        """What the search may spend: the budget less the test report's reserve."""
        return max(0, self.budget - self.report_reserve)

    @property
    def min_budget(self) -> int:
        """The smallest budget that scores the seed on validation and pays the test report."""
        return self.sizes["val"] + self.report_reserve

    @property
    def report_calls_max(self) -> int:
        """Most task-model calls after the search (test report and ablation): what the search
        leaves, never more than the test report and an ablation of every component."""
        held_out = self.sizes["test" if self.sizes["test"] else "val"]
        return min(self.budget, self.report_reserve + held_out * self.components)

    @property
    def proposer_calls_max(self) -> int:
        return PROPOSER_LIMIT if self.proposer is not None else 0

    def split_dict(self) -> dict[str, Any]:
        return {**self.sizes, "ratios": "/".join(f"{r:g}" for r in self.ratios)}

    def split_text(self) -> str:
        s = self.sizes
        return f"{s['train']} train / {s['val']} val / {s['test']} test examples"

    def budget_text(self) -> str:
        """How ``--budget`` is shared: ``N for the search, M reserved for the test report``."""
        return (f"budget {self.budget} task-model calls: {self.search_budget} for the search, "
                f"{self.report_reserve} reserved for the test report")

    def choice_lines(self) -> list[str]:
        """What the optimization chose for this task and why (model, task kind, metric)."""
        out = []
        if self.model_reason:
            out.append(f"task model {self.task_model}: {self.model_reason}")
        if self.task_reason:
            out.append(f"task: {self.task}: {self.task_reason}")
        if self.metric_reason:
            out.append(f"metric {self.metric}: {self.metric_reason}")
        if self.strategy_reason:
            out.append(f"strategies: {self.strategy_reason}")
        return out

    def lines(self) -> list[str]:
        """The dry-run summary."""
        calls = self.budget
        seconds = calls * self.est_seconds_per_call
        held_out = "test" if self.sizes["test"] else "validation"
        out = [
            f"prompt: {self.prompt_label} (seed sha256 {self.seed_hash[:12]})",
            f"task model: {self.task_model}; proposer: {self.proposer or 'none'}; "
            f"strategy: {self.strategy}; metric: {self.metric}; seed: {self.seed}",
            f"splits: {self.split_text()} (ratios {self.split_dict()['ratios']})",
            f"reference answers: {self.reference_source}",
            *self.choice_lines(),
            f"{self.budget_text()} (the whole command never makes more)",
            f"search: at most {self.search_budget} task-model calls (the seed on validation: "
            f"{self.sizes['val']}, the rest racing candidates)",
            f"test report: at most {self.report_reserve} task-model calls (seed and best on the "
            f"{self.sizes['test']} test examples; fewer when cached or when the best is the seed)",
            f"ablation of up to {self.components} components on the {held_out} split: "
            "only with what the search and the test report leave of the budget",
        ]
        if self.proposer is not None:
            out.append(f"proposer: at most {self.proposer_calls_max} calls to {self.proposer}")
        if self.budget < self.min_budget:
            out.append(f"warning: the run would be refused: {budget_problem(self)}")
        if self.price_per_call is None:
            cost = "unknown (no price listed)"
        elif self.price_per_call == 0:
            cost = "none (local or test model)"
        else:
            cost = f"about ${calls * self.price_per_call:.4f}"
        out.append(f"estimate: at most {calls} calls, about {fmt_seconds(seconds)}, cost {cost} "
                   "(cached calls cost nothing)")
        return out


@dataclass
class Setup:
    """A prepared optimization: loaded suite, seed, splits, task provider and plan."""

    suite: Suite
    entry: PromptEntry
    seed: SeedPrompt
    splits: Splits
    provider: Provider
    provider_config: dict[str, Any]
    concurrency: int
    plan: Plan

    def make_proposer(self) -> Provider:
        pid = self.plan.proposer or self.plan.task_model
        config = next((p.config for p in self.suite.providers if p.id == pid), {})
        return create_provider(pid, dict(config))


def pick_prompt(suite: Suite, prompt: str | None) -> PromptEntry:
    """The suite prompt named by path, label or 1-based position.

    Raises:
        ConfigError: No match, listing the suite's prompts.
    """
    entries = suite.prompts
    labels = ", ".join(f"{e.index + 1}: {e.label}" for e in entries)
    if prompt is None:
        if len(entries) == 1:
            return entries[0]
        raise ConfigError(f"the suite has {len(entries)} prompts; name the one to optimize "
                          f"(path, label or number): {labels}")
    for e in entries:
        if prompt == e.label or prompt == e.template.label:
            return e
    candidates = {Path(prompt).resolve(), (suite.base_dir / prompt).resolve()}
    for e in entries:
        if e.template.path and Path(e.template.path).resolve() in candidates:
            return e
    if prompt.isdigit() and 1 <= int(prompt) <= len(entries):
        return entries[int(prompt) - 1]
    raise ConfigError(f"prompt {prompt!r} is not a prompt of the suite; its prompts: {labels}")


def prepare(
    prompt: str | None, suite: str | Path | Suite, options: OptimizeOptions | None = None
) -> Setup:
    """Load and check everything; no model is called.

    Raises:
        ConfigError: Unknown prompt, missing variables, unsupported parameters, too few tests,
            a budget too small for the seed's validation score and the test report.
    """
    opts = options or OptimizeOptions()
    loaded = suite if isinstance(suite, Suite) else load_suite(suite)
    entry = pick_prompt(loaded, prompt)
    seed_prompt = SeedPrompt.of(entry.template)
    answer_var = opts.answer_var or loaded.optimize.answer_var  # --answer-var, else the suite's
    examples = load_examples(loaded.tests, seed_prompt.variables, answer_var, opts.max_tests)
    missing: dict[str, list[str]] = {}
    for e in examples:
        # Check files stay inside the suite folder, as in eval (before any model call).
        loaded.tests.confine_check_files(e.test, loaded.path)
        where = e.test.source or f"tests[{e.index}]"
        for name in entry.template.missing(e.vars):
            rows = missing.setdefault(name, [])
            if len(rows) < 5:
                rows.append(where)
        for spec in e.test.checks:  # assert values are templates over the same vars
            for name in sorted(value_variables(spec) - e.vars.keys()):
                rows = missing.setdefault(name, [])
                if len(rows) < 5:
                    rows.append(f"{where} {spec.name} value")
    if missing:
        raise MissingVariableError(sorted(missing), loaded.path, where=missing)
    splits = (splits_by_variable(examples, opts.split_var, opts.seed) if opts.split_var
              else make_splits(examples, opts.ratios, opts.seed))
    chosen_entry, model_reason = task_entry(loaded, entry, opts.model)
    pid = chosen_entry.id if chosen_entry else (opts.model or "local:gemma3-270m")
    # The provider's generation keys (suite config) become its config_params: the candidates'
    # calls use them under the prompt's own params.
    config = {**chosen_entry.config, **chosen_entry.params.given()} if chosen_entry else {}
    provider = opts.task_provider or create_provider(pid, config)
    # The calls' parameters, as in eval: the provider's config, the prompt file's front matter
    # (kept by every candidate), then the suite prompt entry's own config.
    provider.check_params(
        provider.config_params.merged(entry.template.params).merged(entry.params))
    is_local = provider.id.startswith("local:")
    concurrency = 1 if is_local or loaded.options.delay_ms else loaded.options.max_concurrency
    chosen = opts.proposer or (pid if opts.strategy in PROPOSING else None)
    candidate = Candidate.seed(seed_prompt)
    task, task_reason = task_kind([*splits.train, *splits.val])
    metric, metric_reason = _metric(opts.metric, task)
    plan = Plan(
        suite_path=str(loaded.path) if loaded.path else None, prompt_label=_label(entry, loaded),
        seed_hash=entry.template.content_hash, task_model=provider.id, proposer=chosen,
        strategy=opts.strategy, metric=metric, seed=opts.seed, budget=opts.budget,
        ratios=splits.ratios, sizes=splits.sizes(),
        reference_source=reference_summary([*splits.train]),
        components=len(ablation_candidates(candidate)) + 1,
        est_seconds_per_call=(LOCAL_SECONDS if is_local else REMOTE_SECONDS / concurrency),
        price_per_call=_price(provider.id, seed_prompt, splits, entry),
        task=task, task_reason=task_reason, model_reason=model_reason,
        metric_reason=metric_reason,
        strategy_reason=strategy_note(opts.strategy, chosen is not None, task),
    )
    return Setup(loaded, entry, seed_prompt, splits, provider, dict(config), concurrency, plan)


def task_entry(suite: Suite, entry: PromptEntry,
               model: str | None) -> tuple[ProviderEntry | None, str]:
    """The suite provider that runs ``entry`` (promptfoo's ``providers[].prompts`` filter), and
    why it was chosen; ``--model`` (an id or a provider label) wins.

    Raises:
        ConfigError: No provider of the suite runs this prompt and none is named.
    """
    entries = suite.providers
    runs = [p for p in entries if provider_allows(p, entry)]
    if model is not None:
        named = [p for p in entries if model in (p.id, p.label)]
        found = next((p for p in named if p in runs), named[0] if named else None)
        return found, "named by --model"
    if not entries:
        return None, "the suite names no provider: the embedded default model"
    if not runs:
        raise ConfigError(
            f"no provider of the suite runs prompt {entry.label!r} (each one's 'prompts' "
            "leaves it out); name the task model with --model")
    if len(runs) < len(entries):
        return runs[0], (f"the suite runs prompt {entry.label!r} on it (providers[].prompts "
                         f"leaves it out of {len(entries) - len(runs)} of its providers)")
    return runs[0], "the suite's first provider"


def strategy_note(name: str, proposing: bool, task: str) -> str:
    """Which strategies ``optimizer.api._strategies`` runs and why, in words (log and report)."""
    generation = task == GENERATION_TASK
    if name == "components" and generation:
        return ("components, as asked: instruction sentences made from the checks, no "
                "answer-form fragment or answer line")
    if name == "instructions" and generation:
        return ("instructions, as asked (it induces instructions from input/answer pairs: "
                "without reference answers it has nothing to propose)")
    if name != "auto":
        return f"{name}, as asked"
    if generation:
        return ("auto for free text: components with instruction sentences made from the "
                "checks (no 'Answer with one word.', no answer line, no label set), demos "
                "bootstrapped from passing answers"
                + (", reflect (rewrites after the checks' reasons)" if proposing else "")
                + "; no instruction induction (it needs reference answers), no "
                "log-probability ranking of reference answers")
    return ("auto: components, demos" + (", instructions, reflect" if proposing else "")
            + " (the tests have reference answers)")


def _metric(asked: str, task: str) -> tuple[str, str]:
    if asked != "auto":
        return asked, "as asked (--metric)"
    if task == GENERATION_TASK:
        return "score", ("free text judged by several checks: their weighted score moves with "
                         "every check an edit fixes, where the pass rate waits for all of them")
    return "pass", "answers with references: the pass rate"


def budget_problem(plan: Plan) -> str:
    """Why ``plan``'s budget is too small (call only when it is)."""
    return (f"--budget {plan.budget} is too small: the minimum is {plan.min_budget} "
            f"({plan.sizes['val']} to score the seed on the validation examples and "
            f"{plan.report_reserve} reserved for the test report: the seed and the best prompt "
            f"on the {plan.sizes['test']} test examples); raise --budget, or use fewer tests "
            "(--max-tests, --split)")


def check_budget(plan: Plan) -> None:
    """Refuse a budget that cannot score the seed on validation and pay the test report.

    Raises:
        ConfigError: The budget is below :attr:`Plan.min_budget`.
    """
    if plan.budget < plan.min_budget:
        raise ConfigError(budget_problem(plan))


def _label(entry: PromptEntry, suite: Suite) -> str:
    """The prompt's label, or its path relative to the suite folder when the label is a path."""
    path = entry.template.path
    if path is None or entry.label != path:
        return entry.label
    full = Path(path).resolve()
    base = suite.base_dir.resolve()
    return str(full.relative_to(base)) if full.is_relative_to(base) else path


def _price(model: str, seed: SeedPrompt, splits: Splits, entry: PromptEntry) -> float | None:
    if model.startswith(("local:", "scripted", "echo")):
        return 0.0
    price = price_of(model.rsplit(":", 1)[-1])
    if price is None:
        return None
    sample = next(iter(itertools.chain(splits.val, splits.train)), None)
    chars = len(entry.template.render(sample.vars).as_text()) if sample else len(seed.body)
    out_tokens = entry.template.params.merged(entry.params).max_tokens or 50
    return price.cost(chars // 4 * 2, out_tokens) or 0.0  # demos roughly double the prompt


def plan_optimization(
    prompt: str | None = None,
    suite: str | Path | Suite = "promptwork.yaml",
    options: OptimizeOptions | None = None,
    **changes: Any,
) -> Plan:
    """The plan of an optimization (``--dry-run``): makes no model call.

    Takes the options of :func:`promptwork.optimizer.optimize`, as an :class:`OptimizeOptions`
    and/or keyword arguments (an unknown name raises ``TypeError``).
    """
    return prepare(prompt, suite, OptimizeOptions.of(options, **changes)).plan


def fmt_seconds(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    return f"{seconds / 60:.1f} min"

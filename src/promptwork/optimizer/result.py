"""What an optimization returns: :class:`OptimizeResult` and the scores it holds.

The terminal report (:mod:`promptwork.optimizer.report`) and the HTML page
(:mod:`promptwork.optimizer.html`) read these types; neither is imported here.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from promptwork.optimizer.ablation import AblationRow
from promptwork.optimizer.budget import ExampleScore
from promptwork.optimizer.candidate import Candidate
from promptwork.optimizer.plan import Plan
from promptwork.optimizer.state import Scored, mean_of
from promptwork.stats import PassFailComparison, compare_pass_fail, wilson_interval


@dataclass(frozen=True)
class SplitScore:
    """A prompt's result on a split: passes, mean metric, 95% Wilson interval of the pass rate."""

    passed: int
    n: int
    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, scores: Sequence[ExampleScore], metric: str) -> SplitScore:
        passed = sum(1 for s in scores if s.passed)
        low, high = wilson_interval(passed, len(scores))
        return cls(passed, len(scores), mean_of(scores, metric), low, high)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "n": self.n, "mean": round(self.mean, 4),
                "ci95": [round(self.low, 4), round(self.high, 4)]}


def paired(seed: Sequence[ExampleScore], best: Sequence[ExampleScore],
           ) -> tuple[list[ExampleScore], list[ExampleScore], int]:
    """The examples both prompts have a verdict on, in pairs, and how many were left out.

    An error (a failed task-model or grader call) is no verdict: its example leaves both
    sides, so that seed and best are compared on the same examples and an error never counts
    as a failure of either.

    Raises:
        ValueError: ``seed`` and ``best`` are not scores of the same examples in one order.
    """
    if [s.index for s in seed] != [b.index for b in best]:
        raise ValueError("seed and best must be scored on the same examples, in one order")
    kept = [(s, b) for s, b in zip(seed, best, strict=True) if s.graded and b.graded]
    return [s for s, _ in kept], [b for _, b in kept], len(seed) - len(kept)


def paired_test(seed: Sequence[ExampleScore], best: Sequence[ExampleScore]) -> PassFailComparison:
    """Exact McNemar test of best (B) against seed (A) on the examples both have a verdict on
    (see :func:`paired`)."""
    kept_seed, kept_best, _ = paired(seed, best)
    return compare_pass_fail([s.passed for s in kept_seed], [s.passed for s in kept_best])


def left_out_text(n: int) -> str:
    """What the reports say of test examples left out for errors (see :func:`paired`)."""
    return (f"{n} test example(s) left out of seed vs best (both sides, paired): an answer of "
            "either prompt was an error (failed model or grader call), not a verdict")


def text_diff(seed: str, best: str) -> str:
    """Unified diff from the seed's body to the best body."""
    return "".join(difflib.unified_diff(
        seed.splitlines(keepends=True), best.splitlines(keepends=True), "seed", "best"))


@dataclass
class OptimizeResult:
    """The outcome of an optimization.

    Attributes:
        plan: What was planned (splits, models, budget).
        seed, best: The seed and the best candidate (the seed when nothing beat it).
        seed_val, best_val: Their mean metric on the whole validation split.
        test_seed, test_best: Their results on the test split (``None`` without a test split).
        comparison: Exact McNemar test of best vs seed on the test split.
        test_left_out: Test examples left out of that comparison (and of ``test_seed`` and
            ``test_best``) because either prompt's answer was an error, not a verdict.
        history: Every raced candidate with the validation examples it was scored on.
        curve: (task-model calls used, best validation score) after each round.
        ablation: Each component of the best prompt and its contribution.
        ablation_split: The split the ablation was measured on.
        ablation_skipped: Components left out of the ablation for want of budget.
        budget: Search budget accounting (limit, used, model requests, proposer calls).
        report_calls: Task-model evaluations for the test split and the ablation (within the
            command's budget: ``budget["used"] + report_calls <= plan.budget``).
        prompt_text: The best prompt as a ``.prompt`` file, provenance in its front matter.
        prompt_hash: Its version in the store.
        output: Where it was written (``-o``), if anywhere.
        run_id: The store run holding the history (every candidate x example scored).
        stop_reason: Why the search stopped.
        stored_settings: The settings its stored run holds (the candidates as numbered in the
            store, the provenance and :meth:`report_record`): what the HTML report and the
            workbench page are both built from.
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
    ablation_skipped: int = 0
    test_left_out: int = 0
    #: Why the search stopped (budget spent, no candidates left, round limit).
    stop_reason: str = ""
    stored_settings: dict[str, Any] = field(default_factory=dict)

    @property
    def improved(self) -> bool:
        return self.best.hash != self.seed.hash

    @property
    def calls_used(self) -> int:
        """Task-model evaluations of the whole command: the search and the report."""
        return self.budget["used"] + self.report_calls

    def diff(self) -> str:
        """Unified diff of the prompt body, seed to best."""
        return text_diff(self.seed.body, self.best.body)

    def html(self) -> str:
        """The report as one self-contained HTML page (offline charts, no scripts)."""
        from promptwork.optimizer.html import render_html  # the page reads this module

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
        if self.test_left_out:
            scores["test_left_out"] = self.test_left_out
        return {
            "suite": plan.suite_path, "prompt": plan.prompt_label,
            "seed_sha256": plan.seed_hash, "metric": self.metric,
            "task_model": plan.task_model, "proposer": plan.proposer,
            "strategy": plan.strategy, "seed": plan.seed,
            "budget": dict(self.budget), "split": plan.split_dict(),
            "references": plan.reference_source, "scores": scores,
            "change": self.best.note, "stop_reason": self.stop_reason,
            "task": plan.task,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def report_record(self, prompt_hash: Callable[[Candidate], str] | None = None
                      ) -> dict[str, Any]:
        """The report besides the provenance, as plain data: what a stored optimization's
        settings keep (:class:`~promptwork.optimizer.history.Recorder`) and what both its
        workbench page and the HTML report are built from (:mod:`promptwork.views.
        optimizations`): the best candidate's hash, the score-vs-calls curve, every raced
        candidate, seed and best on the test split with their intervals and paired test, the
        ablation, and why the plan chose what it chose.

        Args:
            prompt_hash: A candidate's hash (default: the hash of its body; the store uses its
                stored prompt file's).
        """
        key = prompt_hash or (lambda c: c.hash)
        plan, comparison = self.plan, self.comparison
        return {
            "best_prompt_hash": key(self.best),
            "val_size": plan.sizes["val"],
            "report_calls": self.report_calls,
            "curve": [[int(calls), round(score, 4)] for calls, score in self.curve],
            "candidates": [
                {"hash": key(s.candidate), "note": s.candidate.note,
                 "origin": s.candidate.origin, "n": s.n, "mean": round(s.mean, 4),
                 "calls": s.calls}
                for s in self.history],
            "test": None if self.test_seed is None or self.test_best is None else {
                "seed": self.test_seed.to_dict(), "best": self.test_best.to_dict(),
                "left_out": self.test_left_out,
                "paired": None if comparison is None else {
                    "n": comparison.n, "fixes": comparison.fixes,
                    "regressions": comparison.regressions,
                    "p_value": comparison.p_value,
                    "significant": comparison.significant}},
            "ablation": [{"component": r.component, "kind": r.kind,
                          "without": round(r.without, 4),
                          "contribution": round(r.contribution, 4)} for r in self.ablation],
            "ablation_split": self.ablation_split,
            "ablation_skipped": self.ablation_skipped,
            "reasons": {name: reason for name, reason in (
                ("task model", plan.model_reason),
                ("task kind", f"{plan.task}: {plan.task_reason}" if plan.task_reason else ""),
                ("metric", plan.metric_reason), ("strategies", plan.strategy_reason)) if reason},
        }

"""View models of stored optimizations: the list, and one optimization's page.

Everything is read from the optimization's run (:mod:`promptwork.optimizer.history`): its
settings hold the provenance (suite, prompt, models, strategy, seed, budget, splits, stop
reason, seed and best scores) and the report (the score-against-calls curve, every raced
candidate, seed and best on the test split with 95% intervals, the ablation); its cells give
each candidate's evaluations. A run stored before the report was recorded shows what its cells
and provenance hold, and says the rest was not recorded.

The static HTML report of an optimization (``promptwork optimize --html``,
:mod:`promptwork.optimizer.html`) is built by :func:`optimization_view` from the very settings
the run stores (:meth:`~promptwork.optimizer.result.OptimizeResult.report_record`), and drawn by
the same partial (``partials/optimization.html``): both show the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from promptwork.errors import ConfigError
from promptwork.stats import SIGNIFICANCE
from promptwork.store import RunRecord, Store
from promptwork.store.optimizations import CandidateCells, candidate_cells, optimize_runs
from promptwork.views.charts import (
    BEST,
    DROPPED,
    FINALIST,
    Chart,
    contribution_bar,
    interval_chart,
    xy_chart,
)
from promptwork.views.prompts import VersionDiff, diff_versions

__all__ = ["AblationItem", "CandidateItem", "OptimizationItem", "OptimizationView",
           "SplitItem", "build_optimization", "optimization_view", "optimizations_page"]


@dataclass(frozen=True, slots=True)
class OptimizationItem:
    """One line of the optimization list."""

    run_id: str
    created_at: datetime
    status: str
    prompt: str
    task_model: str
    strategy: str
    budget: int | None
    calls_used: int | None
    seed_val: float | None
    best_val: float | None
    seed_test: float | None
    best_test: float | None
    p_value: float | None
    change: str
    candidates: int

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < SIGNIFICANCE


@dataclass(frozen=True, slots=True)
class CandidateItem:
    """A raced candidate."""

    number: int
    hash: str
    label: str
    origin: str
    val_n: int | None
    val_mean: float | None
    calls: int | None
    search_cells: int
    test_cells: int
    finalist: bool
    best: bool


@dataclass(frozen=True, slots=True)
class SplitItem:
    """Seed or best on the test split: passes, mean, 95% Wilson interval."""

    name: str
    passed: int
    n: int
    mean: float
    low: float
    high: float

    @property
    def rate(self) -> float:
        return self.passed / self.n if self.n else 0.0


@dataclass(frozen=True, slots=True)
class AblationItem:
    """A component of the best prompt and what it is worth."""

    component: str
    kind: str
    without: float
    contribution: float


@dataclass(frozen=True, slots=True)
class OptimizationView:
    """One optimization.

    Attributes:
        item: Its line of the list.
        facts: (name, value) rows: suite, models, strategy, metric, seed, splits, budget...
        curve: Best validation score against task-model calls, with each candidate as a
            point (None when not recorded).
        candidates: The raced candidates, in the order they were raced.
        test: Seed and best on the test split (empty without one or when not recorded).
        test_verdict: The paired test's verdict in plain words.
        ablation: The ablation of the best prompt.
        ablation_note: Its split and how many components were left out.
        recorded: Whether the run holds the report (runs stored before it do not).
        test_chart: Seed and best pass rates on the test split with their intervals.
        ablation_bars: Each ablation item's contribution as a small bar, in order.
        diff: The line diff of the seed prompt to the best one (None when either is not
            stored).
        test_detail: The paired test's numbers (examples, fixes, regressions), when recorded.
        test_note: Test examples left out of seed vs best for errors, when any.
        cells_known: Whether the candidates' cell counts were read from the store.
    """

    item: OptimizationItem
    facts: tuple[tuple[str, str], ...]
    curve: Chart | None
    candidates: tuple[CandidateItem, ...]
    test: tuple[SplitItem, ...]
    test_verdict: str
    ablation: tuple[AblationItem, ...]
    ablation_note: str
    recorded: bool
    test_chart: Chart | None = None
    ablation_bars: tuple[Chart, ...] = ()
    diff: VersionDiff | None = None
    test_detail: str = ""
    test_note: str = ""
    cells_known: bool = True


def _opt(record: RunRecord) -> Mapping[str, Any]:
    return record.settings.get("optimize") or {}


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _item(record: RunRecord) -> OptimizationItem:
    opt = _opt(record)
    scores = opt.get("scores") or {}
    seed, best = scores.get("seed") or {}, scores.get("best") or {}
    budget = opt.get("budget") or {}
    used = budget.get("used")
    calls = (int(used) + int(opt.get("report_calls") or 0)) if isinstance(used, int) else None
    return OptimizationItem(
        run_id=record.id, created_at=record.created_at, status=record.shown_status,
        prompt=str(opt.get("prompt") or ""), task_model=str(opt.get("task_model") or ""),
        strategy=str(opt.get("strategy") or ""),
        budget=budget.get("limit") if isinstance(budget.get("limit"), int) else None,
        calls_used=calls, seed_val=_num(seed.get("val")), best_val=_num(best.get("val")),
        seed_test=_num(seed.get("test")), best_test=_num(best.get("test")),
        p_value=_num(((opt.get("test") or {}).get("paired") or {}).get("p_value",
                                                                     scores.get("test_p_value"))),
        change=str(opt.get("change") or ""),
        candidates=len(record.settings.get("prompts", [])))


def optimizations_page(store: Store, limit: int = 50, offset: int = 0
                       ) -> tuple[OptimizationItem, ...]:
    """The stored optimizations, newest first."""
    return tuple(_item(r) for r in optimize_runs(store, limit, offset))


def build_optimization(store: Store, run_id: str) -> OptimizationView:
    """One optimization's page.

    Raises:
        ConfigError: An unknown run, or a run that is not an optimization.
    """
    record = store.get_run(run_id)
    if record.settings.get("kind") != "optimize":
        raise ConfigError(f"run {record.id} is not an optimization (promptwork optimize)")
    return optimization_view(record, candidate_cells(store, record.id),
                             _seed_to_best(store, record, _opt(record)))


def optimization_view(record: RunRecord, cells: Sequence[CandidateCells] | None,
                      diff: VersionDiff | None) -> OptimizationView:
    """One optimization from its run's record: the settings an optimization stores, its
    candidates' cell counts (None when not known: the report of an optimization in memory) and
    the seed-to-best diff."""
    opt = _opt(record)
    item = _item(record)
    recorded = "candidates" in opt
    candidates = _candidates(record, opt, cells or [])
    test = _test(opt)
    ablation = tuple(AblationItem(str(a.get("component")), str(a.get("kind")),
                                  float(a.get("without") or 0.0),
                                  float(a.get("contribution") or 0.0))
                     for a in opt.get("ablation") or [])
    scale = max((abs(a.contribution) for a in ablation), default=0.0)
    tested = opt.get("test") or {}
    paired = tested.get("paired") or {}
    return OptimizationView(
        item=item, facts=_facts(record, opt), curve=_curve(opt, candidates) if recorded else None,
        candidates=candidates, test=test, test_verdict=_verdict(item), ablation=ablation,
        ablation_note=_ablation_note(opt), recorded=recorded,
        test_chart=interval_chart(
            "Pass rate on the test split (95% Wilson interval)",
            [(s.name, s.passed, s.n, s.low, s.high, s.name == "best") for s in test])
        if test else None,
        ablation_bars=tuple(contribution_bar(a.contribution, scale) for a in ablation),
        diff=diff,
        test_detail=(f"Exact McNemar test, best vs seed on the same {paired.get('n')} test "
                     f"examples: {paired.get('fixes')} fixed, {paired.get('regressions')} "
                     "broken." if paired else ""),
        test_note=_left_out(int(tested.get("left_out") or 0)),
        cells_known=cells is not None)


def _left_out(n: int) -> str:
    """What the pages say of test examples left out for errors (none: empty); the optimizer's
    terminal report says the same (:func:`promptwork.optimizer.result.left_out_text`)."""
    if not n:
        return ""
    return (f"{n} test example(s) left out of seed vs best (both sides, paired): an answer of "
            "either prompt was an error (failed model or grader call), not a verdict")


def _seed_to_best(store: Store, record: RunRecord, opt: Mapping[str, Any]) -> VersionDiff | None:
    prompts = record.settings.get("prompts", [])
    seed = str(prompts[0].get("hash") or "") if prompts else ""
    best = str(opt.get("best_prompt_hash") or "")
    if not seed or not best:
        return None
    try:
        return diff_versions(store, seed, best, "line")
    except ConfigError:  # a version that is not stored
        return None


def _facts(record: RunRecord, opt: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    budget = opt.get("budget") or {}
    split = opt.get("split") or {}
    sizes = [f"{v} {k}" for k, v in split.items() if k != "ratios"]
    used, sent = budget.get("used"), budget.get("model_requests")
    report = opt.get("report_calls")
    total = used + report if isinstance(used, int) and isinstance(report, int) else None
    cached = max(0, used - sent) if isinstance(used, int) and isinstance(sent, int) else "?"
    reasons = opt.get("reasons") or {}
    rows = [
        ("Prompt", f"{opt.get('prompt', '')} (seed sha256 {str(opt.get('seed_sha256', ''))[:12]})"),
        ("Suite", str(opt.get("suite") or record.suite_path or "(in memory)")),
        ("Task model", str(opt.get("task_model", ""))),
        ("Proposer", str(opt.get("proposer") or "none")),
        ("Strategy", str(opt.get("strategy", ""))),
        ("Metric", "pass rate" if opt.get("metric") == "pass" else "weighted check score"),
        ("Random seed", str(opt.get("seed", ""))),
        ("Splits", " / ".join(sizes) + " examples" + (f" (ratios {split['ratios']})"
                                                      if split.get("ratios") else "")
         if sizes else ""),
        ("Reference answers", str(opt.get("references") or "")),
        *((f"Why {k}", str(v)) for k, v in reasons.items()),
        ("Search stopped", str(opt.get("stop_reason") or "(not recorded)")),
        ("Budget", f"{total if total is not None else '?'} of {budget.get('limit', '?')} "
                   "task-model calls used"),
        ("Search", f"{used if used is not None else '?'} task-model calls "
                   f"({sent if sent is not None else '?'} sent to the model, {cached} answered "
                   "from the cache)"),
        ("After the search", "" if report is None else
         f"{report} task-model calls (test split: {budget.get('report_reserved', 0)} reserved; "
         "ablation: what was left)"),
        ("Proposer calls", str(budget.get("proposer_calls", "?"))),
        ("Best change", str(opt.get("change") or "")),
        ("Stored run", f"{record.id} (promptwork runs show {record.id})" if record.id else ""),
    ]
    return tuple((k, v) for k, v in rows if v)


def _candidates(record: RunRecord, opt: Mapping[str, Any],
                cells: Sequence[CandidateCells]) -> tuple[CandidateItem, ...]:
    prompts = record.settings.get("prompts", [])
    number = {str(p.get("hash")): i for i, p in enumerate(prompts)}
    by = {(c.candidate, c.phase): c.cells for c in cells}
    best_hash = str(opt.get("best_prompt_hash") or "")
    val_size = int(opt.get("val_size") or 0)
    raced = opt.get("candidates")
    out = []
    if raced:
        for c in raced:
            h = str(c.get("hash"))
            i = number.get(h, -1)
            n = int(c.get("n") or 0)
            out.append(CandidateItem(
                i, h, str(prompts[i].get("label")) if i >= 0 else str(c.get("note")),
                str(c.get("origin") or ""), n, _num(c.get("mean")), int(c.get("calls") or 0),
                by.get((i, 0), 0), by.get((i, 1), 0), bool(val_size) and n >= val_size,
                h == best_hash))
        return tuple(out)
    for i, p in enumerate(prompts):  # not recorded: what the cells say
        h = str(p.get("hash"))
        out.append(CandidateItem(i, h, str(p.get("label")), "", None, None, None,
                                 by.get((i, 0), 0), by.get((i, 1), 0), False, h == best_hash))
    return tuple(out)


def _curve(opt: Mapping[str, Any], candidates: tuple[CandidateItem, ...]) -> Chart:
    curve = [(float(c), float(s)) for c, s in opt.get("curve") or []]
    budget = opt.get("budget") or {}
    used = float(budget.get("used") or 0)
    x_max = max([float(budget.get("limit") or 0), used, *(c for c, _ in curve),
                 *(float(c.calls or 0) for c in candidates)])
    steps: list[tuple[float, float, str]] = []
    for i, (calls, score) in enumerate(curve):
        if i:
            steps.append((calls, curve[i - 1][1], f"{curve[i - 1][1]:.3f} until {calls:.0f}"))
        steps.append((calls, score, f"best {score:.3f} after {calls:.0f} calls"))
    if curve:
        steps.append((used, curve[-1][1], f"best {curve[-1][1]:.3f} at the end"))
    dots = [(float(c.calls or 0), c.val_mean,
             f"{c.label} ({c.origin or 'candidate'}): {c.val_mean:.3f} on "
             f"{c.val_n} validation examples after {c.calls} calls"
             + (" (finalist)" if c.finalist else " (dropped in the race)")
             + (" \u2605 best" if c.best else ""),
             c.finalist or c.best, BEST if c.best else FINALIST if c.finalist else DROPPED)
            for c in candidates if c.val_mean is not None]
    return xy_chart("Best validation score against task-model calls used", x_max,
                    [("best so far", steps)], x_title="task-model calls used (search)",
                    dots=dots)


def _test(opt: Mapping[str, Any]) -> tuple[SplitItem, ...]:
    test = opt.get("test") or {}
    out = []
    for name in ("seed", "best"):
        s = test.get(name)
        if isinstance(s, Mapping):
            low, high = (s.get("ci95") or [0.0, 0.0])[:2]
            out.append(SplitItem(name, int(s.get("passed") or 0), int(s.get("n") or 0),
                                 float(s.get("mean") or 0.0), float(low), float(high)))
    return tuple(out)


def _verdict(item: OptimizationItem) -> str:
    """The paired test in plain words (significance as :data:`SIGNIFICANCE` defines it)."""
    if item.p_value is None:
        return "no test split: seed and best were not compared on held-out examples"
    if item.significant:
        better = "best" if (item.best_test or 0) >= (item.seed_test or 0) else "seed"
        return f"{better} is significantly better on the test split (McNemar p={item.p_value:.4g})"
    return f"no significant difference on the test split (McNemar p={item.p_value:.4g})"


def _ablation_note(opt: Mapping[str, Any]) -> str:
    if not opt.get("ablation"):
        return ""
    skipped = int(opt.get("ablation_skipped") or 0)
    note = f"measured on the {opt.get('ablation_split', '?')} split"
    return note + (f"; {skipped} component(s) left out for want of budget" if skipped else "")

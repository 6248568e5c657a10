"""``promptwork eval``: run a suite, show the matrix and summary, export, and set the exit code.

Exit codes: 0 every check passed, 100 some failed (promptfoo's convention), 101 none failed but
some cells are errors (failed model or grader calls: no verdict), 2 bad input, 1 internal error.
``--fail-under RATE`` turns the pass rate (passed / graded) into the gate instead of "no failure".
A run stopped by ``--max-calls`` or ``--max-cost`` exits 100 (it is not complete; ``--resume``
finishes it). ``--dry-run`` prints the cells, the calls after the cache and a cost and time
forecast per provider, and calls no model.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from promptwork.cli.output import console, safe_text
from promptwork.cli.progress import ProgressBar
from promptwork.cli.run import parse_assignments
from promptwork.evaluation import EvalRun, aevaluate
from promptwork.forecast import forecast, forecast_lines
from promptwork.genkeys import prompt_config_params
from promptwork.library.sync import record_suite
from promptwork.limits import Limits
from promptwork.report.export import export
from promptwork.report.notes import run_notes
from promptwork.report.summary import RATE_MEANING, pass_rate
from promptwork.report.terminal import matrix_table, metrics_table, summary_table
from promptwork.report.winner import winner_line
from promptwork.runner import RunConfig, Runner
from promptwork.store import Store
from promptwork.suite import Suite, load_suite

EXIT_FAILURES = 100
#: No check failed, but some cells are errors (failed model or grader calls): the verdict is
#: incomplete. promptfoo has no such code (it counts errors as failures); ``--resume`` redoes them.
EXIT_ERRORS = 101


@click.command("eval")
@click.option("-c", "--config", "suite_path", metavar="SUITE",
              help="Suite file or folder (default: promptwork.yaml or promptfooconfig.yaml here).")
@click.option("-o", "--output", "outputs", multiple=True, metavar="FILE",
              help="Export results: .json .jsonl .csv .md .xml (JUnit) .html (repeatable).")
@click.option("--no-cache", is_flag=True, help="Call the models even for cached requests.")
@click.option("--resume", is_flag=False, flag_value="", default=None, metavar="[RUN]",
              help="Complete an interrupted run (the latest, or RUN).")
@click.option("--db", metavar="URL", help="Store URL (default: SQLite in .promptwork/).")
@click.option("--fail-under", type=click.FloatRange(0, 1), metavar="RATE",
              help="Exit 0 if the overall pass rate is at least RATE (0-1), else 100.")
@click.option("-j", "--max-concurrency", type=click.IntRange(1),
              help="Calls in flight per provider.")
@click.option("--repeat", type=click.IntRange(1), help="Run each test N times.")
@click.option("--max-tests", type=click.IntRange(1), help="Only the first N tests.")
@click.option("--sequential", is_flag=True,
              help="Embedded models decode one call at a time (no batching).")
@click.option("--fast-decoding", is_flag=True,
              help="Embedded models decode with llama.cpp's fastest kernels and shared batches: "
                   "faster, but an answer may depend on which cells share its batch (the "
                   "default is batch invariant). Cached separately.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--no-table", is_flag=True, help="Do not print the result matrix.")
@click.option("-p", "--param", "param_items", multiple=True, metavar="NAME=VALUE",
              help="Generation parameter for every cell, over the suite's (temperature=0, ...).")
@click.option("--dry-run", is_flag=True,
              help="Print cells, model calls after the cache, and a cost and time forecast per "
                   "provider; call no model.")
@click.option("--max-calls", type=click.IntRange(1), metavar="N",
              help="Stop cleanly before the model call that would exceed N (cache hits are "
                   "free, retries count); finish later with --resume.")
@click.option("--max-cost", type=click.FloatRange(0, min_open=True), metavar="USD",
              help="Stop cleanly once the calls have cost USD dollars (a call's cost is known "
                   "after it answers: calls in flight may pass it slightly); --resume finishes.")
def eval_command(
    suite_path: str | None,
    outputs: tuple[str, ...],
    no_cache: bool,
    resume: str | None,
    db: str | None,
    fail_under: float | None,
    max_concurrency: int | None,
    repeat: int | None,
    max_tests: int | None,
    sequential: bool,
    no_progress: bool,
    no_table: bool,
    param_items: tuple[str, ...] = (),
    dry_run: bool = False,
    max_calls: int | None = None,
    max_cost: float | None = None,
    fast_decoding: bool = False,
) -> None:
    """Run an evaluation suite: prompts x models x tests, checked and stored."""
    if fast_decoding and sequential:
        raise click.UsageError("--fast-decoding and --sequential exclude each other")
    params = prompt_config_params(parse_assignments(param_items, "parameter", typed=True), "-p")
    suite = load_suite(suite_path)
    out, err = console(), console(stderr=True)
    config = RunConfig(max_concurrency=max_concurrency, repeat=repeat, use_cache=not no_cache,
                       max_tests=max_tests, sequential=sequential, params=params,
                       fast_decoding=fast_decoding,
                       limits=Limits(max_calls=max_calls, max_cost=max_cost))
    if dry_run:
        _dry_run(suite, db, config)
        return
    progress = ProgressBar(err, enabled=not no_progress and err.is_terminal)
    run = asyncio.run(aevaluate(suite, db=db, config=config, resume=resume,
                                subscribers=[progress]))
    record_suite(suite, db, "eval")  # the prompt library keeps the files' versions
    columns, winner = run.columns_and_winner()
    if not no_table:
        out.print(matrix_table(run.iter_rows(), run.prompt_labels, run.provider_labels))
    out.print(summary_table(columns))
    if winner is not None:
        out.print(winner_line(winner))
    reports = run.dataset_metrics()
    if reports:
        out.print(metrics_table(reports, run.prompt_labels, run.provider_labels))
    for note in run_notes(run.record.settings):  # the default grader, similar's method
        err.print(note, style="dim", markup=False)
    for target in (*suite.output_paths, *outputs):
        path = Path(target)
        if not path.is_absolute() and target in suite.output_paths:
            path = suite.base_dir / path
        export(path, run.record, run.iter_rows(), run.prompt_labels, run.provider_labels,
               columns, dataset=reports)
        err.print(f"wrote {path}", style="dim", markup=False)
    _exit(run, fail_under)


def _dry_run(suite: Suite, db: str | None, config: RunConfig) -> None:
    """Print the forecast; no model is called."""
    store = Store.for_folder(suite.base_dir, db)
    try:
        lines = asyncio.run(forecast(Runner(suite, store, config)))
    finally:
        store.close()
    out = console()
    out.print("dry run: no model was called", style="bold", markup=False)
    for line in forecast_lines(lines):
        out.print(safe_text(line), markup=False)


def _decoding_note(run: EvalRun) -> str | None:
    """How embedded models decoded (these settings change numerics, so we say them)."""
    notes = []
    for p in run.record.settings.get("providers", []):
        s = p.get("settings") or {}
        if s.get("provider") == "local":
            how = s.get("decoding", "sequential")
            if how in ("batched", "fast"):
                how += f" (width {s.get('batch_width')})"
            if s.get("layout"):  # what was used and why (calibrated, rule or option)
                notes.append(f"{p['label']}: {how}, {s['layout']} ({s.get('layout_why')})")
                continue
            workers = s.get("workers") or 1
            procs = f"{workers} worker processes x " if workers > 1 else ""
            notes.append(f"{p['label']}: {how}, {procs}{s.get('n_threads')} thread(s)")
    return "decoding: " + "; ".join(notes) if notes else None


def _exit(run: EvalRun, fail_under: float | None) -> None:
    note = _decoding_note(run)
    if note:
        console(stderr=True).print(note, style="dim", markup=False)
    stats = run.stats()
    rate = pass_rate(stats["successes"], stats["failures"])
    shown = "n/a" if rate is None else f"{rate:.1%}"
    console(stderr=True).print(
        f"run {run.id}: {stats['successes']} passed, {stats['failures']} failed, "
        f"{stats['errors']} errors (pass rate {shown}; {RATE_MEANING})", markup=False)
    stopped = (run.record.summary or {}).get("stopped")
    if stopped:
        done = sum(stats.values())
        console(stderr=True).print(
            f"stopped: {stopped}; {done} of {run.record.total_cells} cells done. Finish it with: "
            f"promptwork eval --resume {run.id}", markup=False)
        raise click.exceptions.Exit(EXIT_FAILURES)
    if fail_under is not None:
        failing = rate is not None and rate < fail_under
    else:
        failing = stats["failures"] > 0
    code = EXIT_FAILURES if failing else EXIT_ERRORS if stats["errors"] else 0
    if code == EXIT_ERRORS:
        console(stderr=True).print(
            f"{stats['errors']} cell(s) are errors, not verdicts: "
            "'promptwork eval --resume' redoes them", markup=False)
    if code:
        raise click.exceptions.Exit(code)

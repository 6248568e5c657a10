"""``promptwork eval``: run a suite, show the matrix and summary, export, and set the exit code.

Exit codes (promptfoo's convention): 0 every check passed, 100 some failed, 2 bad input,
1 internal error. ``--fail-under RATE`` turns the pass rate into the gate instead.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from promptwork.cli.output import console
from promptwork.cli.progress import ProgressBar
from promptwork.evaluation import EvalRun, aevaluate
from promptwork.report.export import export
from promptwork.report.terminal import matrix_table, metrics_table, summary_table
from promptwork.runner import RunConfig
from promptwork.suite import load_suite

EXIT_FAILURES = 100


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
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--no-table", is_flag=True, help="Do not print the result matrix.")
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
) -> None:
    """Run an evaluation suite: prompts x models x tests, checked and stored."""
    suite = load_suite(suite_path)
    out, err = console(), console(stderr=True)
    config = RunConfig(max_concurrency=max_concurrency, repeat=repeat, use_cache=not no_cache,
                       max_tests=max_tests, sequential=sequential)
    progress = ProgressBar(err, enabled=not no_progress and err.is_terminal)
    run = asyncio.run(aevaluate(suite, db=db, config=config, resume=resume,
                                subscribers=[progress]))
    columns = run.columns()
    if not no_table:
        out.print(matrix_table(run.rows(), run.prompt_labels, run.provider_labels))
    out.print(summary_table(columns))
    reports = run.dataset_metrics()
    if reports:
        out.print(metrics_table(reports, run.prompt_labels, run.provider_labels))
    for target in (*suite.output_paths, *outputs):
        path = Path(target)
        if not path.is_absolute() and target in suite.output_paths:
            path = suite.base_dir / path
        export(path, run.record, run.rows(), run.prompt_labels, run.provider_labels, columns)
        err.print(f"wrote {path}", style="dim", markup=False)
    _exit(run, fail_under)


def _decoding_note(run: EvalRun) -> str | None:
    """How embedded models decoded (these settings change numerics, so we say them)."""
    notes = []
    for p in run.record.settings.get("providers", []):
        s = p.get("settings") or {}
        if s.get("provider") == "local":
            how = s.get("decoding", "sequential")
            if how == "batched":
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
    graded = stats["successes"] + stats["failures"] + stats["errors"]
    rate = stats["successes"] / graded if graded else 0.0
    console(stderr=True).print(
        f"run {run.id}: {stats['successes']} passed, {stats['failures']} failed, "
        f"{stats['errors']} errors (pass rate {rate:.1%})", markup=False)
    if fail_under is not None:
        code = 0 if rate >= fail_under else EXIT_FAILURES
    else:
        code = 0 if stats["failures"] == 0 and stats["errors"] == 0 else EXIT_FAILURES
    if code:
        raise click.exceptions.Exit(code)

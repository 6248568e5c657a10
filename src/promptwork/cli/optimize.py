"""``promptwork optimize``: search for a better version of a suite's prompt and report on it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import click
from rich.markup import escape

from promptwork.cli.output import console, safe_text
from promptwork.library.sync import record_suite
from promptwork.optimizer.api import aoptimize
from promptwork.optimizer.options import METRIC_CHOICES, STRATEGIES, OptimizeOptions
from promptwork.optimizer.plan import prepare
from promptwork.optimizer.report import render
from promptwork.suite import load_suite

#: A run id or a prefix of one (``20261123-223145-ab12cd``): 4+ digits of its date first.
_RUN_ID = re.compile(r"\d{4,8}(-\d{0,6}(-[0-9a-f]{0,6})?)?")


def _prompt_after_resume(prompt: str | None, resume: str | None) -> tuple[str | None, str | None]:
    """``--resume PROMPT`` (the option before the argument) means PROMPT, not a run id: the
    option's value is optional, so Click hands it the argument."""
    if prompt is None and resume and not _RUN_ID.fullmatch(resume):
        return resume, ""
    return prompt, resume


@click.command("optimize")
@click.argument("prompt", required=False)
@click.option("-c", "--config", "suite_path", metavar="SUITE",
              help="Suite file or folder (default: promptwork.yaml or promptfooconfig.yaml here).")
@click.option("-m", "--model", metavar="MODEL",
              help="Task model (default: the suite's first provider).")
@click.option("--proposer", metavar="MODEL",
              help="Model that writes instructions (default: none for auto, the task model "
                   "for --strategy instructions and reflect).")
@click.option("--budget", type=click.IntRange(1), default=200, show_default=True,
              help="Most task-model calls of the whole command, never exceeded: the search, "
                   "and the test report reserved from it (seed and best on the test split); "
                   "the ablation uses what is left. --dry-run shows the shares.")
@click.option("--strategy", type=click.Choice(STRATEGIES), default="auto", show_default=True,
              help="demos, components (no proposer), instructions (APE/OPRO), reflect (GEPA-style "
                   "rewrites from failures), or auto (all; the proposer ones need --proposer).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the splits and the search.")
@click.option("--split", metavar="TRAIN/VAL/TEST", default="0.4/0.3/0.3", show_default=True,
              help="Shares of the tests for training, validation and test.")
@click.option("--split-var", metavar="NAME",
              help="Test variable giving each test's split (train, val, test); overrides --split.")
@click.option("--answer-var", metavar="NAME",
              help="Variable holding each test's reference answer (default: read from checks).")
@click.option("--metric", type=click.Choice(METRIC_CHOICES), default="auto", show_default=True,
              help="pass: pass rate; score: the checks' weighted score; auto: pass with "
                   "reference answers, score for free text.")
@click.option("--max-tests", type=click.IntRange(3), help="Only the first N tests.")
@click.option("-o", "--output", metavar="BEST.prompt", help="Write the best prompt there.")
@click.option("--html", "html_path", metavar="REPORT.html",
              help="Write the report as one self-contained HTML page (offline charts).")
@click.option("--resume", is_flag=False, flag_value="", default=None, metavar="[RUN]",
              help="Continue an interrupted optimization with the same options (the latest, "
                   "or RUN); recorded evaluations are replayed, not sent again.")
@click.option("--dry-run", is_flag=True, help="Print the plan and estimates; call no model.")
@click.option("--no-ablation", is_flag=True, help="Skip the ablation of the best prompt.")
@click.option("--no-cache", is_flag=True, help="Call the models even for cached requests.")
@click.option("--db", metavar="URL", help="Store URL (default: SQLite in .promptwork/).")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
def optimize_command(
    prompt: str | None, suite_path: str | None, model: str | None, proposer: str | None,
    budget: int, strategy: str, seed: int, split: str, split_var: str | None,
    answer_var: str | None, metric: str,
    max_tests: int | None, output: str | None, html_path: str | None, resume: str | None,
    dry_run: bool, no_ablation: bool, no_cache: bool, db: str | None, quiet: bool,
) -> None:
    """Search for a better version of PROMPT (a prompt of the suite: path, label or number).

    An interrupted optimization continues with the same command and --resume.
    """
    prompt, resume = _prompt_after_resume(prompt, resume)
    out, err = console(), console(stderr=True)

    def log(line: str) -> None:
        if not quiet:
            err.print(escape(safe_text(line)), style="dim")

    options = OptimizeOptions(
        model=model, proposer=proposer, budget=budget, strategy=strategy, seed=seed,
        split=split, split_var=split_var, answer_var=answer_var, metric=metric,
        max_tests=max_tests, output=output, db=db, use_cache=not no_cache,
        ablate=not no_ablation, log=log, resume=resume)
    suite = suite_path or "."
    if dry_run:
        plan = prepare(prompt, suite, options).plan
        out.print("dry run: no model was called", style="bold", markup=False)
        for line in plan.lines():
            out.print(safe_text(line), markup=False)
        return
    loaded = load_suite(suite)
    result = asyncio.run(aoptimize(prompt, loaded, options))
    record_suite(loaded, db, "optimize")  # the prompt library keeps the files' versions
    out.print(render(result))
    if result.output is not None:
        err.print(f"wrote {result.output}", style="dim", markup=False)
    if html_path is not None:
        page = Path(html_path)
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(result.html(), encoding="utf-8")
        err.print(f"wrote the HTML report {page}", style="dim", markup=False)
    err.print(f"stored as prompt version {(result.prompt_hash or '')[:12]}; every candidate's "
              f"scores: promptwork runs show {result.run_id}", style="dim", markup=False)

"""``promptwork probe``: derive the probes' cells from a suite, run them with the originals as
one ordinary run (budgets, cache and resume as for ``eval``), and measure each probe per
prompt x model.

Exit codes: 0 every probe within its threshold (or no threshold), 1 a probe over its threshold
(``threshold:`` or ``--fail-over``), 100 the run stopped early (``--max-calls``/``--max-cost``;
finish with ``--resume``), 2 bad input.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from promptwork.cli.output import console, safe_text
from promptwork.cli.progress import ProgressBar
from promptwork.errors import ConfigError
from promptwork.evaluation import EvalRun
from promptwork.forecast import forecast, forecast_lines
from promptwork.genkeys import prompt_config_params
from promptwork.limits import Limits
from promptwork.probes.paraphrase import paraphrase_calls
from promptwork.probes.plan import ProbePlan, build_probes, consistency_temperature, plan_probes
from promptwork.probes.running import arun_probes
from promptwork.report.probes import probe_lines, probes_table, write_probe_report
from promptwork.runner import RunConfig, Runner
from promptwork.store import Store
from promptwork.suite import load_suite

EXIT_PROBE_FAILED = 1
EXIT_STOPPED = 100
REPORT_SUFFIXES = (".json", ".html", ".htm")


@click.command("probe")
@click.argument("suite_path", metavar="SUITE", required=False)
@click.option("--only", "only", multiple=True, metavar="KIND",
              help="Only this kind of probe (repeatable): robustness, consistency, bias, "
                   "offtopic, injection.")
@click.option("--fail-over", type=click.FloatRange(0, 1), metavar="RATE",
              help="Fail (exit 1) when a probe's rate is over RATE (for agreement: when the "
                   "disagreement is); replaces the probes' 'threshold:'.")
@click.option("--dry-run", is_flag=True,
              help="Print the extra cells and model calls, and a forecast; call no model.")
@click.option("--max-calls", type=click.IntRange(1), metavar="N",
              help="Stop cleanly before the model call that would exceed N; --resume finishes.")
@click.option("--max-cost", type=click.FloatRange(0, min_open=True), metavar="USD",
              help="Stop cleanly once the calls have cost USD dollars; --resume finishes.")
@click.option("--max-tests", type=click.IntRange(1), help="Only the first N of the suite's tests.")
@click.option("-o", "--output", "outputs", multiple=True, metavar="FILE",
              help="Write the probe report: .json or .html (repeatable).")
@click.option("--no-cache", is_flag=True, help="Call the models even for cached requests.")
@click.option("--resume", is_flag=False, flag_value="", default=None, metavar="[RUN]",
              help="Complete an interrupted probe run (the latest, or RUN).")
@click.option("--db", metavar="URL", help="Store URL (default: SQLite in .promptwork/).")
@click.option("-j", "--max-concurrency", type=click.IntRange(1),
              help="Calls in flight per provider.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def probe_command(suite_path: str | None, only: tuple[str, ...], fail_over: float | None,
                  dry_run: bool, max_calls: int | None, max_cost: float | None,
                  max_tests: int | None, outputs: tuple[str, ...], no_cache: bool,
                  resume: str | None, db: str | None, max_concurrency: int | None,
                  no_progress: bool) -> None:
    """Run a suite's probes (robustness, consistency, bias, off-topic, injection)."""
    for target in outputs:
        if Path(target).suffix.lower() not in REPORT_SUFFIXES:
            raise ConfigError(f"-o {target}: a probe report is .json or .html")
    suite = load_suite(suite_path)
    probes = build_probes(suite, only)  # every probe entry checked before any model call
    temperature = consistency_temperature(probes)
    params = (prompt_config_params({"temperature": temperature}, "probes")
              if temperature is not None else None)
    config = RunConfig(max_concurrency=max_concurrency, use_cache=not no_cache, params=params,
                       limits=Limits(max_calls=max_calls, max_cost=max_cost))
    out, err = console(), console(stderr=True)
    if dry_run:
        originals = list(suite.tests)[:max_tests] if max_tests else list(suite.tests)
        plan = plan_probes(suite, probes, max_tests)
        _dry_run(plan, Store.for_folder(suite.base_dir, db), config,
                 paraphrase_calls(probes, originals))
        return
    progress = ProgressBar(err, enabled=not no_progress and err.is_terminal)
    probed = asyncio.run(arun_probes(suite, probes, db=db, config=config, resume=resume,
                                     max_tests=max_tests, fail_over=fail_over,
                                     subscribers=[progress]))
    if probed.paraphrase_calls:
        err.print(f"paraphrases: {probed.paraphrase_calls} asked of the paraphrase model",
                  markup=False)
    run, data = probed.run, probed.data
    out.print(probes_table(data))
    for line in probe_lines(data):
        out.print(safe_text(line), markup=False, highlight=False)
    for target in outputs:
        write_probe_report(Path(target), data, run.id)
        err.print(f"wrote {target}", style="dim", markup=False)
    _exit(run, data)


def _dry_run(plan: ProbePlan, store: Store, config: RunConfig, paraphrases: int) -> None:
    """The extra cells per probe and the forecast of the whole run; no model is called."""
    out = console()
    try:
        lines = asyncio.run(forecast(Runner(plan.suite, store, config)))
    finally:
        store.close()
    columns = sum(1 for _ in plan.suite.providers) * len(plan.suite.prompts)
    out.print("dry run: no model was called", style="bold", markup=False)
    per_kind: dict[str, int] = {}
    for _d, probe in plan.derived.values():
        per_kind[probe.kind] = per_kind.get(probe.kind, 0) + 1
    out.print(f"{len(plan.originals)} original tests, {len(plan.derived)} derived tests",
              markup=False)
    for kind, n in per_kind.items():
        out.print(f"  {kind}: {n} derived tests, up to {n * columns} extra cells", markup=False)
    if paraphrases:
        out.print(f"  paraphrase model calls: {paraphrases} (before the run)", markup=False)
    for line in forecast_lines(lines):
        out.print(safe_text(line), markup=False)


def _exit(run: EvalRun, data: list[dict[str, object]]) -> None:
    err = console(stderr=True)
    stopped = (run.record.summary or {}).get("stopped")
    if stopped:
        err.print(f"stopped: {stopped}; the figures cover the cells done so far. Finish it with: "
                  f"promptwork probe --resume {run.id}", markup=False)
        raise click.exceptions.Exit(EXIT_STOPPED)
    failed = [f"{r['kind']} · {r['column']}" for r in data if r.get("passed") is False]
    err.print(f"run {run.id}: {len(data)} probe figure(s), {len(failed)} over threshold",
              markup=False)
    if failed:
        err.print("over threshold: " + "; ".join(failed), markup=False)
        raise click.exceptions.Exit(EXIT_PROBE_FAILED)
